"""A build's counts, and the checks that stop a build before it writes anything."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feedpub.config import Config
from feedpub.errors import BuildError
from feedpub.report import Report, ReportSink


@dataclass(slots=True)
class Pending:
    """What waits for a later time: how many records are held for a publication time later
    than the build, and when the first thing is due (POSIX time: a held record, or an
    update to come; None when nothing is)."""

    held: int = 0
    due: float | None = None

    def add(self, held: int, due: float | None) -> None:
        """Count `held` more records, and take `due` if it comes first."""
        self.held += held
        if due is not None and (self.due is None or due < self.due):
            self.due = due


@dataclass(slots=True)
class BuildStats:
    """Counts for the closing summary of a build."""

    files: int = 0
    records: int = 0
    skipped: int = 0
    unpublished: int = 0
    recovered: int = 0
    duplicates: int = 0
    published: int = 0
    feeds: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    written_paths: tuple[str, ...] = ()  # the outputs this build wrote (new or changed)
    cache_unusable: str = ""  # why the record cache could not be used ("" when it was)
    cache_damaged: str = ""  # why the record cache was thrown away and rebuilt ("" if not)
    pending: Pending = field(default_factory=Pending)  # held records, the next due time

    @property
    def held(self) -> int:
        """Records dated later than the build, published from their time on."""
        return self.pending.held

    @property
    def next_due(self) -> float | None:
        """When the first held record (or update to come) is due (POSIX time)."""
        return self.pending.due

    def summary(self) -> str:
        """One line for the end of a build."""
        held = ""
        if self.held and self.next_due is not None:
            first = datetime.fromtimestamp(self.next_due, UTC).isoformat(timespec="seconds")
            held = f"held {self.held} dated later (next due {first}), "
        return (
            f"read {self.records} records from {self.files} files; "
            f"skipped {self.skipped}, unpublished {self.unpublished}, {held}"
            f"recovered {self.recovered}, merged {self.duplicates} duplicates; "
            f"published {self.published} articles in {self.feeds} feeds; "
            f"wrote {self.written} files ({self.unchanged} unchanged, {self.removed} removed) "
            f"in {self.seconds:.2f} s"
        )


def pass_on(reports: Iterable[Report], stats: BuildStats, sink: ReportSink) -> None:
    """Count each report as a skipped record or a recovered problem, and hand it to `sink`."""
    for report in reports:
        if report.skipped:
            stats.skipped += 1
        else:
            stats.recovered += 1
        sink(report)


def display_path(path: Path) -> str:
    """A path as users should see it in reports: relative to the current folder if inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def check_records_folder(folder: Path) -> None:
    """Stop a build whose records folder is missing, or is a file (a dump given by itself)."""
    if folder.is_dir():
        return
    if folder.exists():
        raise BuildError(
            f"records folder not found: {display_path(folder)} is a file, not a folder"
            " (put record files, dumps too, in a folder and name the folder)"
        )
    raise BuildError(f"records folder not found: {display_path(folder)}")


class NothingToPublish(BuildError):
    """Not one record can be published: the build writes nothing."""


def check_publishable(config: Config, stats: BuildStats) -> None:
    """Stop a --strict build with reports, and a build with nothing to publish."""
    if config.strict and (stats.skipped or stats.recovered):
        raise BuildError(
            f"--strict: {stats.skipped + stats.recovered} problem(s) reported; nothing written"
        )
    if not stats.published:
        held = f" ({stats.held} held until their publication time)" if stats.held else ""
        raise NothingToPublish(
            f"no publishable records in {display_path(config.records)}{held}; nothing written"
        )
