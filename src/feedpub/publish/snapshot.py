"""One served version of the site: every output's bytes, validators and compressed forms.

The builder makes a `Snapshot` once per build and hands it to the web workers
through a private folder (`SnapshotDir`): a pickle per version plus a `CURRENT`
pointer replaced atomically. Every validator comes from the bytes, so every
worker, and every machine building the same records, sends the same ETags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import pickle
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol

import brotli

from feedpub.model import Site
from feedpub.publish.files import advanced
from feedpub.render import media_type

try:  # zstd is optional: served only where the library is installed
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

log = logging.getLogger("feedpub.serve")

Compressor = Callable[[bytes], bytes]


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _brotli(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=6))


def _zstd(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor(level=10).compress(data))


# Content coding -> (ETag suffix, compressor). Levels favour a quick rebuild of big sites.
CODINGS: dict[str, tuple[str, Compressor]] = {"gzip": ("-gz", _gzip), "br": ("-br", _brotli)}
if zstandard is not None:
    CODINGS["zstd"] = ("-zst", _zstd)
IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Variant:
    """One representation of a resource: the identity bytes or a compressed form."""

    coding: str
    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class Resource:
    """One output path with its media type, Last-Modified and every representation."""

    path: str
    media_type: str
    modified: int
    variants: tuple[Variant, ...]

    @property
    def identity(self) -> Variant:
        """The uncompressed representation (always the first)."""
        return self.variants[0]

    @property
    def last_modified(self) -> str:
        """`modified` as an HTTP date."""
        return http_date(self.modified)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the workers serve for one build: resources by path, and the model."""

    version: str
    resources: Mapping[str, Resource]
    site: Site


class SnapshotSource(Protocol):
    """Where the web app gets the version to serve: the builder itself, or the handoff folder."""

    def current(self) -> Snapshot | None:
        """The snapshot to serve now (None before the first successful build)."""

    def status(self) -> dict[str, Any]:
        """The builder's state for /healthz."""

    def catch_up(self) -> None:
        """Take a newer version now if there is one (a request named a tag unknown here)."""


def http_date(seconds: int) -> str:
    """An IMF-fixdate such as ``Sun, 06 Nov 1994 08:49:37 GMT`` (locale-independent)."""
    return formatdate(seconds, usegmt=True)


def strong_etag(body: bytes) -> str:
    """A strong ETag derived from the bytes alone."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def coded_etag(etag: str, coding: str) -> str:
    """The ETag of the bytes tagged `etag` in `coding` (one of CODINGS): ``"…-gz"``."""
    return f'{etag[:-1]}{CODINGS[coding][0]}"'


def compressed(identity: Variant, coding: str) -> Variant | None:
    """`identity`'s bytes in `coding` (one of CODINGS), or None when that is not smaller."""
    _suffix, compress = CODINGS[coding]
    packed = compress(identity.body)
    if len(packed) >= len(identity.body):
        return None
    return Variant(coding, packed, coded_etag(identity.etag, coding))


def make_resource(
    path: str,
    body: bytes,
    modified: datetime | None,
    reuse: Mapping[str, tuple[Variant, ...]] | None = None,
) -> Resource:
    """A resource with its compressed variants (taken from `reuse` when the bytes are known)."""
    etag = strong_etag(body)
    variants = reuse.get(etag) if reuse else None
    if variants is None:
        identity = Variant(IDENTITY, body, etag)
        packed = (compressed(identity, coding) for coding in CODINGS)
        variants = (identity, *(variant for variant in packed if variant is not None))
    stamp = int(modified.timestamp()) if modified is not None else 0
    return Resource(path, media_type(path), stamp, variants)


def make_snapshot(
    site: Site,
    outputs: Mapping[str, bytes],
    modified: Mapping[str, datetime],
    previous: Snapshot | None = None,
) -> Snapshot:
    """The snapshot of one build; unchanged outputs keep the previous compressed bytes."""
    reuse: dict[str, tuple[Variant, ...]] = {}
    if previous is not None:
        reuse = {r.identity.etag: r.variants for r in previous.resources.values()}
    resources = {
        path: make_resource(path, body, modified.get(path), reuse)
        for path, body in sorted(outputs.items())
    }
    if previous is not None:  # (when files were written, their times did this already)
        for path, resource in resources.items():
            before = previous.resources.get(path)
            if before is None:
                continue
            if before.identity.etag == resource.identity.etag:  # unchanged: its time stays
                resources[path] = dataclasses.replace(resource, modified=before.modified)
            else:  # changed: Last-Modified moves forward, even without a newer entry
                later = advanced(datetime.fromtimestamp(resource.modified, UTC), before.modified)
                if later is not None:
                    resources[path] = dataclasses.replace(resource, modified=int(later.timestamp()))
    digest = hashlib.sha256()
    for path, resource in resources.items():
        digest.update(f"{path}\0{resource.identity.etag}\0".encode())
    return Snapshot(digest.hexdigest()[:16], resources, site)


class SnapshotDir:
    """The handoff folder between the builder and the workers (private to one server)."""

    CURRENT = "CURRENT"
    STATUS = "status.json"
    KEEP = 3

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def ensure(self) -> None:
        """Make the folder again if it is gone (a /tmp cleaner, an admin); OSError if a folder
        by that name is not this process's own, writable by it alone (anyone can make one in
        /tmp, and workers load pickles from it)."""
        try:
            os.mkdir(self.folder, 0o700)
        except FileExistsError:
            found = os.lstat(self.folder)
            if (
                not stat.S_ISDIR(found.st_mode)
                or found.st_uid != os.geteuid()
                or found.st_mode & 0o022  # others could put a pickle there
            ):
                raise OSError(f"{self.folder} is not this server's private folder") from None

    def holds(self, snapshot: Snapshot) -> bool:
        """Whether CURRENT names `snapshot` and its file and the status are there (a /tmp
        cleaner removes files not read for days: a worker started later would have nothing
        to serve)."""
        name = f"snapshot-{snapshot.version}.pickle"
        return (
            self.current_name() == name
            and (self.folder / name).is_file()
            and (self.folder / self.STATUS).is_file()
        )

    def publish(self, snapshot: Snapshot) -> None:
        """Write the snapshot, then point CURRENT at it; older snapshots are pruned."""
        name = f"snapshot-{snapshot.version}.pickle"
        self._write(name, pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
        self._write(self.CURRENT, name.encode())
        snapshots = sorted(self.folder.glob("snapshot-*.pickle"), key=_mtime, reverse=True)
        for stale in snapshots[self.KEEP :]:
            with contextlib.suppress(OSError):
                stale.unlink()

    def write_status(self, status: Mapping[str, Any]) -> None:
        """Record the builder's state for /healthz."""
        self._write(self.STATUS, json.dumps(status).encode())

    def read_status(self) -> dict[str, Any]:
        """The builder's last recorded state ({} when none yet)."""
        try:
            data = json.loads((self.folder / self.STATUS).read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def current_name(self) -> str:
        """The file name CURRENT points at ("" when nothing is published)."""
        try:
            return (self.folder / self.CURRENT).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def load(self, name: str) -> Snapshot | None:
        """The snapshot stored under `name`, or None when it is gone or unreadable."""
        if not name.startswith("snapshot-") or "/" in name:
            return None
        try:
            with (self.folder / name).open("rb") as handle:
                snapshot = pickle.load(handle)  # our own private folder (mode 0700)
        except Exception as exc:  # a damaged file must not fail requests: keep the old one
            log.warning("cannot load %s: %s", name, exc)
            return None
        return snapshot if isinstance(snapshot, Snapshot) else None

    def _write(self, name: str, data: bytes) -> None:
        self.ensure()
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


LOAD_WAIT_SECONDS = 5.0
"""How long a request that asks for a newer version waits for another thread's load of it."""


class DirectorySource:
    """A worker's view of the handoff folder: the newest snapshot, checked now and then.

    `current()` is called on every request but looks at the folder at most once
    per `interval` seconds; a new version is loaded by one thread and swapped in
    with a single assignment, so a request sees the old version or the new one.
    """

    def __init__(self, folder: Path, interval: float = 1.0) -> None:
        self.store = SnapshotDir(folder)
        self.interval = interval
        self._snapshot: Snapshot | None = None
        self._name = ""
        self._next_check = 0.0
        self._lock = threading.Lock()
        self.refresh()

    def current(self) -> Snapshot | None:
        """The newest snapshot this worker has loaded (None before the first build)."""
        if time.monotonic() >= self._next_check:
            self.refresh()
        return self._snapshot

    def refresh(self, wait: float = 0.0) -> None:
        """Load the snapshot CURRENT points at, if it is new. With `wait`, wait that long
        for a load another thread has begun; without, serve the previous one meanwhile."""
        if not self._lock.acquire(timeout=wait):  # (0: at once, never waiting)
            return
        try:
            self._next_check = time.monotonic() + self.interval
            name = self.store.current_name()
            if name and name != self._name:
                snapshot = self.store.load(name)
                if snapshot is not None:
                    self._snapshot, self._name = snapshot, name
        finally:
            self._lock.release()

    def catch_up(self) -> None:
        """Look at CURRENT now, whatever the interval, waiting for a load another thread
        has begun: a request named a tag this worker does not serve, which may be that of
        a version another worker already serves. Without this, a client told the new
        version by one worker could be sent the old one by the next, for up to `interval`.
        (A client with an older tag costs a read of CURRENT, small beside the feed it gets.)
        """
        self.refresh(wait=LOAD_WAIT_SECONDS)

    def status(self) -> dict[str, Any]:
        """The builder's state as it recorded it."""
        return self.store.read_status()
