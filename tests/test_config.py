"""Config loading: defaults, every key validated, unknown keys named, the committed file."""

from __future__ import annotations

import json
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpub.config import Config, Limits, ServerConfig, WebSubConfig, load_config
from feedpub.errors import ConfigError

from .conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_config_documents_every_key_with_its_default() -> None:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    top = {f.name for f in fields(Config)}
    assert set(data) == top
    assert set(data["limits"]) == {f.name for f in fields(Limits)}
    assert set(data["server"]) == {f.name for f in fields(ServerConfig)}
    loaded = load_config(REPO / "config.yaml")
    defaults = Config()
    assert loaded.limits == defaults.limits
    assert loaded.server == defaults.server
    assert loaded.base_url == defaults.base_url
    assert loaded.max_items == defaults.max_items


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "records: recs\nout: /abs/out\n"))
    assert config.records == tmp_path / "recs"
    assert config.out == Path("/abs/out")


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing\n"))
    assert config.max_items == Config().max_items
    assert config.records == tmp_path / "records"
    assert config.out == tmp_path / "feeds"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("max_itemz: 5\n", "max_itemz: unknown key"),
        ("limits:\n  max_topicz: 3\n", "limits.max_topicz: unknown key"),
        ("max_items: lots\n", "max_items: must be an integer"),
        ("max_items: 0\n", "max_items: must be 1..10000"),
        ("max_items: true\n", "max_items: must be an integer"),
        ("strict: 'yes'\n", "strict: must be true or false"),
        ("base_url: ftp://example.org\n", "base_url: must be an absolute http(s) URL"),
        ("base_url: example.org\n", "base_url: must be an absolute http(s) URL"),
        ("language: 'english please'\n", "language: not a language tag"),
        ("server:\n  port: 70000\n", "server.port: must be 0..65535"),
        # Empty was every interface (`--host "$HOST"` with HOST unset), `unix:` a socket file.
        ("server:\n  host: ''\n", "server.host: must be an IP address or a host name"),
        ("server:\n  host: ' 127.0.0.1'\n", "server.host: must be an IP address or a host"),
        ("server:\n  host: 'unix:/tmp/x'\n", "server.host: must be an IP address or a host"),
        ("server:\n  host: 'tcp://0.0.0.0'\n", "server.host: must be an IP address or a host"),
        (
            "server:\n  request_timeout_seconds: 0\n",
            "server.request_timeout_seconds: must be 1..3600",
        ),
        (
            "server:\n  request_timeout_seconds: soon\n",
            "server.request_timeout_seconds: must be a number",
        ),
        ("limits: 5\n", "limits: must be a mapping"),
        ("records: [a, b]\n", "records: must be a folder path"),
        ('records: "a\\0b"\n', "records: not a usable path"),
        ('out: "\\ud800"\n', "out: not a usable path"),
        ("cache_dir: '~no-such-user-here/x'\n", "cache_dir: cannot expand"),
        ("base_url: 'http://[::1'\n", "base_url: not a valid URL"),
        ("base_url: 'http://x:99999/'\n", "base_url: not a valid URL"),
        ("websub:\n  hubs: ['http://h:port/']\n", "websub.hubs\\[1\\]: not a valid URL"),
        ('"a\\nb": 1\n', "'a\\\\nb': unknown key"),
        ("- a\n- b\n", "must be a mapping of keys"),
        ("title: [unclosed\n", "not valid YAML"),
        ("x: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        # A key given twice: YAML forbids it, and PyYAML kept the last value silently.
        ("strict: true\nstrict: false\n", "not valid YAML: .* found duplicate key 'strict'"),
        ("limits:\n  max_topics: 5\n  max_topics: 0\n", "found duplicate key 'max_topics'"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, text))


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_base_url_trailing_slash_is_dropped() -> None:
    assert Config(base_url="https://example.org/news/").base_url == "https://example.org/news"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://example.org/my feeds", "write it as 'https://example.org/my%20feeds'"),
        ('https://example.org/"><script>', "write it as 'https://example.org/%22%3E%3Cscript%3E'"),
        ("https://exämple.org/ü", "write it as 'https://xn--exmple-cua.org/%C3%BC'"),
        ("HTTPS://Example.org:443/a/./../b/%7e", "write it as 'https://example.org/b/~'"),
        ("https://example.org/a\tb", "must not hold control characters"),
        ("https://example.org/a\nb", "must not hold control characters"),
        ("https://user:secret@example.org", "must not hold a user name or password"),
        ("https://example.org/?", "must not have a query or fragment"),
        ("https://example.org/#", "must not have a query or fragment"),
        ("https://[::1]", "not an address feeds can carry"),
        ("https://a_b.org", "not an address feeds can carry"),
        ("https://example.org:0", "not an address feeds can carry"),
        ("https://:80", "not an address feeds can carry"),
        (
            "https://example.org\\evil.org",
            "write it as 'https://example.org/evil.org'",
        ),  # as browsers
        ("http://LocalHost:80/", "write it as 'http://localhost'"),
        ("https://example.org/cafe\u0301", "write it as 'https://example.org/caf%C3%A9'"),
        ("https://example.org/cafe%CC%81", "write it as 'https://example.org/caf%C3%A9'"),
        ("https://example.org/caf%E9", "its %-escapes must spell UTF-8 text"),
        ("https://example.org/100%2541", "its %-escapes must spell UTF-8 text"),
    ],
)
def test_base_url_must_be_an_address_feeds_can_carry_as_written(url: str, named: str) -> None:
    """Every id, self link and OPML address starts with it: it must be one the feeds can
    publish as it is (a space or a quote made invalid feeds, a password was published)."""
    with pytest.raises(ConfigError, match=r"^config: base_url: ") as error:
        Config().replace(base_url=url)
    assert named in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "https://feeds.example.com/",
        "https://example.org/a%20b/news",
        "https://example.org/caf%C3%A9",
        "http://localhost:8000",  # local or intranet hosts: the site owner's choice
        "http://intranet/feeds",
        "http://my-host:8080",
    ],
)
def test_base_urls_in_normal_form_are_accepted(url: str) -> None:
    assert Config().replace(base_url=url).base_url == url.removesuffix("/")


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "::", "localhost", "feeds-1.lan"])
def test_server_hosts_that_name_an_address_are_accepted(host: str) -> None:
    assert Config().replace(server=ServerConfig(host=host)).server.host == host


def test_replace_validates() -> None:
    with pytest.raises(ConfigError, match="max_items"):
        Config().replace(max_items=-1)


@pytest.mark.parametrize("key", ["title", "description"])
@pytest.mark.parametrize("value", ["", "   ", "\u200b", "\u3164\ufe0f"])
def test_feed_text_that_shows_nothing_is_refused(tmp_path: Path, key: str, value: str) -> None:
    """An empty description failed every build with feedgen's traceback; a blank or
    invisible title or description made feeds with nothing to show for it."""
    with pytest.raises(ConfigError, match=f"{key}: must not be empty"):
        load_config(write(tmp_path, f"{key}: {json.dumps(value)}\n"))


@pytest.mark.parametrize("key", ["title", "description"])
def test_control_characters_in_feed_text_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}: must not hold control characters"):
        load_config(write(tmp_path, f'{key}: "bad\\x01title"\n'))


def test_yaml_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "title: [unclosed\nmore: x\n"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("records: .\nout: feeds\n", "out: must not be inside the records folder"),
        ("records: data\nout: data\n", "out: must not be the records folder"),
        ("records: data\nout: data/site/feeds\n", "out: must not be inside the records folder"),
        ("records: data\ncache_dir: data/cache\n", "cache_dir: must not be inside the records"),
        ('records: "0\\n"\nout: "0\\n"\n', r"out: must not be the records folder \('/.*/0\\n'\)"),
        # A static host would publish the records, secured fields included; topic feeds
        # could be written over a record of the same name (`topics/ai.json`).
        ("records: site/topics\nout: site\n", "out: must not hold the records folder"),
        ("records: site/topics/x\nout: site\n", "out: must not hold the records folder"),
        ("records: site/records\nout: site\n", "out: must not hold the records folder .*secured"),
        ("records: records\nout: .\n", "out: must not hold the records folder"),
        # A static host would publish the cache (records.sqlite, lock) with the feeds.
        ("out: site\ncache_dir: site\n", "cache_dir: must not be the output folder"),
        ("out: site\ncache_dir: site/.cache\n", "cache_dir: must not be inside the output folder"),
    ],
)
def test_output_and_cache_folders_outside_the_records_folder(
    tmp_path: Path, text: str, named: str
) -> None:
    """Feeds written among the records would be read back as records (reports, and a
    --strict build that fails from its second run on)."""
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named) as error:
        load_config(config)
    assert "\n" not in str(error.value)  # one line, even for a name holding a line break


@pytest.mark.parametrize("key", ["records", "out", "cache_dir"])
def test_a_folder_that_is_a_symbolic_link_loop_is_named(tmp_path: Path, key: str) -> None:
    """Resolving it raised RuntimeError ("Symlink loop"), a traceback."""
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(ConfigError, match=f"{key}: cannot follow its symbolic links") as error:
        load_config(write(tmp_path, f"{key}: loop\n"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "records: data\nout: site\n",  # beside it
        "records: data\nout: data/.site\n",  # hidden: never read as records
        "records: .\nout: .public\ncache_dir: .cache\n",
    ],
)
def test_folders_that_are_not_read_as_records_are_accepted(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    load_config(config)


# -- configs of any shape ------------------------------------------------------------------

_ODD_TEXT = ["records", "out", ".", "..", "/", "~", "~nobody/x", "http://x", "https://e.org/a?b#c",
             "http://[::1", "https://[v1.x]/", "http://:0/", "en-us", "a\x00b", "\u2028", "0x10",
             "\ud800", "C:\\x", " ", ""]  # fmt: skip
_TEXT = st.one_of(st.text(max_size=20), st.sampled_from(_ODD_TEXT))
_ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _values_like(default: Any) -> st.SearchStrategy[Any]:
    """Values of the default's type, edges included, more often than values of any type."""
    if isinstance(default, bool):
        typed: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(default, int):
        typed = st.integers(-2, 70_000) | st.integers(min_value=-(2**70), max_value=2**70)
    elif isinstance(default, float):
        typed = st.floats(allow_nan=True, allow_infinity=True)
    elif isinstance(default, tuple):
        typed = st.lists(_TEXT, max_size=12)
    else:
        typed = _TEXT
    return st.one_of(typed, typed, _ANY)


def _section(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    defaults = cls()
    options = {f.name: _values_like(getattr(defaults, f.name)) for f in fields(cls)}
    options["unknown"] = _ANY
    return st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: options[key] for key in keys})
    )


_SECTIONS = {"limits": Limits, "server": ServerConfig, "websub": WebSubConfig}


@st.composite
def _configs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    defaults = Config()
    for key in draw(st.lists(st.sampled_from([f.name for f in fields(Config)] + ["unknown"]),
                             max_size=4, unique=True)):  # fmt: skip
        if key in _SECTIONS:
            data[key] = draw(_section(_SECTIONS[key]) | _ANY)
        elif key == "unknown":
            data[key] = draw(_ANY)
        else:
            default = getattr(defaults, key)
            data[key] = draw(_values_like(str(default) if isinstance(default, Path) else default))
    return data


@settings(max_examples=400, deadline=None)
@given(data=_configs())
def test_configs_of_any_shape_load_or_name_what_is_wrong(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        try:
            config = load_config(path)
        except ConfigError as error:
            message = str(error)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            named = message.removeprefix(f"{path}: ").split(":", 1)[0].split(".")[0]
            # the key at fault, or a folder that the records (or output) folder given now holds
            assert (
                named in data
                or ("records" in data and named in ("out", "cache_dir"))
                or ("out" in data and named == "cache_dir")
            ), message
            return
        assert isinstance(config, Config)
        assert config.records.is_absolute() and config.out.is_absolute()
        assert 1 <= config.max_items <= 10_000 and 0.1 <= config.server.poll_seconds <= 3600
