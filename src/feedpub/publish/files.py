"""Write a build's outputs into the output folder, atomically and only where changed.

Every file is written to a temporary file beside it and renamed over the old
one, so a reader (or a static web server) sees the old feed or the new one,
never half of one. All changed files are written (and synced) before the first
rename, so a write error (a full disk) changes nothing at all; a build killed
part-way leaves every file complete.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedpub.errors import BuildError

MANIFEST_NAME = ".feedpub-manifest.json"
LOCK_NAME = ".feedpub.lock"
TEMP_SUFFIX = ".feedpub-tmp"


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What a write changed in the output folder."""

    written: int
    unchanged: int
    removed: int
    paths: tuple[str, ...] = ()  # the outputs written (new or changed), by output path
    modified: dict[str, datetime] = field(default_factory=dict)  # each output file's mtime


def output_target(out_dir: Path, relative: str) -> Path:
    """The file for output path `relative`, refusing any path that leaves `out_dir`."""
    return OutputFolder(out_dir).target(relative)


class OutputFolder:
    """Checks output paths against one output folder, resolving each directory once.

    A build names a few hundred files in a couple of folders: resolving every file's
    whole path (an `lstat` per component) cost more than writing the changed ones.
    Only a file that is itself a symbolic link is resolved whole.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._root: Path | None = None
        self._folders: dict[str, tuple[Path, bool]] = {}  # "topics": its path, inside or not
        self._targets: dict[str, Path] = {}

    def target(self, relative: str) -> Path:
        """The file for output path `relative`; BuildError for any path that leaves the folder.

        Each path is checked once per `OutputFolder` (a build's render and its writer share
        one): taken apart as text and built as one `Path` from its folder's, resolved once.
        A nothing-changed build of 15,000 outputs spent most of its time in `pathlib`."""
        target = self._targets.get(relative)
        if target is None:
            target = self._targets[relative] = self._checked(relative)
        return target

    def _checked(self, relative: str) -> Path:
        parts = relative.split("/")
        if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
            raise BuildError(f"refusing to write outside the output folder: {relative!r}")
        *folder_parts, name = parts
        key = "/".join(folder_parts)
        known = self._folders.get(key)
        folder = self.out_dir.joinpath(*folder_parts) if known is None else known[0]
        target = folder / name
        try:
            if known is None:
                known = self._folders[key] = (folder, self._stays_inside(folder))
            inside = known[1] and (
                not os.path.islink(target) or self._root_folder() in target.resolve().parents
            )
        except (RuntimeError, OSError) as exc:  # a symbolic link loop (RuntimeError in 3.11)
            raise BuildError(f"cannot write {target}: {exc}") from None
        if not inside:
            raise BuildError(f"refusing to write outside the output folder: {relative!r}")
        return target

    def _root_folder(self) -> Path:
        if self._root is None:
            self._root = self.out_dir.resolve()
        return self._root

    def _stays_inside(self, folder: Path) -> bool:
        """True when `folder` (the output folder or one in it), resolved, is inside it."""
        root, resolved = self._root_folder(), folder.resolve()
        return resolved == root or root in resolved.parents


@contextlib.contextmanager
def locked_output(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder, so two builds never interleave."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle = (out_dir / LOCK_NAME).open("a")
    except OSError as exc:
        raise BuildError(f"cannot use output folder {out_dir}: {exc.strerror or exc}") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_outputs(
    outputs: dict[str, bytes], out_dir: Path, modified: dict[str, datetime] | None = None
) -> WriteStats:
    """Write every changed output, remove outputs of earlier builds that are gone (see
    `OutputWriter`, which takes outputs one at a time)."""
    modified = modified or {}
    with OutputWriter(out_dir) as writer:
        for relative in sorted(outputs):
            writer.add(relative, outputs[relative], modified.get(relative))
        return writer.commit()


class OutputWriter:
    """Writes one build's outputs into `out_dir`, holding the folder's lock throughout.

    Each output is given as it is made (`add`), or named as unchanged on disk (`keep`): a
    changed one is staged at once in a hidden temporary file, so a build of thousands of
    feeds never holds them all in memory. `commit` syncs the staged files, renames them
    all into place, then removes the outputs of earlier builds that are gone. Leaving the
    block without a commit (an error) removes what was staged and changes nothing.

    A file's time is its Last-Modified (its newest entry), which static web servers send:
    a changed file gets at least one second more than it had (see `advanced`), and no
    time after this write's (see `not_in_future`). Unchanged files are not touched at all.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.folder = OutputFolder(out_dir)  # (also what the render checks paths with)
        self._lock: contextlib.ExitStack | None = None  # holds the folder's lock once begun
        self._now = datetime.now(UTC)
        self._targets: dict[str, Path] = {}
        self._staged: dict[str, str] = {}  # output path -> its temporary file

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *error: object) -> None:
        if self._lock is not None:
            with self._lock:
                self._unstage()

    def _begin(self) -> None:
        """Lock the folder and tidy up after a killed build, at the first output: a build
        that fails before it has any (no records folder) leaves the folder alone."""
        if self._lock is not None:
            return
        with contextlib.ExitStack() as lock:
            lock.enter_context(locked_output(self.out_dir))
            _remove_leftover_temporaries(self.out_dir)
            self._lock = lock.pop_all()

    def add(self, relative: str, data: bytes, modified: datetime | None) -> None:
        """Output `relative` holds `data`: staged unless the file holds it already."""
        self._begin()
        target = self.folder.target(relative)
        self._targets[relative] = target
        self._unstage(relative)  # given again (a build tried twice): the last one counts
        if _same_content(target, data):
            return
        previous = _mtime(target)
        stamp = not_in_future(advanced(modified, previous), previous, self._now)
        self._staged[relative] = _stage(target, data, stamp)

    def keep(self, relative: str) -> None:
        """Output `relative` is the file already there (its bytes known to be right)."""
        self._begin()
        self._targets[relative] = self.folder.target(relative)
        self._unstage(relative)

    def discard(self) -> None:
        """Forget every output given so far: the build is done again from the start (its
        cache was found damaged, or cannot be used), and only the new try's outputs count."""
        self._unstage()
        self._targets.clear()

    def commit(self) -> WriteStats:
        """Sync and rename every staged file into place; remove outputs no longer made."""
        self._begin()
        staged = sorted(self._staged.items())
        current = set(self._targets)
        listed = _previous(self.out_dir)  # what the manifest names: read once per build
        folders = {self._targets[relative].parent for relative, _ in staged}  # changed
        if staged:
            if len(staged) <= SYNC_EACH_UP_TO:
                for _relative, temporary in staged:
                    _sync_file(temporary, self._targets[_relative])
            else:
                for folder in _one_per_file_system(folders):
                    _sync_file_system(folder)
            # Name the files of both builds before any rename, so that if this build
            # dies half-way the next one still knows every file it must clean up.
            listed = _write_manifest(self.out_dir, listed | current, listed)
        for relative, temporary in staged:
            _rename(temporary, self._targets[relative])
            del self._staged[relative]
        removed = _remove_stale(self.folder, listed - current)
        _write_manifest(self.out_dir, current, listed)
        if staged or removed:
            for folder in sorted(folders | {self.out_dir}):
                _sync_folder(folder)
        times = {relative: _mtime(target) for relative, target in self._targets.items()}
        return WriteStats(
            written=len(staged),
            unchanged=len(current) - len(staged),
            removed=removed,
            paths=tuple(relative for relative, _ in staged),
            modified={path: _moment(stamp) for path, stamp in times.items() if stamp is not None},
        )

    def _unstage(self, relative: str | None = None) -> None:
        """Remove the temporary file staged for `relative` (for every output if None)."""
        for name in list(self._staged) if relative is None else [relative]:
            temporary = self._staged.pop(name, None)
            if temporary:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def advanced(newest_entry: datetime | None, previous: float | None) -> datetime | None:
    """The time to give a file whose bytes change: its newest entry's, unless that is not
    after the time the file had (an entry removed, or edited without a newer
    `updatedDateTime`, or an older one added): then one second past the old time.

    So a changed feed's Last-Modified always moves forward, and a poller that sends only
    `If-Modified-Since` (or a static server's ETag of mtime and size) sees the change.
    """
    if newest_entry is None or previous is None:
        return newest_entry
    old = _moment(previous)
    if newest_entry > old:
        return newest_entry
    try:
        return old + timedelta(seconds=1)
    except OverflowError:  # the last second of year 9999: as far as a date goes
        return old


def not_in_future(stamp: datetime | None, previous: float | None, now: datetime) -> datetime | None:
    """`stamp`, or `now` if that is earlier: an entry dated in the future (a scheduled story,
    a local time read as UTC) must not date its file in the future, as static servers send
    a file's time as Last-Modified, which RFC 9110 (8.8.2.1) forbids to be later than the
    response. Moving forward comes first: a file already dated now or later gets one second
    more (a feed changed twice within a second, or dated by an older feedpub).
    """
    if stamp is None or stamp <= now:
        return stamp
    return advanced(now.replace(microsecond=0), previous)


def _mtime(target: Path) -> float | None:
    try:
        return target.stat().st_mtime
    except OSError:
        return None


def _moment(stamp: float) -> datetime:
    """A file time as an aware UTC datetime, in whole seconds (HTTP dates have no more)."""
    try:
        return datetime.fromtimestamp(int(stamp // 1), UTC)
    except (OverflowError, OSError, ValueError):  # a time out of datetime's range
        return datetime.fromtimestamp(0, UTC)


def write_atomically(target: Path, data: bytes, modified: datetime | None = None) -> None:
    """Write `data` to a temporary file beside `target`, sync it, then rename it into place."""
    temporary = _stage(target, data, modified)
    try:
        _sync_file(temporary, target)
        _rename(temporary, target)
    except BuildError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


SYNC_EACH_UP_TO = 256
"""A build that changes more files than this syncs them with one `syncfs` instead of one
`fsync` each. Each `fsync` of a new file waits for a journal commit (1-2 ms here): the
60,000 files of a build with 20,000 topics took 90 s that way, one `syncfs` 0.1 s. But a
`syncfs` also waits for whatever other programs wrote to that file system (a fault test
saw one build wait 114 s after 200 MB were copied there), so a usual site's first build
(about 200 files, 0.3 s of `fsync`s) and every rebuild sync their own files only."""


@contextlib.contextmanager
def _cannot_write(path: Path | str) -> Iterator[None]:
    """Report an OSError of the block as the BuildError "cannot write `path`: reason"."""
    try:
        yield
    except OSError as exc:
        raise BuildError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _stage(target: Path, data: bytes, modified: datetime | None) -> str:
    """Write `data` to a new temporary file beside `target`, not yet synced; its path."""
    temporary = ""
    try:
        with _cannot_write(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX
            )
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
                os.fchmod(descriptor, 0o644)
                if modified is not None:
                    stamp = modified.timestamp()
                    os.utime(descriptor, (stamp, stamp))
            finally:
                os.close(descriptor)
    except BuildError:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    return temporary


def _sync_file(temporary: str, target: Path) -> None:
    """Flush staged file `temporary` (for `target`) to disk."""
    with _cannot_write(target):
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _sync_folder(folder: Path) -> None:
    """Flush `folder`'s entries to disk, so that the renames into it survive a power cut
    (a file's own sync does not cover its name). Best effort: a file system that cannot
    sync a folder still has every file whole, old or new."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _one_per_file_system(folders: set[Path]) -> list[Path]:
    """One of `folders` for each file system they are on (`topics/` may be a mount of its
    own), in a stable order."""
    by_device: dict[int, Path] = {}
    for folder in sorted(folders):
        with _cannot_write(folder):
            by_device.setdefault(folder.stat().st_dev, folder)
    return list(by_device.values())


def _sync_file_system(folder: Path) -> None:
    """Flush everything written to the file system that holds `folder` to disk (`syncfs`
    where the C library has it, as on Linux; else `sync`, every file system)."""
    with _cannot_write(folder):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            syncfs = _syncfs()
            if syncfs is None:
                os.sync()
            elif syncfs(descriptor) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error))
        finally:
            os.close(descriptor)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    except OSError:  # no C library to load
        return None


def _rename(temporary: str, target: Path) -> None:
    with _cannot_write(target):
        os.replace(temporary, target)


def _write_manifest(out_dir: Path, paths: set[str], listed: set[str]) -> set[str]:
    """Make the manifest name `paths`, writing it only when it names others (`listed`, what
    `_previous` read): a build that changes no output touches nothing in the output folder
    (a sync to a static host finds nothing new, and a watcher's next build writes nothing a
    reader of the folder could catch half-way). Returns what it names now."""
    target = out_dir / MANIFEST_NAME
    if paths != listed or target.is_symlink():
        write_atomically(target, json.dumps(sorted(paths), indent=1).encode("utf-8"))
    return paths


def _same_content(target: Path, data: bytes) -> bool:
    try:
        if target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except OSError:
        return False


def _remove_stale(folder: OutputFolder, stale: set[str]) -> int:
    """Remove the files `stale` an earlier build wrote and this one no longer produces."""
    removed = 0
    for relative in sorted(stale):
        try:
            folder.target(relative).unlink()
            removed += 1
        except (OSError, BuildError):
            continue
    return removed


def _previous(out_dir: Path) -> set[str]:
    """The output paths the manifest of earlier builds names (none if it is unreadable)."""
    try:
        previous = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(previous, list):
        return set()
    return {relative for relative in previous if isinstance(relative, str)}


def _remove_leftover_temporaries(out_dir: Path) -> None:
    """Temporary files of a build that was killed mid-write are garbage."""
    for leftover in out_dir.rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
