"""A build through the record cache: update it, choose the feeds in it, render what changed.

A cache found damaged midway (it is not trusted) is emptied and the work done again;
reports already passed on by the first try are not repeated.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from feedpub import cache_select
from feedpub.cache import RecordCache, is_trouble_around
from feedpub.codec import ArticleRef, CacheCorrupt
from feedpub.config import Config
from feedpub.errors import FeedpubError
from feedpub.fingerprint import fingerprint
from feedpub.incremental import early_pool, fetch_articles, index_refs, load_cached
from feedpub.model import Article, Site
from feedpub.parse_pool import POOL_THRESHOLD
from feedpub.publish.files import OutputWriter
from feedpub.records import Scan
from feedpub.report import Report, ReportSink
from feedpub.rerender import Rendered, outputs_standing, render_changed, render_state
from feedpub.select import FeedChoice, choose_feeds, deduplicate, feed_of, site_of
from feedpub.stats import (
    BuildStats,
    NothingToPublish,
    check_publishable,
    check_records_folder,
    display_path,
    pass_on,
)

if TYPE_CHECKING:  # (imported only where a pool is made)
    from concurrent.futures import ProcessPoolExecutor

Choices = list[FeedChoice[ArticleRef]]
KnownArticles = dict[tuple[str, int, bytes, str], Article]
"""Decoded articles by (file, seq, digest, source suffix): what a server's next build reuses."""


class Once:
    """A report sink that passes on only reports not already passed on by an earlier try."""

    def __init__(self, sink: ReportSink) -> None:
        self.sink = sink
        self.sent = 0
        self.seen = 0

    def __call__(self, report: Report) -> None:
        self.seen += 1
        if self.seen > self.sent:
            self.sent += 1
            self.sink(report)


def update_cached(
    config: Config,
    cache: RecordCache,
    sink: ReportSink,
    stats: BuildStats,
    options: Options,
    pool: ProcessPoolExecutor | None = None,
) -> bool:
    """Update the cache and account for every file; whether the cached records changed."""
    check_records_folder(config.records)
    loaded = load_cached(
        config,
        cache,
        display_path(config.records),
        options.threshold,
        options.progress,
        options.scan,
        pool,
    )
    stats.files, stats.records, stats.unpublished = loaded.files, loaded.records, loaded.unpublished
    stats.pending = loaded.pending
    pass_on(loaded.reports, stats, sink)
    stats.published, stats.duplicates = cache_select.counts(cache)
    check_publishable(config, stats)
    return loaded.written


def choose_cached(config: Config, cache: RecordCache, stats: BuildStats) -> Choices:
    """Dedupe and choose each feed's entries from the cache (brought up to date)."""
    base = display_path(config.records)
    texts = {"title": config.title, "description": config.description}
    choices = cache_select.choose(
        cache, base, **texts, max_items=config.max_items, kept=stats.published
    )
    if choices is None:  # only an in-memory selection can tell: load the light index
        unique, _ = deduplicate(index_refs(cache, base))
        choices = choose_feeds(unique, **texts, max_items=config.max_items)
    stats.feeds = len(choices)
    return choices


@dataclass(frozen=True, slots=True)
class Options:
    """How a build goes through the cache."""

    progress: bool = False
    threshold: int = POOL_THRESHOLD
    site: bool = True  # also load the full Site (what the writer alone does not need)
    render: bool = True  # also render the outputs (what the site alone does not need)
    scan: Scan | None = None  # the records folder as a server's poll just saw it
    known: KnownArticles | None = None  # the last site's articles (a server's), kept up to date
    writer: OutputWriter | None = None  # takes the outputs as they are made (see render_changed)


# What contents of the cache that are not what feedpub wrote (a disk's bit flip, another
# program's rows) can raise where they are read: SQLite's own checks, the codec's, and the
# Python errors of a value of the wrong type or range (SQLite columns take any type). A build
# that raises one of these is done again from an empty cache, once.
DAMAGE = (
    CacheCorrupt, sqlite3.DatabaseError, TypeError, ValueError, LookupError, AttributeError,
    ArithmeticError,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Built:
    """What a build made: the site (when asked for), every output and its Last-Modified."""

    site: Site | None
    outputs: dict[str, bytes]
    modified: dict[str, datetime]


def build_cached(config: Config, once: Once, stats: BuildStats, options: Options) -> Built:
    """Update the cache, choose the feeds and render the outputs whose inputs changed.

    The output digests are stored at once: an output not written after all no longer
    matches its digest's bytes, so the next build renders it again.
    """
    with (
        RecordCache(config.cache_dir, fingerprint(config)) as cache,
        early_pool(config, cache, options.scan, options.threshold) as pool,
    ):
        damage = ""
        for attempt in range(2):
            trial = BuildStats()
            once.seen = 0
            try:
                written = update_cached(config, cache, once, trial, options, pool)
                rendered, site = Rendered(), None
                if written or not _keep_standing(config, cache, options, trial):
                    choices = choose_cached(config, cache, trial)
                    if options.render:
                        rendered = render_changed(config, cache, choices, pool, options.writer)
                        state = render_state(config, len(choices))
                        cache.store_outputs(rendered.digests, state)
                    if options.site:
                        site = _full_site(config, cache, choices, options.known)
            except (*DAMAGE, NothingToPublish) as exc:
                if attempt or not _may_be_damage(exc, cache, trial):
                    raise  # not the cache's contents: a fresh cache gave it too, or a build error
                damage = (
                    "it held no publishable record where the records folder has some"
                    if isinstance(exc, NothingToPublish)
                    else f"{type(exc).__name__}: {exc}"
                )
                cache.reset()
                if options.writer is not None:  # what the damaged cache gave is not published
                    options.writer.discard()
                continue
            for name in BuildStats.__slots__:
                setattr(stats, name, getattr(trial, name))
            if damage:
                stats.cache_damaged = (
                    f"the record cache in {display_path(config.cache_dir)} was damaged"
                    f" ({damage:.200}); it was rebuilt, and this build read every record"
                )
            return Built(site, rendered.outputs, rendered.modified)
    raise AssertionError("unreachable")  # pragma: no cover


def _keep_standing(config: Config, cache: RecordCache, options: Options, stats: BuildStats) -> bool:
    """For a build that only writes files (`feedpub build`) and whose cached records did not
    change: keep every output of the last render when they stand (see
    `rerender.outputs_standing`), and say so. Choosing the feeds and checking each one's
    digest would only find them unchanged (50-60 ms at 100k records)."""
    writer = options.writer
    if options.site or not options.render or writer is None:
        return False
    standing = outputs_standing(config, cache, writer.folder)
    if standing is None:
        return False
    paths, stats.feeds = standing
    for path in paths:
        writer.keep(path)
    return True


def _may_be_damage(error: Exception, cache: RecordCache, stats: BuildStats) -> bool:
    """True when `error` may come from a damaged cache. Not a build's own errors, nor a file
    name SQLite cannot hold, nor a full disk or an I/O error (the cache cannot be used
    now, and the build goes on without it); but a build finding nothing
    to publish in a cache it did not just make, though some record it counts was neither
    skipped, unpublished nor held (rows gone from an index whose pages were swapped on disk,
    winner flags lost), is done again from an empty cache before it fails. A folder that
    has nothing to publish keeps its cache: each build would read every record again."""
    if isinstance(error, NothingToPublish):
        accounted = stats.skipped + stats.unpublished + stats.held
        return not cache.rebuilt and stats.records > accounted
    return not isinstance(error, (FeedpubError, UnicodeEncodeError)) and not is_trouble_around(
        error
    )


def _full_site(
    config: Config, cache: RecordCache, choices: Choices, known: KnownArticles | None
) -> Site:
    """The site with every feed's articles; those in `known` are not decoded again, and
    `known` then holds this site's articles."""
    refs = [ref for choice in choices for ref in choice.entries]
    known = {} if known is None else known
    keyed = {(ref.file, ref.seq): (ref.file, ref.seq, ref.digest, ref.source) for ref in refs}
    fetched = fetch_articles(
        cache, (ref for ref in refs if keyed[(ref.file, ref.seq)] not in known)
    )
    articles = {at: known.get(key) or fetched[at] for at, key in keyed.items()}
    known.clear()
    known.update((key, articles[at]) for at, key in keyed.items())
    feeds = [
        feed_of(
            config, choice.info, [articles[(r.file, r.seq)] for r in choice.entries], choice.total
        )
        for choice in choices
    ]
    return site_of(config, feeds)
