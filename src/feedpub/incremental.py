"""Bring the record cache up to date: convert only new and changed files, drop removed ones.

Memory stays bounded: converted articles go straight into SQLite, and only the ones a
feed shows are loaded back (`fetch_articles`). Reports and counts come out exactly as
a build without cache gives them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from feedpub import scan_blocks
from feedpub.cache import RecordCache, StoredFile, StoredPart
from feedpub.cache_select import update_winners
from feedpub.codec import (
    ArticleRef,
    CacheCorrupt,
    RefDecoder,
    decode_article,
    decode_reports,
    encode_reports,
)
from feedpub.config import Config
from feedpub.dumps import DumpPart, merge_part_reports
from feedpub.model import Article
from feedpub.parse_pool import (
    POOL_THRESHOLD,
    EncodedOutcome,
    encode_files,
    estimated_records,
    file_jobs,
    start_pool,
)
from feedpub.records import RACY_NS, Scan, scan_folder
from feedpub.report import Report
from feedpub.scan_blocks import Key
from feedpub.stats import Pending
from feedpub.timestamps import build_time

if TYPE_CHECKING:  # (imported only where a pool is made)
    from concurrent.futures import ProcessPoolExecutor

STORE_BATCH = 500
"""Articles stored at a time (rows of a file, or of a dump's part, are held until then)."""
STEP_FILES = 10_000
"""A bulk store (a first build) commits after each this many files: a build stopped midway
(Ctrl-C, kill -9, the machine going down) leaves them stored, and the next goes on from there."""
BULK_FILES = 2_000
BULK_SHARE = 20
"""More than `BULK_FILES` files to convert, and more than a `BULK_SHARE`th of those cached,
are stored in bulk (without the secondary indexes, every winner redone after): at 100k
cached files, 20,000 touched took 7.1 s against 10.3 s file by file, and 5,000
about 4.4 s either way."""
TARGETED_FILES = 500
"""A scan that names at most this many changed files is compared with their entries only."""


@dataclass(slots=True)
class Loaded:
    """The cached records' reports and counts."""

    reports: list[Report]
    files: int
    records: int
    unpublished: int
    converted: int
    pending: Pending  # records held for a later publication time (see `convert_record`)
    written: bool  # whether the cached records changed (else the feeds are as last chosen)


def load_cached(
    config: Config,
    cache: RecordCache,
    base: str,
    threshold: int = POOL_THRESHOLD,
    progress: bool = False,
    scan: Scan | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Loaded:
    """Bring the cache up to date with the records folder; every file's reports and counts.

    `scan` is a scan of the folder already made (by a server's poll), else one is made now;
    `pool` converts the files when there are many (see `early_pool`), else a pool of its own.
    """

    started_ns, scanned, only = scan_folder(config.records) if scan is None else scan
    unfinished = cache.bulk_unfinished()  # a first build was stopped: the next ends it
    blocks = None if unfinished else scan_blocks.usable(cache.blocks())
    stale_blocks: list[int] = []  # the blocks of the file list where files may differ
    targeted = (
        only is not None and len(only) <= TARGETED_FILES and not (cache.rebuilt or unfinished)
    )
    if targeted:
        # Only these files can have changed since the scan the cache was brought up to
        # (which may have been a build without the cache: every name is checked).
        _check_names(scanned)  # a name SQLite cannot hold: no cache for this folder
        wanted = sorted(only or ())
        subset = [entry for entry in _entries(scanned, wanted) if entry is not None]
        cached = cache.keys(wanted)
        if blocks is not None:
            stale_blocks = scan_blocks.blocks_containing(blocks, wanted)
    elif blocks is not None:  # only the blocks whose digest changed are read back
        cuts, stale_blocks = scan_blocks.compare(scanned, blocks)
        subset = [entry for k in stale_blocks for entry in scanned[cuts[k] : cuts[k + 1]]]
        _check_names(subset)  # (the other blocks' names are stored already)
        cached = cache.keys_in(scan_blocks.name_ranges(blocks, stale_blocks))
    else:
        _check_names(scanned)
        subset, cached = scanned, cache.keys()
    changed, removed, known = _differences(subset, cached)
    before: dict[str, list[StoredPart]] = {}  # the cached parts of changed dumps

    def cached_parts(name: str) -> list[DumpPart]:
        before[name] = cache.parts(name) if name in known else []
        return [stored.part for stored in before[name]]

    sizes = [(name, size) for name, size, _m in changed]
    now = None if config.publish_future else build_time(started_ns)
    jobs, kept = file_jobs(str(config.records), base, sizes, config.limits, cached_parts, now)
    pending = Pending()
    stored_racy: list[str] = []  # files stored with mtime -1: read again by the next build
    fresh: dict[str, list[Report]] = {}
    ids: set[str] = set()  # whose winner may have changed
    coming = estimated_records(jobs)  # a dump weighs by its parts to read, not as one file
    bulk = unfinished or (coming > BULK_FILES and coming > cache.totals()[0] // BULK_SHARE)
    written = bool(changed or removed or bulk)
    with cache.transaction():
        if written:
            cache.forget_rendered()
        if bulk:  # many files (a first build): indexes are quicker built at the end than kept up
            cache.begin_bulk()
            cache.store_blocks([], [])  # stopped midway, the next build reads every entry
            blocks = None
            cache.drop_indexes()
            # Without them, one file's `forget` reads every stored body: the removed files
            # and the changed ones (but dumps with parts kept) go at once, one pass a table.
            cache.forget_files(
                removed + [n for n, _s, _m in changed if n in known and not kept.get(n)]
            )
        else:
            for name in removed:
                ids.update(cache.forget(name))
        converted = encode_files(jobs, config.limits, threshold, pool)
        total = len(changed) + sum(len(parts) - 1 for parts in jobs.parts.values())
        outcomes = iter(_with_progress(converted, total, progress))
        batches = _Batches(cache, None if bulk else ids)  # (bulk: every winner is redone,
        # its rows are stored as winners: see cache_select._BULK)
        for done, (name, size, mtime_ns) in enumerate(changed, 1):
            display = f"{base}/{name}"
            still = kept.get(name, [])  # parts of a dump read before and unchanged
            if still:
                stale = [stored.part for stored in before[name] if stored.part not in still]
                ids.update(cache.forget_parts(name, stale))
            elif name in known and not bulk:
                ids.update(cache.forget(name))
            waiting = Pending()  # in this file
            if name in jobs.parts:  # a dump read in parts
                unchanged = [stored for stored in before[name] if stored.part in still]
                parts = _store_parts(cache, batches, outcomes, name, jobs.parts[name], waiting)
                records, unpublished, reports = _joined(unchanged + parts, display)
                reports_text = encode_reports(reports, display)
            else:  # a whole file: the usual case
                outcome = next(outcomes)
                batches.add_rows(outcome.stored)
                records, unpublished = outcome.records, outcome.unpublished
                reports, reports_text = outcome.reports, outcome.reports_text
                waiting.add(outcome.held, outcome.due)
            pending.add(waiting.held, waiting.due)
            # A file holding a record that is not due yet is read again by every build.
            racy = mtime_ns >= started_ns - RACY_NS or waiting.due is not None
            if racy:
                stored_racy.append(name)
            batches.add_entry(
                (name, size, -1 if racy else mtime_ns, records, unpublished, reports_text)
            )
            if reports:
                fresh[name] = reports
            if bulk and done % STEP_FILES == 0:  # every file so far is whole in the cache
                batches.flush()
                cache.commit_step()
        batches.flush()
        update_winners(cache, ids, everything=bulk)
        if bulk:
            cache.create_indexes()
            cache.end_bulk()
        _store_blocks(cache, blocks, stale_blocks, targeted, written, scanned, stored_racy)
    records, unpublished = cache.totals()
    loaded = Loaded([], len(scanned), records, unpublished, len(changed), pending, written)
    reported = {name: text for name, text in cache.reports() if name not in fresh}
    for name in sorted(reported.keys() | fresh.keys()):
        text = reported.get(name)
        loaded.reports += fresh[name] if text is None else decode_reports(text, f"{base}/{name}")
    return loaded


def _store_parts(
    cache: RecordCache,
    batches: _Batches,
    outcomes: Iterator[EncodedOutcome],
    name: str,
    planned: tuple[DumpPart, ...],
    waiting: Pending,
) -> list[StoredPart]:
    """Store the `planned` parts of dump `name` as their outcomes come (rows in batches,
    entries at once); the parts as stored. What they hold for later goes into `waiting`."""
    parts: list[StoredPart] = []
    for part in planned:
        outcome = next(outcomes)
        batches.add_rows(outcome.stored)
        read = outcome.part or part  # (with the digest of what was read)
        waiting.add(outcome.held, outcome.due)
        if outcome.due is not None:
            read = read._replace(digest=b"")  # matches no part: read again by every build
        parts.append(StoredPart(read, outcome.records, outcome.unpublished, outcome.reports_text))
    cache.store_parts(name, parts)
    return parts


def _joined(parts: list[StoredPart], display: str) -> tuple[int, int, list[Report]]:
    """A dump's records, unpublished records and reports: its parts' (in file order, a report
    on the whole file once)."""
    reports: list[Report] = []
    for stored in sorted(parts, key=lambda stored: stored.part.start):
        reports = merge_part_reports(reports, decode_reports(stored.reports, display), display)
    records = sum(stored.records for stored in parts)
    return records, sum(stored.unpublished for stored in parts), reports


class _Batches:
    """Files' entries and articles, stored `STORE_BATCH` articles at a time; the ids of the
    articles go into `ids`; None for a bulk store (stored as winners, all redone after)."""

    def __init__(self, cache: RecordCache, ids: set[str] | None) -> None:
        self.cache = cache
        self.ids = ids
        self.entries: list[tuple[str, int, int, int, int, str | None]] = []
        self.files: list[StoredFile] = []
        self.held = 0

    def add_rows(self, stored: StoredFile) -> None:
        self.files.append(stored)
        if self.ids is not None:
            self.ids.update(row[2] for row in stored.articles)
        self.held += len(stored.articles)
        if self.held >= STORE_BATCH:
            self.flush()

    def add_entry(self, entry: tuple[str, int, int, int, int, str | None]) -> None:
        self.entries.append(entry)

    def flush(self) -> None:
        self.cache.store(self.entries, self.files, winners=self.ids is None)
        self.entries, self.files, self.held = [], [], 0


def early_pool(
    config: Config, cache: RecordCache, scan: Scan | None, threshold: int = POOL_THRESHOLD
) -> contextlib.AbstractContextManager[ProcessPoolExecutor | None]:
    """For a first build of a big folder, a worker pool started now, before the folder is
    scanned (see `start_pool`), for converting and then rendering; else nothing."""
    if scan is not None or not cache.rebuilt or _top_level_count(config.records) <= threshold:
        return contextlib.nullcontext()
    pool = start_pool()
    return contextlib.nullcontext() if pool is None else pool


def _top_level_count(folder: Path) -> int:
    try:
        return len(os.listdir(folder))
    except OSError:
        return 0


def _entries(scanned: list[Key], names: list[str]) -> list[Key | None]:
    """The entry of each name in the sorted `scanned` (None where it has none)."""
    found: list[Key | None] = []
    for name in names:
        at = bisect_left(scanned, name, key=itemgetter(0))
        found.append(scanned[at] if at < len(scanned) and scanned[at][0] == name else None)
    return found


def _differences(scanned: list[Key], cached: list[Key]) -> tuple[list[Key], list[str], set[str]]:
    """Files new or changed, names removed, and which changed files the cache has a copy of.

    Both lists are sorted by name (SQLite orders UTF-8 text by code point, as Python does).
    A negative cached mtime marks an entry stored racy: it never matches, so it is read again.
    Equal runs at both ends are skipped a block at a time, so one change costs little.
    """
    start = _common_prefix(scanned, cached)
    if start == len(scanned) == len(cached):
        return [], [], set()
    end = _common_prefix(scanned[::-1], cached[::-1], limit=min(len(scanned), len(cached)) - start)
    changed: list[Key] = []
    removed: list[str] = []
    known: set[str] = set()
    old = iter(cached[start : len(cached) - end])
    previous = next(old, None)
    for item in scanned[start : len(scanned) - end]:
        name = item[0]
        while previous is not None and previous[0] < name:
            removed.append(previous[0])
            previous = next(old, None)
        if previous is not None and previous[0] == name:
            if previous != item:
                changed.append(item)
                known.add(name)
            previous = next(old, None)
        else:
            changed.append(item)
    while previous is not None:
        removed.append(previous[0])
        previous = next(old, None)
    return changed, removed, known


def _store_blocks(
    cache: RecordCache,
    blocks: scan_blocks.Blocks | None,
    stale: list[int],
    targeted: bool,
    written: bool,
    scanned: list[Key],
    racy: list[str],
) -> None:
    """Bring the blocks of the file list up to date with the entries just stored.

    After a full comparison every entry is the scan's, or was just stored (`racy` ones with
    mtime -1). A build of named files only did not read the others again, and an entry
    stored racy by an earlier build may lie in their blocks: those are digested from the
    entries as stored, and without blocks to update none are made.
    """
    if targeted:
        if blocks is not None and written:
            cache.store_blocks(*scan_blocks.redigested(blocks, stale, cache.keys_in))
    elif written or blocks is None:
        cache.store_blocks(*scan_blocks.updated(_as_stored(scanned, racy), blocks, stale))


def _as_stored(scanned: list[Key], racy: list[str]) -> list[Key]:
    """The sorted `scanned` as the cache now stores it: the `racy` files with mtime -1."""
    if not racy:
        return scanned
    stored = list(scanned)
    for name in racy:
        at = bisect_left(stored, name, key=itemgetter(0))
        stored[at] = (name, stored[at][1], -1)
    return stored


def _check_names(scanned: list[Key]) -> None:
    """UnicodeEncodeError, about the name, when a file name is not UTF-8 (SQLite cannot
    hold it: no cache)."""
    names = "/".join(map(itemgetter(0), scanned))  # one C-speed check for the usual case
    if names.isascii():
        return
    try:
        names.encode("utf-8")
    except UnicodeEncodeError:
        for name, _size, _mtime in scanned:
            name.encode("utf-8")  # raises for the first name that is not UTF-8


def _common_prefix(first: list[Key], second: list[Key], limit: int | None = None) -> int:
    """How many leading items the lists share (at most `limit`)."""
    limit = min(len(first), len(second)) if limit is None else limit
    done, block = 0, 1024
    while done < limit:
        size = min(block, limit - done)
        if first[done : done + size] == second[done : done + size]:
            done += size
        elif size == 1:
            break
        else:
            block = max(1, size // 8)
    return done


def _with_progress(
    outcomes: Iterator[EncodedOutcome], total: int, progress: bool
) -> Iterable[EncodedOutcome]:
    if not progress or total < 200:
        return outcomes
    from tqdm import tqdm

    bar: Iterable[EncodedOutcome] = tqdm(
        outcomes, total=total, desc="records", unit="file", file=sys.stderr, leave=False
    )
    return bar


def index_refs(cache: RecordCache, base: str) -> list[ArticleRef]:
    """Every cached article's light entry, in file and record order (for in-memory selection)."""
    decode = RefDecoder(base, rows_met_again=False)
    return [decode(row) for row in cache.index_rows()]


def fetch_articles(
    cache: RecordCache, refs: Iterable[ArticleRef]
) -> dict[tuple[str, int], Article]:
    """The full articles of `refs`, by (file, seq)."""
    wanted = {(ref.file, ref.seq): ref for ref in refs}
    bodies = cache.bodies(sorted(wanted))
    return {key: stored_article(bodies[key], wanted[key]) for key in wanted}


def stored_article(data: object, ref: ArticleRef) -> Article:
    """The article stored for `ref`: CacheCorrupt unless its JSON is what `ref`'s digest
    covers and it has `ref`'s id, times and topics (a row or body altered on disk)."""
    if type(data) is not str or hashlib.sha1(data.encode("utf-8")).digest() != ref.digest:
        raise CacheCorrupt(f"article {ref.file} #{ref.seq} does not match its digest")
    article = decode_article(data, ref.source)
    stored = (article.id, article.published, article.updated, article.topics)
    if stored != (ref.id, ref.published, ref.updated, ref.topics):
        raise CacheCorrupt(f"article {ref.file} #{ref.seq} does not match its index entry")
    return article
