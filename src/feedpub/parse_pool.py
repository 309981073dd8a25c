"""Read and convert record files: in this process, or on every core for a big batch.

Workers send back articles already encoded for the cache (`StoredFile`), so the
parent process only stores them and never holds every article at once.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from feedpub.cache import StoredFile, stored_file
from feedpub.codec import ArticleRow, encode_article, encode_reports, encode_withdrawal
from feedpub.config import Limits
from feedpub.convert import convert_record
from feedpub.dumps import (
    DUMP_SUFFIXES,
    DumpPart,
    is_split_dump,
    merge_part_reports,
    planned_parts,
    read_dump_part,
)
from feedpub.model import Article, Withdrawal
from feedpub.records import FileResult, read_record_file
from feedpub.report import Report

if TYPE_CHECKING:  # (imported when a pool is made: a rebuild of a few files needs none)
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor
from feedpub.stats import Pending
from feedpub.yaml_loader import WARM_AFTER, warm_up

POOL_THRESHOLD = 2_000
"""More changed files than this are converted by a process pool (one worker per core)."""
CHUNK_FILES = 250
T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class FileOutcome:
    """What one record file contributed: articles, reports and counts."""

    articles: list[Article] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    records: int = 0
    unpublished: int = 0
    pending: Pending = field(default_factory=Pending)  # see `convert_record`
    withdrawals: list[Withdrawal] = field(default_factory=list)  # of unpublished records

    def rows(self, display: str) -> list[ArticleRow]:
        """The articles, then the withdrawals, as the cache stores them."""
        rows = [encode_article(article, display) for article in self.articles]
        rows += [encode_withdrawal(withdrawal, display) for withdrawal in self.withdrawals]
        return rows


class FileJobs(NamedTuple):
    """Files to convert: their names in the records folder, shown in reports under `base`;
    `parts` gives the parts of each big JSON Lines dump, read one at a time (see `plan_parts`).

    Names only (no path or display name per file): 100k files are listed quickly and sent
    to the workers cheaply, which join the rest.
    """

    folder: str
    base: str
    names: list[str]
    parts: dict[str, tuple[DumpPart, ...]]
    now: datetime | None = None  # the build's time: later records are held (None: none are)


def file_jobs(
    folder: str,
    base: str,
    files: list[tuple[str, int]],
    limits: Limits,
    compare: Callable[[str], list[DumpPart]] | None = None,
    now: datetime | None = None,
) -> tuple[FileJobs, dict[str, list[DumpPart]]]:
    """The jobs of `files` (name, size), with the parts of each big JSON Lines dump; and, for
    each dump that `compare` knows parts of, those parts that it still holds (`compare`
    gives the parts read before, with digests; only the others are read again)."""
    parts: dict[str, tuple[DumpPart, ...]] = {}
    kept: dict[str, list[DumpPart]] = {}
    for name, size in files:
        if not is_split_dump(name, size, limits):
            continue
        before = compare(name) if compare is not None else []
        planned = planned_parts(os.path.join(folder, name), size, limits, bool(before), folder)
        if not planned:  # read whole
            continue
        same = set(before).intersection(planned)
        parts[name] = tuple(part for part in planned if part not in same)
        if before:
            kept[name] = [part for part in before if part in same]
    return FileJobs(folder, base, [name for name, _size in files], parts, now), kept


class EncodedOutcome(NamedTuple):
    """A file's outcome in its stored form (a named tuple: it is pickled back from workers)."""

    stored: StoredFile
    reports: list[Report]
    reports_text: str | None  # the reports as the cache keeps them
    records: int
    unpublished: int
    part: DumpPart | None = None  # for a part of a dump: the part, with its digest
    held: int = 0  # see `Pending`
    due: float | None = None


def convert_file(
    path: str | os.PathLike[str],
    display: str,
    limits: Limits,
    now: datetime | None = None,
    root: str | os.PathLike[str] | None = None,
) -> FileOutcome:
    """Read and convert every record of one file (a big dump part by part); records dated
    after `now` are held. `root` is the records folder (see `read_record_file`)."""
    parts: list[DumpPart] = []
    if os.path.splitext(path)[1].lower() in DUMP_SUFFIXES:  # (a `stat` less for the others)
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0  # read whole, which reports why it cannot be read
        parts = planned_parts(path, size, limits, root=root)
    if not parts:
        return _convert(read_record_file(path, display, limits, root), limits, now)
    outcome = FileOutcome()
    for part in parts:
        converted = _convert(read_dump_part(path, display, part)[0], limits, now)
        outcome.articles += converted.articles
        outcome.withdrawals += converted.withdrawals
        outcome.reports = merge_part_reports(outcome.reports, converted.reports, display)
        outcome.records += converted.records
        outcome.unpublished += converted.unpublished
        outcome.pending.add(converted.pending.held, converted.pending.due)
    return outcome


def _convert(result: FileResult, limits: Limits, now: datetime | None) -> FileOutcome:
    outcome = FileOutcome()
    outcome.reports.extend(result.reports)
    for record in result.records:
        outcome.records += 1
        conversion = convert_record(record, limits, now)
        outcome.reports.extend(conversion.reports)
        if conversion.unpublished:
            outcome.unpublished += 1
        due = conversion.due
        outcome.pending.add(conversion.held, None if due is None else due.timestamp())
        if conversion.article is not None:
            outcome.articles.append(conversion.article)
        if conversion.withdrawal is not None:
            outcome.withdrawals.append(conversion.withdrawal)
    return outcome


def encode_file(
    path: str,
    name: str,
    display: str,
    limits: Limits,
    now: datetime | None = None,
    root: str | None = None,
) -> EncodedOutcome:
    """Convert one file of records folder `root` and encode its articles for the cache
    (under `name`)."""
    outcome = convert_file(path, display, limits, now, root)
    rows = outcome.rows(display)
    return EncodedOutcome(
        stored_file(name, rows),
        outcome.reports,
        encode_reports(outcome.reports, display),
        outcome.records,
        outcome.unpublished,
        held=outcome.pending.held,
        due=outcome.pending.due,
    )


def encode_part(
    path: str,
    name: str,
    display: str,
    part: DumpPart,
    limits: Limits,
    now: datetime | None = None,
) -> EncodedOutcome:
    """Convert one part of a dump and encode its articles, keyed from the number of the part's
    first line or item on: a part has no more articles than those, so no two parts' keys meet."""
    result, digest = read_dump_part(path, display, part)
    outcome = _convert(result, limits, now)
    rows = outcome.rows(display)
    return EncodedOutcome(
        stored_file(name, rows, first_seq=part.first - 1),
        outcome.reports,
        encode_reports(outcome.reports, display),  # joined with the other parts' when stored
        outcome.records,
        outcome.unpublished,
        part=part._replace(digest=digest),
        held=outcome.pending.held,
        due=outcome.pending.due,
    )


def _encode_each(jobs: FileJobs, limits: Limits) -> Iterator[EncodedOutcome]:
    folder, base = jobs.folder, jobs.base
    for name in jobs.names:
        path, display = os.path.join(folder, name), f"{base}/{name}"
        parts = jobs.parts.get(name)
        if parts is None:
            yield encode_file(path, name, display, limits, jobs.now, folder)
        else:
            for part in parts:
                yield encode_part(path, name, display, part, limits, jobs.now)


def _encode_chunk(jobs: FileJobs, limits: Limits) -> bytes:
    """A pool task: the outcomes of `jobs` as plain tuples in `marshal`'s form.

    The executor would pickle the named tuples and reports back, which costs more than the
    conversion's JSON: 14 us a record to pickle and 20 to unpickle (in the parent), against
    4 and 6 with marshal (which carries only built-in types; fine between this process's
    own workers, never for anything stored or read from outside).
    """
    warm_up()  # a worker reads hundreds of files or more: the YAML fast path from the first
    return marshal.dumps([_plain(outcome) for outcome in _encode_each(jobs, limits)])


def _plain(outcome: EncodedOutcome) -> tuple[Any, ...]:
    reports = [(r.source, r.field, r.reason, r.skipped) for r in outcome.reports]
    part = None if outcome.part is None else tuple(outcome.part)
    return (
        tuple(outcome.stored), reports, outcome.reports_text, outcome.records,
        outcome.unpublished, part, outcome.held, outcome.due,
    )  # fmt: skip


def _from_plain(plain: tuple[Any, ...]) -> EncodedOutcome:
    stored, reports, reports_text, records, unpublished, part, held, due = plain
    return EncodedOutcome(
        StoredFile(*stored),
        [Report(*report) for report in reports],
        reports_text,
        records,
        unpublished,
        None if part is None else DumpPart(*part),
        held,
        due,
    )


def start_pool() -> ProcessPoolExecutor | None:
    """A pool whose workers start now (None on one core), for `encode_files` to use later.

    Forked while this process is still small, the workers do not each map the heap it
    builds afterwards (the scan of a whole big folder and its jobs): at 100k files the
    first build's process tree then peaks at 170 MB PSS instead of 211 (RSS summed over
    the processes: 274 MB instead of 304), in the same time.
    """
    workers = os.cpu_count() or 1
    if workers < 2:
        return None
    pool = _pool(workers)
    try:
        with _interrupts_held():
            started = pool.submit(int)  # a pool forks its workers at the first task
        started.result()
    except (BrokenExecutor, OSError):  # no workers now: `encode_files` starts its own
        pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool


def encode_files(
    jobs: FileJobs,
    limits: Limits,
    threshold: int = POOL_THRESHOLD,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[EncodedOutcome]:
    """Every job's outcome, in order (one per part of a dump read in parts); a process pool
    works when there are over `threshold` files, or records of dumps (`pool` if given, which
    the caller shuts down; else a pool of one worker per core)."""
    workers = os.cpu_count() or 1
    coming = estimated_records(jobs)
    if coming <= threshold or workers < 2:
        if coming > WARM_AFTER:
            warm_up()  # the YAML fast path pays for itself from the first document on
        yield from _encode_each(jobs, limits)
        return
    chunks = _chunks(jobs)
    done = 0
    try:
        with _given_or_own(pool, workers) as running:
            with _interrupts_held():  # (`map` submits every task, starting the workers)
                results = running.map(_encode_chunk, chunks, _repeat(limits, len(chunks)))
            for packed in results:
                done += 1
                yield from map(_from_plain, marshal.loads(packed))
    except BrokenExecutor:
        # A worker died (killed, or out of memory): finish the remaining files here.
        for chunk in chunks[done:]:
            yield from _encode_each(chunk, limits)


DUMP_BYTES_PER_RECORD = 2_048
"""About what a record of a JSON Lines dump takes, to weigh a dump's parts against files."""


def estimated_records(jobs: FileJobs) -> int:
    """About how many records the jobs hold: one a file, a dump's by its size."""
    dump_bytes = sum(part.stop - part.start for parts in jobs.parts.values() for part in parts)
    return len(jobs.names) - len(jobs.parts) + dump_bytes // DUMP_BYTES_PER_RECORD


def _chunks(jobs: FileJobs) -> list[FileJobs]:
    """The jobs as pool tasks, in order: `CHUNK_FILES` files each, or one part of a dump."""
    chunks: list[FileJobs] = []
    files: list[str] = []
    for name in jobs.names:
        parts = jobs.parts.get(name)
        if parts is None:
            files.append(name)
            if len(files) < CHUNK_FILES:
                continue
        if files:
            chunks.append(jobs._replace(names=files, parts={}))
            files = []
        for part in parts or ():
            chunks.append(jobs._replace(names=[name], parts={name: (part,)}))
    if files:
        chunks.append(jobs._replace(names=files, parts={}))
    return chunks


class Submitted(Generic[R]):
    """Work that `submit_in_pool` started: `collect` waits for its results, `cancel` drops
    its chunks that no worker has started (the caller no longer wants them)."""

    def __init__(self, here: Callable[[], list[R]], chunks: list[Future[list[R]]]) -> None:
        self.here = here  # the work done in this process
        self.chunks = chunks  # on the pool's workers, in order (none: done here, when collected)

    def collect(self) -> list[R]:
        """The results, in order."""
        if not self.chunks:
            return self.here()
        try:
            return [result for chunk in self.chunks for result in chunk.result()]
        except BrokenExecutor:  # a worker died: do them all here
            return self.here()
        finally:
            self.cancel()  # (after an error or Ctrl-C: the chunks not started yet are not wanted)

    def cancel(self) -> None:
        """Drop the chunks not started yet."""
        for chunk in self.chunks:
            chunk.cancel()


def submit_in_pool(
    function: Callable[[T], R],
    items: list[T],
    threshold: int,
    pool: ProcessPoolExecutor | None,
) -> Submitted[R]:
    """`[function(item) for item in items]` on `pool`'s workers (in chunks), started now and
    collected later: the caller works on while the workers do (here, when collected, without
    `pool` or with `threshold` items or fewer). A caller that gives up (an error, Ctrl-C)
    cancels what it did not collect: the workers would render it all, and the pool's owner
    wait for them, before the build could stop."""
    workers = os.cpu_count() or 1
    here = functools.partial(_each, function, items)
    if pool is None or len(items) <= threshold or workers < 2:
        return Submitted(here, [])
    size = max(1, len(items) // (4 * workers))
    chunks: list[Future[list[R]]] = []
    try:
        with _interrupts_held():
            for start in range(0, len(items), size):
                chunks.append(pool.submit(_each, function, items[start : start + size]))
    except BrokenExecutor:
        return Submitted(here, [])
    except BaseException:  # a Ctrl-C held back while submitting comes as the block ends
        Submitted(here, chunks).cancel()
        raise
    return Submitted(here, chunks)


def _each(function: Callable[[T], R], items: list[T]) -> list[R]:
    """A pool task: `function` of each item."""
    return [function(item) for item in items]


@contextlib.contextmanager
def pool_for(
    count: int, threshold: int, pool: ProcessPoolExecutor | None = None
) -> Iterator[ProcessPoolExecutor | None]:
    """For work on `count` items done in several `submit_in_pool` calls: `pool` if given, else
    a pool of every core when there are over `threshold` items (shut down after the
    block), else None (the work is done here)."""
    workers = os.cpu_count() or 1
    if pool is not None or count <= threshold or workers < 2:
        yield pool
        return
    with _pool(workers) as own:
        yield own


def _given_or_own(
    pool: ProcessPoolExecutor | None, workers: int
) -> contextlib.AbstractContextManager[ProcessPoolExecutor]:
    """`pool`, left running for its owner; else a pool of `workers`, shut down after use."""
    return contextlib.nullcontext(pool) if pool is not None else _pool(workers)


def _pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers ignore Ctrl-C and die with the process that made them (see
    `_start_worker`)."""
    from concurrent.futures import ProcessPoolExecutor

    context = _context()
    parent = os.getpid() if context.get_start_method() == "fork" else None
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(parent,)
    )


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C held back (blocked, not lost) in this thread while it may start pool workers.

    A worker starts with its parent's signal mask (a fork server too, and so its own
    workers), so Ctrl-C cannot reach one before `_start_worker` has made it ignore it:
    a worker interrupted while it started printed a traceback. The parent gets a Ctrl-C
    that came meanwhile once the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _start_worker(parent: int | None) -> None:
    """Ignore Ctrl-C (a terminal sends it to the whole process group, and the parent alone
    decides what it means: stop now, or after this build), and die when the parent does.

    A forked worker holds the files its parent had open, the cache's and output's locks
    among them: left running after its parent was killed (`kill -9`, the OOM killer), it
    would keep every later build waiting for those locks. `parent` is the pid the worker
    was forked from (None when a fork server made it: that server ends with the parent).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see `_interrupts_held`
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
    except (OSError, AttributeError):
        prctl = None
    if prctl is not None and prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
        if parent is not None and os.getppid() != parent:
            os._exit(1)  # the parent died before the signal was asked for
        return
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    """Where there is no parent-death signal: look each second whether the parent is gone."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _context() -> multiprocessing.context.BaseContext:
    """fork is quickest; a process with threads forks a clean server process instead."""
    import multiprocessing

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    # What every worker uses, loaded once in the server process (a one-shot build imports
    # the Markdown parser and the renderers only when it needs them).
    context.set_forkserver_preload(
        ["feedpub.parse_pool", "cmarkgfm.cmark", "feedpub.render.rss", "feedpub.render.atom"]
    )
    return context


def _repeat(limits: Limits, count: int) -> Iterable[Limits]:
    return (limits for _ in range(count))
