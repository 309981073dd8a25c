"""Which record files changed, told by the operating system (inotify, FSEvents, kqueue).

The server's builder would otherwise `stat` every record file at every poll: 100,000
files cost about half a second each time, even when nothing changed. With a watcher it
re-reads only the files named by events, and still scans the whole folder now and then
(events can be lost: a full kernel queue, network file systems).

Uses `watchdog`, which picks the best mechanism of the platform.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("feedpub.serve")

# Reading a file is no change (and the builder reads every changed file: ignoring these
# keeps a build from setting off the next one).
_NOT_CHANGES = frozenset({"opened", "closed_no_write"})


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the last `take`: file names (relative, `/`-separated), or
    `rescan` when only a full scan can tell (a folder moved, an event outside the folder)."""

    names: frozenset[str]
    rescan: bool


class RecordWatcher:
    """Collects the names of changed files under a records folder from file system events."""

    def __init__(self, folder: Path) -> None:
        # The folder itself, not a link to it: a link is watched as a link (no events for
        # the files behind it).
        self.folder = os.path.realpath(folder)
        self._lock = threading.Lock()
        self._names: set[str] = set()
        self._rescan = False
        self._observer: Any = None

    def start(self) -> bool:
        """Start watching; False (and a log line) when the platform cannot watch this folder."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event: Any) -> None:
                    watcher.record(event.event_type, event.is_directory, event.src_path,
                                   getattr(event, "dest_path", ""))  # fmt: skip

            observer = Observer()
            observer.daemon = True
            observer.schedule(_Handler(), self.folder, recursive=True)
            observer.start()
        except Exception as exc:  # e.g. the inotify watch limit: polling still works
            log.warning("not watching %s for changes (%s); polling instead", self.folder, exc)
            return False
        self._observer = observer
        _LostEvents.install(self)
        return True

    def lost_events(self) -> None:
        """The kernel dropped events (its queue overflowed): only a full scan can tell."""
        with self._lock:
            self._rescan = True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching."""
        _LostEvents.remove(self)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None

    @property
    def alive(self) -> bool:
        """True while events are being delivered."""
        return self._observer is not None and self._observer.is_alive()

    def record(self, kind: str, is_directory: bool, *paths: str | bytes) -> None:
        """Note one event (called on the observer's thread)."""
        if kind in _NOT_CHANGES:
            return
        with self._lock:
            if is_directory:
                # A file created or removed in a folder also "modifies" the folder: the
                # file's own event names it. Any other folder event needs a full scan.
                self._rescan = self._rescan or kind != "modified"
                return
            for path in paths:
                if path:
                    self._add(os.fsdecode(path))

    def _add(self, path: str) -> None:
        relative = os.path.relpath(path, self.folder)
        if relative == os.curdir or relative.startswith(os.pardir):
            self._rescan = True
        else:
            self._names.add(relative.replace(os.sep, "/"))

    def take(self) -> Changes:
        """The changes noted since the last call (and forget them)."""
        with self._lock:
            changes = Changes(frozenset(self._names), self._rescan)
            self._names, self._rescan = set(), False
        return changes


class _LostEvents(logging.Handler):
    """watchdog's only word of a kernel queue overflow is a log message (no event): this
    handler turns it into a full scan for every running watcher, and says so in our log."""

    _installed: _LostEvents | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.watchers: set[RecordWatcher] = set()

    @classmethod
    def install(cls, watcher: RecordWatcher) -> None:
        with cls._guard:
            if cls._installed is None:
                cls._installed = cls()
                logging.getLogger("watchdog").addHandler(cls._installed)
            cls._installed.watchers.add(watcher)

    @classmethod
    def remove(cls, watcher: RecordWatcher) -> None:
        with cls._guard:
            if cls._installed is not None:
                cls._installed.watchers.discard(watcher)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "overflow" not in message.lower():
            log.warning("file system events: %s", message)
            return
        with self._guard:
            watchers = list(self.watchers)
        for watcher in watchers:
            watcher.lost_events()
        log.warning("file system events were lost (%s); scanning the whole folder", message)
