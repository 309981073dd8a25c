"""The build pipeline: scan records, convert, select feeds, render, write."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from feedpub.config import Config, Limits
from feedpub.convert import convert_record
from feedpub.errors import BuildError
from feedpub.model import Article, Site
from feedpub.publish.files import WriteStats, write_outputs
from feedpub.records import RecordFile, read_record_file, scan_records
from feedpub.render import render_site
from feedpub.report import Report, ReportSink
from feedpub.select import deduplicate, select_site


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

    def summary(self) -> str:
        """One line for the end of a build."""
        return (
            f"read {self.records} records from {self.files} files; "
            f"skipped {self.skipped}, unpublished {self.unpublished}, "
            f"recovered {self.recovered}, merged {self.duplicates} duplicates; "
            f"published {self.published} articles in {self.feeds} feeds; "
            f"wrote {self.written} files ({self.unchanged} unchanged, {self.removed} removed) "
            f"in {self.seconds:.2f} s"
        )


@dataclass(slots=True)
class FileOutcome:
    """What one record file contributed: articles, reports and counts."""

    articles: list[Article] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    records: int = 0
    unpublished: int = 0


def display_path(path: Path) -> str:
    """A path as users should see it in reports: relative to the current folder if inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def convert_file(file: RecordFile, display: str, limits: Limits) -> FileOutcome:
    """Read and convert every record of one file."""
    outcome = FileOutcome()
    result = read_record_file(file.path, display, limits)
    outcome.reports.extend(result.reports)
    for record in result.records:
        outcome.records += 1
        conversion = convert_record(record, limits)
        outcome.reports.extend(conversion.reports)
        if conversion.unpublished:
            outcome.unpublished += 1
        if conversion.article is not None:
            outcome.articles.append(conversion.article)
    return outcome


def load_articles(
    config: Config, sink: ReportSink, stats: BuildStats, progress: bool = False
) -> list[Article]:
    """Every publishable article of the records folder; problems go to `sink`."""
    folder = config.records
    if not folder.is_dir():
        raise BuildError(f"records folder not found: {display_path(folder)}")
    files = list(scan_records(folder))
    stats.files = len(files)
    base = display_path(folder)
    articles: list[Article] = []
    for file in _with_progress(files, progress):
        outcome = convert_file(file, f"{base}/{file.name}", config.limits)
        _account(outcome, stats, sink)
        articles.extend(outcome.articles)
    return articles


def _account(outcome: FileOutcome, stats: BuildStats, sink: ReportSink) -> None:
    stats.records += outcome.records
    stats.unpublished += outcome.unpublished
    for report in outcome.reports:
        if report.skipped:
            stats.skipped += 1
        else:
            stats.recovered += 1
        sink(report)


def _with_progress(files: list[RecordFile], progress: bool) -> Iterable[RecordFile]:
    if not progress or len(files) < 200:
        return files
    from tqdm import tqdm

    bar: Iterable[RecordFile] = tqdm(
        files, desc="records", unit="file", file=sys.stderr, leave=False
    )
    return bar


def build_site(config: Config, sink: ReportSink, stats: BuildStats, progress: bool = False) -> Site:
    """Load and select: the model of every feed, ready to render."""
    articles = load_articles(config, sink, stats, progress)
    unique, stats.duplicates = deduplicate(articles)
    stats.published = len(unique)
    if config.strict and (stats.skipped or stats.recovered):
        raise BuildError(
            f"--strict: {stats.skipped + stats.recovered} problem(s) reported; nothing written"
        )
    if not unique:
        raise BuildError(
            f"no publishable records in {display_path(config.records)}; nothing written"
        )
    site = select_site(
        unique,
        title=config.title,
        description=config.description,
        base_url=config.base_url,
        language=config.language,
        max_items=config.max_items,
    )
    stats.feeds = len(site.feeds)
    return site


def site_modified_times(site: Site) -> dict[str, datetime]:
    """Each output path's Last-Modified time: its feed's newest entry."""
    times: dict[str, datetime] = {}
    for feed in site.feeds:
        for suffix in (".rss", ".atom", ".json"):
            times[f"{feed.info.path_stem}{suffix}"] = feed.updated
    if site.updated is not None:
        times["feeds.opml"] = site.updated
        times["index.html"] = site.updated
    return times


def run_build(
    config: Config,
    sink: ReportSink,
    progress: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> BuildStats:
    """The whole build: records in, files written into `config.out`."""
    started = clock()
    stats = BuildStats()
    site = build_site(config, sink, stats, progress)
    outputs = render_site(site)
    written: WriteStats = write_outputs(outputs, config.out, site_modified_times(site))
    stats.written, stats.unchanged, stats.removed = (
        written.written,
        written.unchanged,
        written.removed,
    )
    stats.seconds = clock() - started
    return stats
