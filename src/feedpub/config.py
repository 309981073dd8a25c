"""Load and validate feedpub's configuration: every key checked, unknown keys are errors."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml

from feedpub.errors import ConfigError
from feedpub.sanitize import id_url, is_host_name, is_visible, site_url
from feedpub.yaml_loader import UniqueKeysLoader

DEFAULT_CONFIG_FILE = Path("config.yaml")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits that keep one hostile record from costing the whole build."""

    max_record_bytes: int = 2_000_000
    max_dump_bytes: int = 512_000_000
    max_text_chars: int = 20_000
    max_content_chars: int = 500_000
    max_title_chars: int = 500
    max_topics: int = 50
    max_images: int = 20
    max_related: int = 20


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings of `feedpub serve`."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_age: int = 300
    poll_seconds: float = 2.0
    access_log: bool = True
    request_timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class WebSubConfig:
    """WebSub hubs the feeds name, and whether builds tell them of changed feeds."""

    hubs: tuple[str, ...] = ()
    notify: bool = True

    @property
    def pings(self) -> bool:
        """Whether builds tell hubs of changed feeds (there are hubs, and notify is on)."""
        return self.notify and bool(self.hubs)


MAX_HUBS = 10


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration of a build (and of the server)."""

    records: Path = Path("records")
    out: Path = Path("feeds")
    cache_dir: Path = Path(".feedpub-cache")
    base_url: str = "http://127.0.0.1:8000"
    title: str = "feedpub"
    description: str = "Latest articles"
    language: str = "en"
    max_items: int = 50
    strict: bool = False
    publish_future: bool = False  # publish records dated later than the build at once
    limits: Limits = field(default_factory=Limits)
    server: ServerConfig = field(default_factory=ServerConfig)
    websub: WebSubConfig = field(default_factory=WebSubConfig)

    def __post_init__(self) -> None:
        # `https://example.org/` and `https://example.org` name the same site.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def replace(self, **changes: Any) -> Config:
        """A copy with some keys changed, validated like a loaded file."""
        merged = dataclasses.replace(self, **changes)
        validate_config(merged)
        return merged


_PATH_KEYS = {"records", "out", "cache_dir"}


def load_config(path: Path | None = None) -> Config:
    """Read a YAML config file (or the defaults when `path` is None and no config.yaml exists).

    Relative paths in the file are resolved against the file's own folder.
    """
    if path is None:
        if not DEFAULT_CONFIG_FILE.is_file():
            return Config()
        path = DEFAULT_CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
    try:
        data = yaml.load(text, Loader=UniqueKeysLoader)  # as yaml.safe_load, but a key once
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(str(exc))}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys, not {_kind(data)}")
    for key in sorted(_PATH_KEYS):  # defaults, too, are relative to the config file
        data.setdefault(key, str(getattr(Config(), key)))
    config: Config = _from_mapping(Config, data, prefix="", origin=str(path), base=path.parent)
    validate_config(config, origin=str(path))
    return config


def _from_mapping(
    cls: type[Any], data: dict[str, Any], prefix: str, origin: str, base: Path
) -> Any:
    """Build dataclass `cls` from `data`, naming any unknown or mistyped key."""
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    defaults = cls()
    for key, value in data.items():
        name = f"{prefix}{key if isinstance(key, str) and key.isprintable() else repr(key)}"
        if key not in known:
            raise ConfigError(f"{origin}: {name}: unknown key (known: {', '.join(sorted(known))})")
        default = getattr(defaults, key)
        if dataclasses.is_dataclass(default):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {name}: must be a mapping, not {_kind(value)}")
            values[key] = _from_mapping(type(default), value, f"{name}.", origin, base)
        elif key in _PATH_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{origin}: {name}: must be a folder path, not {_kind(value)}")
            if not _usable_path(value):
                raise ConfigError(
                    f"{origin}: {name}: not a usable path (a NUL or an unpaired surrogate"
                    f" character): {value!r}"
                )
            try:
                path = Path(value).expanduser()
            except RuntimeError:  # `~name` of no such user, or no home folder
                raise ConfigError(
                    f"{origin}: {name}: cannot expand {value!r}: no such user or home folder"
                ) from None
            values[key] = path if path.is_absolute() else base / path
        else:
            values[key] = _coerce(name, value, default, origin)
    return cls(**values)


def _coerce(name: str, value: Any, default: Any, origin: str) -> Any:
    """Check `value` has the type of `default` (ints accepted where floats are)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: {name}: must be true or false, not {_kind(value)}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: {name}: must be an integer, not {_kind(value)}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{origin}: {name}: must be a list of strings, not {_kind(value)}")
        return tuple(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{origin}: {name}: must be a number, not {_kind(value)}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {name}: must be a string, not {_kind(value)}")
    return value


def validate_config(config: Config, origin: str = "config") -> None:
    """Check the values' ranges and formats; raise ConfigError naming the key."""
    _check_base_url(config.base_url, origin)
    if not 1 <= config.max_items <= 10_000:
        raise ConfigError(f"{origin}: max_items: must be 1..10000, got {config.max_items}")
    if not _LANGUAGE_RE.match(config.language):
        raise ConfigError(f"{origin}: language: not a language tag like 'en' or 'en-us'")
    for key in ("title", "description"):  # (feedgen refuses an empty description)
        if not is_visible(getattr(config, key)):
            raise ConfigError(f"{origin}: {key}: must not be empty (or show nothing)")
        if _CONTROL.search(getattr(config, key)):
            raise ConfigError(f"{origin}: {key}: must not hold control characters")
    for limit in fields(Limits):
        value = getattr(config.limits, limit.name)
        if value < 1:
            raise ConfigError(f"{origin}: limits.{limit.name}: must be at least 1, got {value}")
    server = config.server
    _check_host(server.host, origin)
    if not 0 <= server.port <= 65535:
        raise ConfigError(f"{origin}: server.port: must be 0..65535, got {server.port}")
    if not 1 <= server.workers <= 64:
        raise ConfigError(f"{origin}: server.workers: must be 1..64, got {server.workers}")
    if server.max_age < 0:
        raise ConfigError(f"{origin}: server.max_age: must not be negative")
    if not 0.1 <= server.poll_seconds <= 3600:
        raise ConfigError(f"{origin}: server.poll_seconds: must be 0.1..3600")
    if not 1 <= server.request_timeout_seconds <= 3600:
        raise ConfigError(f"{origin}: server.request_timeout_seconds: must be 1..3600")
    _check_hubs(config.websub.hubs, origin)
    _check_folders(config, origin)


def _check_host(host: str, origin: str) -> None:
    """`server.host` names one address: gunicorn took an empty one (`--host "$HOST"` with
    HOST unset) as every interface, and `unix:...`, `fd://...` as other kinds of socket."""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if not is_host_name(host):
        raise ConfigError(
            f"{origin}: server.host: must be an IP address or a host name, got {host!r}"
            " (0.0.0.0 listens on every interface)"
        )


def _check_hubs(hubs: tuple[str, ...], origin: str) -> None:
    if len(hubs) > MAX_HUBS:
        raise ConfigError(f"{origin}: websub.hubs: at most {MAX_HUBS} hubs, got {len(hubs)}")
    for number, hub in enumerate(hubs, 1):
        parts = _url_parts(hub, f"websub.hubs[{number}]", origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or _CONTROL.search(hub):
            raise ConfigError(
                f"{origin}: websub.hubs[{number}]: must be an absolute http(s) URL, got {hub!r}"
            )
        if parts.fragment or not hub.isascii() or any(c in hub for c in ' "<>\\^`{|}'):
            raise ConfigError(
                f"{origin}: websub.hubs[{number}]: not a plain ASCII URL (a fragment, a space "
                f"or a character URLs cannot hold; percent-encode or punycode it): {hub!r}"
            )
        if parts.username is not None or parts.password is not None:
            raise ConfigError(
                f"{origin}: websub.hubs[{number}]: must not hold a user name or password "
                "(every feed publishes the hub's URL)"
            )


def _check_folders(config: Config, origin: str) -> None:
    """The records, output and cache folders must stay apart (each resolved once)."""
    records = _resolved(config.records, "records", origin)
    out = _resolved(config.out, "out", origin)
    cache = _resolved(config.cache_dir, "cache_dir", origin)
    _check_outside_records(records, out, "out", origin)
    _check_outside_records(records, cache, "cache_dir", origin)
    # Copying the output folder to a static host (or object storage) would publish the
    # records, `secured` fields included; topic feeds (`out/topics/<slug>.json`) could
    # also replace records of the same name, which later builds read back.
    if records.is_relative_to(out):
        raise ConfigError(
            f"{origin}: out: must not hold the records folder ({_shown(records)}): copying"
            " the output folder to a host would publish the records, their secured fields"
            " included; choose a folder beside it"
        )
    # The same for the cache (`records.sqlite` and its lock).
    if cache.is_relative_to(out):
        where = "the output folder" if cache == out else "inside the output folder"
        raise ConfigError(
            f"{origin}: cache_dir: must not be {where}: it would be published with the"
            " feeds; choose a folder beside it (the default is .feedpub-cache)"
        )


def _check_outside_records(records: Path, folder: Path, key: str, origin: str) -> None:
    """The folder `key` names must not be read as records: not the records folder, and not
    inside it unless hidden (the scan skips hidden names). Both paths resolved."""
    if not folder.is_relative_to(records):
        return
    inside = folder.relative_to(records).parts
    if any(part.startswith(".") for part in inside):
        return
    where = "the records folder" if not inside else "inside the records folder"
    raise ConfigError(
        f"{origin}: {key}: must not be {where} ({_shown(records)}): its files would be read"
        " as records; choose a folder beside it"
    )


def _resolved(path: Path, key: str, origin: str) -> Path:
    """`path.resolve()`; a ConfigError naming `key` for a symbolic link loop (a RuntimeError
    in Python 3.11 and 3.12, an OSError after)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:
        raise ConfigError(
            f"{origin}: {key}: cannot follow its symbolic links ({_shown(path)}): {exc}"
        ) from None


def _shown(path: Path) -> str:
    """`path` for a one-line message: as it is, or quoted with escapes if it holds a line
    break or another character that does not print."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _check_base_url(url: str, origin: str) -> None:
    """Every id, self link and OPML address is `url` + `/` + a path: it must be an address
    the feeds can carry as written, in the normal form every other one is published in."""
    parts = _url_parts(url, "base_url", origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{origin}: base_url: must be an absolute http(s) URL, got {url!r}")
    if "?" in url or "#" in url:  # (an empty one too: `https://example.org/?/all.rss`)
        raise ConfigError(f"{origin}: base_url: must not have a query or fragment")
    if _CONTROL.search(url):
        raise ConfigError(f"{origin}: base_url: must not hold control characters: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{origin}: base_url: must not hold a user name or password (every feed publishes it)"
        )
    published = site_url(f"{url}/")
    if not published:
        raise ConfigError(
            f"{origin}: base_url: not an address feeds can carry: {url!r} (the host must be a"
            " name of letters, digits, '-' and '.', such as example.org or localhost, or an"
            " IPv4 address, not `[::1]` or `a_b.org`; a port must be 1..65535)"
        )
    compared = id_url(published)
    if compared is None:
        raise ConfigError(
            f"{origin}: base_url: its %-escapes must spell UTF-8 text, each escaped once:"
            f" {url!r} (feed validators compare feed ids in that form)"
        )
    published = compared
    if published != f"{url}/":
        raise ConfigError(
            f"{origin}: base_url: write it as {published.removesuffix('/')!r}: feeds publish"
            " every address in normal form (lower-case scheme and host, no default port, no"
            " `.` or `..` segment, characters URLs cannot hold percent-encoded, escaped text"
            " in NFC)"
        )


def _url_parts(url: str, name: str, origin: str) -> SplitResult:
    """`urlsplit(url)`, its port checked; a ConfigError naming `name` for what it refuses
    (`http://[::1`, `http://host:port/`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(f"{origin}: {name}: not a valid URL ({exc}): {url!r}") from None
    return parts


def _usable_path(value: str) -> bool:
    """True when the file system can be asked about path `value` (no NUL, encodable)."""
    if "\x00" in value:
        return False
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return True


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
