"""The build pipeline: scan records, convert, select feeds, render, write."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from feedpub.cached_build import Built, KnownArticles, Once, Options, build_cached
from feedpub.config import Config, Limits
from feedpub.model import Article, Site, Withdrawal
from feedpub.parse_pool import POOL_THRESHOLD, FileOutcome
from feedpub.parse_pool import convert_file as convert_path
from feedpub.publish.files import OutputWriter
from feedpub.records import RecordFile, Scan, scan_records
from feedpub.render import render_site
from feedpub.report import ReportSink
from feedpub.select import deduplicate, select_site
from feedpub.stats import (
    BuildStats,
    check_publishable,
    check_records_folder,
    display_path,
    pass_on,
)
from feedpub.timestamps import build_time

__all__ = [
    "BuildStats",
    "Built",
    "FileOutcome",
    "build_outputs",
    "build_site",
    "convert_file",
    "display_path",
    "load_articles",
    "run_build",
    "site_modified_times",
]


def convert_file(file: RecordFile, display: str, limits: Limits) -> FileOutcome:
    """Read and convert every record of one file."""
    return convert_path(file.path, display, limits)


def load_articles(
    config: Config, sink: ReportSink, stats: BuildStats, progress: bool = False
) -> list[Article | Withdrawal]:
    """Every publishable article of the records folder, in memory (no cache), and the
    withdrawals of the unpublished ones (see `Withdrawal`)."""
    folder = config.records
    check_records_folder(folder)
    started_ns = time.time_ns()
    files = list(scan_records(folder))
    stats.files = len(files)
    base = display_path(folder)
    now = None if config.publish_future else build_time(started_ns)
    articles: list[Article | Withdrawal] = []
    for file in _with_progress(files, progress):
        outcome = convert_path(file.path, f"{base}/{file.name}", config.limits, now, folder)
        _account(outcome, stats, sink)
        articles += outcome.articles
        articles += outcome.withdrawals
    return articles


def _account(outcome: FileOutcome, stats: BuildStats, sink: ReportSink) -> None:
    stats.records += outcome.records
    stats.unpublished += outcome.unpublished
    stats.pending.add(outcome.pending.held, outcome.pending.due)
    pass_on(outcome.reports, stats, sink)


def _with_progress(files: list[RecordFile], progress: bool) -> Iterable[RecordFile]:
    if not progress or len(files) < 200:
        return files
    from tqdm import tqdm

    bar: Iterable[RecordFile] = tqdm(
        files, desc="records", unit="file", file=sys.stderr, leave=False
    )
    return bar


def build_site(
    config: Config,
    sink: ReportSink,
    stats: BuildStats,
    progress: bool = False,
    *,
    use_cache: bool = True,
    pool_threshold: int = POOL_THRESHOLD,
) -> Site:
    """Load and select: the model of every feed, ready to render.

    With `use_cache` (the default) the records go through the record cache in
    `config.cache_dir`; without it (or when the cache folder is unusable) every file
    is read and every article held in memory. Both give the same site.
    """
    once = sink if isinstance(sink, Once) else Once(sink)
    if use_cache:
        options = Options(progress=progress, threshold=pool_threshold, render=False)
        built = _through_cache(config, once, stats, options)
        if built is not None and built.site is not None:
            return built.site
    articles = load_articles(config, once, stats, progress)
    kept, stats.duplicates = deduplicate(articles)
    unique = [article for article in kept if isinstance(article, Article)]  # (all of them)
    stats.published = len(unique)
    check_publishable(config, stats)
    site = select_site(
        unique,
        title=config.title,
        description=config.description,
        base_url=config.base_url,
        language=config.language,
        max_items=config.max_items,
        hubs=config.websub.hubs,
    )
    stats.feeds = len(site.feeds)
    return site


def build_outputs(
    config: Config,
    sink: ReportSink,
    stats: BuildStats,
    progress: bool = False,
    *,
    use_cache: bool = True,
    pool_threshold: int = POOL_THRESHOLD,
    site: bool = True,
    scan: Scan | None = None,
    known: KnownArticles | None = None,
    writer: OutputWriter | None = None,
) -> Built:
    """The site (unless `site=False`), every output's bytes and each one's Last-Modified.

    Through the cache, only outputs whose inputs changed are rendered; the others are
    the bytes in `config.out` written by an earlier build. Write the outputs there
    (`write_outputs`), or the next build renders them again. With a `writer`, the
    outputs made through the cache go to it as they are made, not into `outputs`.
    """
    once = sink if isinstance(sink, Once) else Once(sink)
    if use_cache:
        options = Options(
            progress=progress,
            threshold=pool_threshold,
            site=site,
            scan=scan,
            known=known,
            writer=writer,
        )
        built = _through_cache(config, once, stats, options)
        if built is not None:
            return built
    full = build_site(config, once, stats, progress, use_cache=False)
    return Built(full, render_site(full), site_modified_times(full))


def _through_cache(config: Config, once: Once, stats: BuildStats, options: Options) -> Built | None:
    """A build through the record cache; None (counts reset) when the cache cannot be used."""
    try:
        return build_cached(config, once, stats, options)
    except (OSError, UnicodeEncodeError, sqlite3.Error) as exc:
        _start_over(once, stats)  # no usable cache folder, or names SQLite cannot hold
        if options.writer is not None:
            options.writer.discard()
        stats.cache_unusable = (
            f"the record cache in {display_path(config.cache_dir)} cannot be used"
            f" ({_why(exc)}); this build read every record"
        )
        return None


def _why(error: Exception) -> str:
    if isinstance(error, UnicodeEncodeError):  # a name SQLite cannot hold (see _check_names)
        shown = error.object.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return f"a file name that is not UTF-8: {shown}; rename it"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def _start_over(once: Once, stats: BuildStats) -> None:
    """Build without the cache: from empty counts, repeating no report already passed on."""
    once.seen = 0
    for name in BuildStats.__slots__:
        setattr(stats, name, getattr(BuildStats(), name))


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
    *,
    use_cache: bool = True,
    pool_threshold: int = POOL_THRESHOLD,
) -> BuildStats:
    """The whole build: records in, files written into `config.out`.

    With the cache, only feeds whose entries changed are rendered again.
    """
    started = clock()
    stats = BuildStats()
    with OutputWriter(config.out) as writer:
        built = build_outputs(
            config,
            sink,
            stats,
            progress,
            use_cache=use_cache,
            pool_threshold=pool_threshold,
            site=False,
            writer=writer,
        )
        for path in sorted(built.outputs):  # a build without the cache made them all at once
            writer.add(path, built.outputs[path], built.modified.get(path))
        written = writer.commit()
    stats.written, stats.unchanged, stats.removed = (
        written.written,
        written.unchanged,
        written.removed,
    )
    stats.written_paths = written.paths
    stats.seconds = clock() - started
    return stats
