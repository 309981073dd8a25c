"""The one builder of a server: polls the records folder, rebuilds, publishes snapshots.

It runs as a thread in gunicorn's arbiter (or in-process for the Flask test
client). A build that fails, or a records folder that vanishes, leaves the last
good snapshot in service; the failure is logged and reported by /healthz.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedpub.build import BuildStats, build_outputs
from feedpub.cached_build import Built, KnownArticles
from feedpub.config import Config
from feedpub.errors import BuildError
from feedpub.publish.files import WriteStats, write_outputs
from feedpub.publish.snapshot import Snapshot, SnapshotDir, make_snapshot
from feedpub.publish.watch import RecordWatcher
from feedpub.publish.websub import HubNotifier, changed_feed_urls
from feedpub.records import RACY_NS, Scan, has_racy_entries, rescan_names, scan_folder
from feedpub.report import Report
from feedpub.timestamps import build_time

log = logging.getLogger("feedpub.serve")


# Held for the whole of a build. gunicorn forks workers from the process the
# builder thread runs in; the fork guard makes a fork wait for a build to end, so
# no child starts with a lock (logging, libxml2, ...) held by a half-done build.
_BUILD_LOCK = threading.RLock()  # re-entrant: a build may itself fork a parse pool
_guard_installed = False


def install_fork_guard() -> None:
    """Make every fork of this process wait until no build is running (idempotent)."""
    global _guard_installed
    if not _guard_installed:
        os.register_at_fork(
            before=_BUILD_LOCK.acquire,
            after_in_parent=_BUILD_LOCK.release,
            after_in_child=_BUILD_LOCK.release,
        )
        _guard_installed = True


def fingerprint(folder: Path) -> Scan | None:
    """Names, sizes and mtimes of every record file (None when the folder is missing)."""
    if not folder.is_dir():
        return None
    return scan_folder(folder)


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class BuildState:
    """What /healthz reports about the builder."""

    status: str = "starting"
    version: str | None = None
    built_at: float | None = None
    last_error: str | None = None
    error_at: float | None = None
    articles: int = 0
    feeds: int = 0
    problems: int = 0
    changes_by: str = "scan"  # how changed records are found: "events" or "scan"

    def as_json(self) -> dict[str, Any]:
        """The state as a JSON-ready mapping."""
        return {
            "status": self.status,
            "version": self.version,
            "etag": f'"{self.version}"' if self.version else None,
            "built_at": _iso(self.built_at),
            "last_error": self.last_error,
            "error_at": _iso(self.error_at),
            "articles": self.articles,
            "feeds": self.feeds,
            "problems": self.problems,
            "changes_by": self.changes_by,
        }


FULL_SCAN_SECONDS = 60.0
"""While a watcher runs, the whole records folder is still scanned this often."""
RETRY_MIN_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
"""A failed build is tried again after 2 s, then 4 s, ... at most every 5 minutes."""


def _changed(previous: Snapshot | None, current: Snapshot) -> list[str]:
    """The output paths whose bytes differ between two snapshots (all, without `previous`)."""
    before = {} if previous is None else previous.resources
    return [
        path
        for path, resource in current.resources.items()
        if path not in before or before[path].identity.etag != resource.identity.etag
    ]


def _identity(folder: Path) -> tuple[int, int] | None:
    """The device and inode of `folder` (through links); None when it is not there."""
    try:
        found = os.stat(folder)
    except (OSError, ValueError):
        return None
    return (found.st_dev, found.st_ino)


class _Unchanged:
    """The watcher saw no change (a marker, unlike None: "scan the folder")."""


_UNCHANGED = _Unchanged()


class Builder:
    """Builds the site when the records change and keeps the last good snapshot."""

    def __init__(
        self, config: Config, handoff: SnapshotDir | None = None, *, serving: bool = True
    ) -> None:
        self.config = config
        self.handoff = handoff
        self.serving = serving  # False: only keep the files in config.out (`build --watch`)
        self.state = BuildState()
        self._snapshot: Snapshot | None = None
        self._seen: list[tuple[str, int, int]] | bool | None = False  # False: not polled yet
        self._scan: Scan | None = None  # the scan of the last poll that saw a change
        self._watcher: RecordWatcher | None = None
        self._articles: KnownArticles = {}  # the served site's articles, reused by the next build
        self._last_full_scan = float("-inf")
        self._watching = False  # file system events wanted (by `start`)
        self._retry_seconds = 0.0  # the wait before the last retry of a failed build
        self._retry_at: float | None = None  # when a failed build is tried again
        self._files_behind = False  # the last build's files could not all be written to `out`
        self.hubs = HubNotifier(config)  # WebSub pings of changed feeds
        self._watch_again = False  # a folder event: watch the records folder afresh
        self._watched_id: tuple[int, int] | None = None  # the records folder being watched
        self._racy_at: int | None = None  # when to look again at files of an unfinished tick
        self._due_at: float | None = None  # when a record held for its date is due (POSIX)
        self._reported: set[str] = set()
        self._cache_warning = ""  # why the record cache could not be used, as last logged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> Snapshot | None:
        """The last good snapshot (None before the first successful build)."""
        return self._snapshot

    def status(self) -> dict[str, Any]:
        """The builder's state for /healthz."""
        return self.state.as_json()

    def catch_up(self) -> None:
        """Nothing to do: the builder serves each version as soon as it is built."""

    def poll(self) -> bool:
        """Rebuild when the records folder changed since the last look; True if it built.

        While a watcher runs, only the files its events name are looked at again, and the
        whole folder every `FULL_SCAN_SECONDS` (events can be lost); otherwise every file.
        """
        self._keep_handoff()
        scan = self._watched_scan()  # None after a failed build: it is retried from a full scan
        if scan is _UNCHANGED:
            return False
        told = False  # whether events already told of what this poll finds
        if scan is None:
            watcher = self._watcher
            if watcher is not None:
                changes = watcher.take()  # the full scan sees whatever they name
                told = bool(changes.names) or changes.rescan
                self._watch_again = self._watch_again or changes.rescan
            if self._watching and (self._watch_again or watcher is None or not watcher.alive):
                self._rewatch()  # before the scan: no change falls between the two
                told = True
            self._last_full_scan = time.monotonic()
            scan = fingerprint(self.config.records)
        else:
            told = True
        assert not isinstance(scan, _Unchanged)
        seen = None if scan is None else scan.entries
        # Unchanged sizes and mtimes may still hide a rewrite: of a file events named, or of
        # one written within an mtime tick of the last build (looked at once that tick is
        # surely over). The cache reads those files again.
        named = scan is not None and bool(scan.changed)
        racy_due = self._racy_at is not None and time.time_ns() >= self._racy_at
        changes_due = racy_due or self._held_due()
        if seen == self._seen and not (self._retry_due() or named or changes_due):
            return False
        if not told and self._watcher is not None and seen != self._seen:
            self._watch_again = True  # a change no event told of: watch afresh next time
        self._seen, self._scan = seen, scan
        self._racy_at = None
        if scan is not None and has_racy_entries(scan):
            self._racy_at = scan.started_ns + RACY_NS
        built = self.build(scan)  # the build uses this scan: 100k files are not stat'ed twice
        if built and not self._files_behind:
            self._retry_seconds, self._retry_at = 0.0, None
            return True
        self._scan = None  # the retry (or the next change) is looked for by a full scan
        # Try again even if nothing changes (a full disk, a folder back in place, an output
        # folder writable again), waiting twice as long each time, up to RETRY_MAX_SECONDS.
        wait = min(max(2 * self._retry_seconds, RETRY_MIN_SECONDS), RETRY_MAX_SECONDS)
        self._retry_seconds, self._retry_at = wait, time.monotonic() + wait
        return True

    def _keep_handoff(self) -> None:
        """Publish the served version again if the handoff folder lost it (removed by a /tmp
        cleaner or by hand): a worker started later would have nothing to serve."""
        snapshot = self._snapshot
        if self.handoff is None or snapshot is None or self.handoff.holds(snapshot):
            return
        log.warning(
            "version %s or the status was gone from %s; published again",
            snapshot.version,
            self.handoff.folder,
        )
        try:
            self.handoff.publish(snapshot)
            self.handoff.write_status(self.status())
        except OSError as exc:
            log.error("cannot publish version %s again: %s", snapshot.version, exc)

    def _retry_due(self) -> bool:
        return self._retry_at is not None and time.monotonic() >= self._retry_at

    def _next_due(self, found: float | None, scan: Scan | None) -> float | None:
        """When a held record is next due after a build that found `found`: a build from a
        full scan read every file holding one; a build of the files events named did not,
        so the earlier time known still stands."""
        if scan is None or scan.changed is None or self._due_at is None:
            return found
        return self._due_at if found is None else min(found, self._due_at)

    def _held_due(self) -> bool:
        """True when a record held for its publication time (or a later update) is due."""
        return self._due_at is not None and build_time().timestamp() >= self._due_at

    def _watched_scan(self) -> Scan | _Unchanged | None:
        """The scan brought up to date from the watcher's events; None if a full scan is due."""
        watcher = self._watcher
        if (
            watcher is None
            or self._scan is None
            or self._watch_again
            or not watcher.alive
            or time.monotonic() - self._last_full_scan >= FULL_SCAN_SECONDS
            or self._held_due()  # the cache reads files of due records again on a full scan
        ):
            return None
        if _identity(self.config.records) != self._watched_id:
            self._watch_again = True  # the folder was renamed, replaced or relinked: no event
            return None
        changes = watcher.take()
        if changes.rescan:
            self._watch_again = True
            return None
        if not changes.names:
            return _UNCHANGED
        return rescan_names(self._scan, self.config.records, changes.names)

    def build(self, scan: Scan | None = None) -> bool:
        """Build now (from `scan`, when given); True when the build succeeded."""
        with _BUILD_LOCK:
            ok = self._build(scan)
        if self.handoff is not None:
            self.handoff.write_status(self.status())
        return ok

    def _build(self, scan: Scan | None) -> bool:
        started = time.perf_counter()
        reports: list[Report] = []
        stats = BuildStats()
        try:
            # Through the record cache: only changed files are parsed, only changed feeds rendered.
            built = build_outputs(
                self.config,
                reports.append,
                stats,
                site=self.serving,
                scan=scan,
                known=self._articles,
            )
            self._warn_of_cache(stats.cache_unusable)
            if stats.cache_damaged:
                log.warning("%s", stats.cache_damaged)
            self._due_at = self._next_due(stats.next_due, scan)
            write_error, files = self._write_files(built.outputs, built.modified)
            written = files.paths
            self._files_behind = write_error is not None
            if self.serving:
                # Served with the files' times (a changed feed's moves forward: see `advanced`).
                modified = built.modified | files.modified
                self._serve(built, modified, written, stats, time.perf_counter() - started)
            elif write_error is None:  # (else the error is logged, and the build retried)
                self.hubs.submit(changed_feed_urls(self.config, written))
                self._log_written(written, stats, time.perf_counter() - started)
        except BuildError as exc:
            self._fail(str(exc))
            return False
        except Exception as exc:  # a bug must not stop the server: keep the last good feeds
            log.exception("build failed unexpectedly")
            self._fail(f"unexpected {type(exc).__name__}: {exc}")
            return False
        finally:
            self._log_reports(reports)
        state = self.state
        state.built_at = time.time()
        state.articles, state.feeds, state.problems = stats.published, stats.feeds, len(reports)
        if write_error is None:
            state.status, state.last_error = "ok", None
        else:
            state.status, state.last_error, state.error_at = "degraded", write_error, time.time()
        return True

    def _serve(
        self,
        built: Built,
        modified: dict[str, datetime],
        written: tuple[str, ...],
        stats: BuildStats,
        seconds: float,
    ) -> None:
        """Make the build's snapshot the served one, if it differs; tell hubs what changed."""
        if built.site is None:  # pragma: no cover - build_outputs returns the site by default
            raise BuildError("the build returned no site")
        snapshot = make_snapshot(built.site, built.outputs, modified, self._snapshot)
        previous = self._snapshot
        if previous is not None and previous.version == snapshot.version:
            log.info("records changed; every feed is unchanged (version %s)", snapshot.version)
            return
        if self.handoff is not None:
            self.handoff.publish(snapshot)
        self._snapshot = snapshot
        self.state.version = snapshot.version
        # After a restart, only feeds whose files changed: hubs heard of the rest.
        changed = list(written) if previous is None else _changed(previous, snapshot)
        self.hubs.submit(changed_feed_urls(self.config, changed))
        log.info(
            "serving version %s: %d articles in %d feeds (built in %.2f s)",
            snapshot.version,
            stats.published,
            stats.feeds,
            seconds,
        )

    def _log_written(self, written: tuple[str, ...], stats: BuildStats, seconds: float) -> None:
        """Say what a files-only build changed in config.out."""
        if not written:
            log.info("records changed; every feed is unchanged (built in %.2f s)", seconds)
            return
        more = f" and {len(written) - 5} more" if len(written) > 5 else ""
        shown = ", ".join(written[:5]) + more
        log.info(
            "wrote %d file(s) to %s: %s; %d articles in %d feeds (built in %.2f s)",
            len(written),
            self.config.out,
            shown,
            stats.published,
            stats.feeds,
            seconds,
        )

    def _write_files(
        self, outputs: dict[str, bytes], modified: dict[str, datetime]
    ) -> tuple[str | None, WriteStats]:
        """Keep config.out in step with what is served: (the error, if any, which is reported,
        not fatal; what was written)."""
        try:
            return None, write_outputs(outputs, self.config.out, modified)
        except BuildError as exc:
            if self.serving:
                log.error("serving the new build, but %s", exc)
            else:
                log.error("%s; trying again", exc)
            return str(exc), WriteStats(written=0, unchanged=0, removed=0)

    def _fail(self, reason: str) -> None:
        state = self.state
        state.status = "degraded"
        state.last_error, state.error_at = reason, time.time()
        if not self.serving:
            log.error("build failed: %s; the files in %s are unchanged", reason, self.config.out)
        elif self._snapshot is None:
            log.error("build failed: %s; nothing to serve yet", reason)
        else:
            log.error("build failed: %s; still serving version %s", reason, state.version)

    def _warn_of_cache(self, why: str) -> None:
        """Log once that the record cache cannot be used (each build then reads every record),
        and once that it can be used again."""
        if why and why != self._cache_warning:
            log.warning("%s", why)
        elif self._cache_warning and not why:
            log.info("the record cache can be used again")
        self._cache_warning = why

    def _log_reports(self, reports: list[Report]) -> None:
        """Log each problem once (a record broken in the last build is not re-reported)."""
        current = {str(report) for report in reports}
        for line in sorted(current - self._reported):
            log.warning("%s", line)
        self._reported = current

    def start(self, watch: bool = True) -> None:
        """Look for changes every `server.poll_seconds` in a daemon thread, told by file
        system events when the platform has them (`watch`), else by scanning the folder."""
        if self._thread is not None:
            return
        self._watching = watch
        if watch:
            self._rewatch()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="feedpub-builder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the polling thread to end and wait for it (a running build finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._watching = False
        self._unwatch()

    def _rewatch(self) -> None:
        """(Re)start the watcher: after a folder event the old watches may be gone (a records
        folder deleted and made again). The full scan that follows covers the gap."""
        before = self.state.changes_by
        self._unwatch()
        self._watch_again = False
        self._watched_id = _identity(self.config.records)
        if self.config.records.is_dir():
            watcher = RecordWatcher(self.config.records)
            if watcher.start():
                self._watcher = watcher
                self._last_full_scan = float("-inf")  # what changed before it started
            else:
                self._watching = False  # no events here: scan from now on (logged once)
        self.state.changes_by = "events" if self._watcher is not None else "scan"
        if self.state.changes_by != before and self.handoff is not None:
            self.handoff.write_status(self.status())

    def _unwatch(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self.state.changes_by = "scan"

    def _run(self) -> None:
        while not self._stop.wait(self.config.server.poll_seconds):
            try:
                self.poll()
            except Exception:  # keep polling whatever happens
                log.exception("builder error")
