"""Render only the outputs whose inputs changed; reuse the others' bytes from the output folder.

Each output's digest covers everything it is rendered from (the renderer code, the
feed's metadata and the digest of each entry); the cache keeps the digest and the
sha256 of the bytes written. An output whose digest is unchanged and whose file
still holds those exact bytes is not rendered again.

Whether the file still holds them is found by reading it back, once: the cache then keeps
its `stat` stamp (device, inode, size, mtime and ctime), and while the file's stamp is
unchanged a build that only writes files trusts it without reading it. Any write to the
file, its replacement, even a `touch` back to the old mtime, gives it a new ctime, which
no program can set back.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import feedpub
from feedpub.cache import RecordCache, StoredOutput
from feedpub.codec import ArticleRef
from feedpub.config import Config
from feedpub.errors import BuildError
from feedpub.incremental import fetch_articles, stored_article
from feedpub.model import Article, Feed, Site
from feedpub.parse_pool import Submitted, pool_for, submit_in_pool
from feedpub.publish.files import OutputFolder, OutputWriter
from feedpub.records import RACY_NS
from feedpub.render import FEED_FORMATS, INDEX_PATH, OPML_PATH, render_feed
from feedpub.select import EPOCH, FeedChoice, feed_of, site_of

if TYPE_CHECKING:  # (imported only where a pool is made)
    from concurrent.futures import ProcessPoolExecutor

Choices = list[FeedChoice[ArticleRef]]
POOL_FEEDS = 24
"""More feeds to render than this are rendered on every core (a first build)."""


@functools.cache
def renderer_fingerprint() -> bytes:
    """The code and library versions the outputs are rendered with."""
    digest = hashlib.sha256(f"feedpub {feedpub.__version__}\n".encode())
    package = Path(feedpub.__file__).parent
    for path in sorted(package.glob("render/*.py")):
        with contextlib.suppress(OSError):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in ("feedgen", "lxml"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{library}={metadata.version(library)}\n".encode())
    return digest.digest()


@dataclass(slots=True)
class Rendered:
    """Every output's bytes, Last-Modified time and (digest, sha256) for the cache."""

    outputs: dict[str, bytes] = field(default_factory=dict)
    modified: dict[str, datetime] = field(default_factory=dict)
    digests: dict[str, StoredOutput] = field(default_factory=dict)
    rendered: int = 0


def _updated(choice: FeedChoice[ArticleRef]) -> datetime:
    return max((ref.updated for ref in choice.entries), default=EPOCH)


def _feed_digest(config: Config, choice: FeedChoice[ArticleRef]) -> bytes:
    info = choice.info
    topic = (info.topic.key, info.topic.name, info.topic.slug) if info.topic else ("", "", "")
    parts = [
        info.slug, info.title, info.description, info.path_stem, *topic,
        _updated(choice).isoformat(), config.language, config.base_url, config.title,
        *config.websub.hubs,
    ]  # fmt: skip
    digest = hashlib.sha256(renderer_fingerprint())
    digest.update("\0".join(parts).encode("utf-8", "surrogatepass"))
    for ref in choice.entries:
        digest.update(ref.digest)
    return digest.digest()


def _site_digest(config: Config, choices: Choices, feed_digests: list[bytes]) -> bytes:
    digest = hashlib.sha256(renderer_fingerprint())
    head = "\0".join((config.title, config.description, config.base_url, config.language))
    digest.update(head.encode("utf-8", "surrogatepass"))
    for choice, feed_digest in zip(choices, feed_digests, strict=True):
        digest.update(feed_digest + str(choice.total).encode() + b"\0")
    return digest.digest()


def render_state(config: Config, feeds: int) -> str:
    """What a build's outputs are rendered from besides the cached records: the renderer
    code and libraries and the whole configuration; then the number of feeds."""
    digest = hashlib.sha256(renderer_fingerprint())
    digest.update(repr(config).encode("utf-8", "surrogatepass"))
    return f"{digest.hexdigest()} {feeds}"


def outputs_standing(
    config: Config, cache: RecordCache, out: OutputFolder
) -> tuple[list[str], int] | None:
    """The outputs of the last render and its number of feeds, when a build would make
    them again byte for byte: the cached records have not changed since (`cache` says so
    only then), the configuration and renderer are the same, and every output file still
    holds the bytes written. Else None: choose and render as usual. The stamps of the
    output files it had to read back are kept."""
    state = cache.rendered_state()
    _key, _, feeds = (state or "").partition(" ")
    if not (feeds.isascii() and feeds.isdigit()) or state != render_state(config, int(feeds)):
        return None
    outputs = cache.outputs()
    if not outputs:
        return None
    renewed: dict[str, str] = {}
    for path, kept in outputs.items():
        stamp = _still_right(out, path, kept)
        if stamp is None:
            return None
        if stamp != kept.stamp:
            renewed[path] = stamp
    if renewed:  # (read back now, their stamps spare the next build reading them)
        cache.renew_output_stamps(renewed)
    return list(outputs), int(feeds)


class _Reused(NamedTuple):
    """An output found unchanged: its bytes (None where only a writer is told of it) and
    what the cache keeps of it."""

    data: bytes | None
    stored: StoredOutput


def _reuse(
    out: OutputFolder,
    path: str,
    previous: StoredOutput | None,
    digest: bytes,
    want_bytes: bool,
) -> _Reused | None:
    """Output `path` as it is, when it was rendered from `digest` and its file still holds
    the bytes written; read back when `want_bytes`, else only when its stamp changed."""
    if previous is None or previous.digest != digest:
        return None
    if want_bytes:
        held = _read_back(out, path, previous.sha)
        return None if held is None else _Reused(held[0], previous._replace(stamp=held[1]))
    stamp = _still_right(out, path, previous)
    return None if stamp is None else _Reused(None, previous._replace(stamp=stamp))


def _still_right(out: OutputFolder, path: str, stored: StoredOutput) -> str | None:
    """The stamp to keep for output `path` when its file still holds the bytes `stored`
    names: found by `stat` alone while the file's stamp is the one kept, else by reading
    the file back. None when it holds other bytes or cannot be read."""
    if stored.stamp:
        try:
            info = os.stat(out.target(path))
        except (OSError, BuildError):
            return None
        if _stamp_text(info) == stored.stamp:
            return stored.stamp
    held = _read_back(out, path, stored.sha)
    return None if held is None else held[1]


def _read_back(out: OutputFolder, path: str, sha: bytes) -> tuple[bytes, str] | None:
    """The bytes of output `path` and its `output_stamp`, when the file holds the bytes whose
    SHA-256 is `sha`."""
    try:
        with open(out.target(path), "rb") as handle:
            data = handle.read()
            info = os.fstat(handle.fileno())  # (after the read: a write since shows as new)
    except (OSError, BuildError):
        return None
    if hashlib.sha256(data).digest() != sha:
        return None
    return data, output_stamp(info, time.time_ns())


def output_stamp(info: os.stat_result, now_ns: int) -> str:
    """The stamp to keep for an output file just read back and found right (`info`, its
    `stat` after the read), or "" while its ctime is within `RACY_NS` of now: a write in
    the same tick of the file system's clock could leave its whole stamp as it was."""
    if info.st_ctime_ns > now_ns - RACY_NS:
        return ""
    return _stamp_text(info)


def _stamp_text(info: os.stat_result) -> str:
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def _render(feed: Feed) -> dict[str, bytes]:
    return {f"{feed.info.path_stem}{suffix}": render_feed(feed, suffix) for suffix in FEED_FORMATS}


class _Stored(NamedTuple):
    """A feed to render from its entries as the cache stores them (JSON, checked and decoded
    where it is rendered: on a pool's worker, not in the parent)."""

    config: Config
    choice: FeedChoice[ArticleRef]
    bodies: list[str]


def _render_stored(feed: _Stored) -> dict[str, bytes]:
    refs = feed.choice.entries
    entries = [stored_article(body, ref) for body, ref in zip(feed.bodies, refs, strict=True)]
    return _render(feed_of(feed.config, feed.choice.info, entries, feed.choice.total))


RENDER_BATCH = 512
"""Feeds rendered at a time: with an `OutputWriter` to take the outputs, a build of thousands
of feeds holds two batches of them in memory (one rendered, one being written), not all."""


def render_changed(
    config: Config,
    cache: RecordCache,
    choices: Choices,
    pool: ProcessPoolExecutor | None = None,
    writer: OutputWriter | None = None,
) -> Rendered:
    """Every output of the site, rendering only those whose inputs changed (on `pool`'s
    workers when there are many, else on a pool of its own). With a `writer`, each output
    goes to it as it is made (an unchanged one is only named) and none is kept in
    `outputs`."""
    previous = cache.outputs()
    want_bytes = writer is None
    out = OutputFolder(config.out) if writer is None else writer.folder
    result = Rendered()
    keep = _Keeper(result, writer)
    digests = [_feed_digest(config, choice) for choice in choices]
    stale: list[int] = []
    for number, (choice, digest) in enumerate(zip(choices, digests, strict=True)):
        updated = _updated(choice)
        for suffix in FEED_FORMATS:  # every format's date, even when rendering stops early
            result.modified[f"{choice.info.path_stem}{suffix}"] = updated
        reused = {}
        for suffix in FEED_FORMATS:
            path = f"{choice.info.path_stem}{suffix}"
            found = _reuse(out, path, previous.get(path), digest, want_bytes)
            if found is None:
                stale.append(number)
                break
            reused[path] = found
        else:
            for path, found in reused.items():
                keep.reused(path, found)
    site_digest = _site_digest(config, choices, digests)
    site_outputs = {}
    for path in (OPML_PATH, INDEX_PATH):
        found = _reuse(out, path, previous.get(path), site_digest, want_bytes)
        if found is not None:
            site_outputs[path] = found
    if choices:
        site_updated = max(_updated(choice) for choice in choices)
        result.modified[OPML_PATH] = result.modified[INDEX_PATH] = site_updated
    with pool_for(len(stale), POOL_FEEDS, pool) as running:
        # The workers render a batch while this process reads the next one's entries and
        # writes the last one's files.
        waiting: list[tuple[list[int], Submitted[dict[str, bytes]]]] = []
        try:
            for start in range(0, len(stale), RENDER_BATCH):
                batch = stale[start : start + RENDER_BATCH]
                keys = sorted({(r.file, r.seq) for n in batch for r in choices[n].entries})
                bodies = cache.bodies(keys)
                feeds = [
                    _Stored(
                        config, choices[n], [bodies[(r.file, r.seq)] for r in choices[n].entries]
                    )
                    for n in batch
                ]
                del bodies
                waiting.append((batch, submit_in_pool(_render_stored, feeds, POOL_FEEDS, running)))
                if len(waiting) > 1:
                    _keep_batch(keep, digests, *waiting.pop(0))
            for batch, submitted in waiting:
                _keep_batch(keep, digests, batch, submitted)
        finally:  # a write error, a damaged entry, Ctrl-C: the batch still rendering is dropped
            for _batch, submitted in waiting:
                submitted.cancel()
    if len(site_outputs) < 2:
        from feedpub.render import html, opml

        full = html.in_full([(choice.info, choice.total) for choice in choices])
        counts = [html.HEADLINES_PER_TOPIC if whole else 0 for whole in full]
        wanted = [
            ref for c, count in zip(choices, counts, strict=True) for ref in c.entries[:count]
        ]
        site = _headline_site(config, choices, fetch_articles(cache, wanted), counts)
        keep.rendered(OPML_PATH, opml.render_opml(site), site_digest)
        keep.rendered(INDEX_PATH, html.render_index(site), site_digest)
    else:
        for path, found in site_outputs.items():
            keep.reused(path, found)
    return result


def _keep_batch(
    keep: _Keeper,
    digests: list[bytes],
    batch: list[int],
    submitted: Submitted[dict[str, bytes]],
) -> None:
    """Pass on a batch's rendered outputs, in order."""
    for number, rendered in zip(batch, submitted.collect(), strict=True):
        for path, data in rendered.items():
            keep.rendered(path, data, digests[number])


class _Keeper:
    """Puts each output into the result (its bytes, or into the writer) and its digests."""

    def __init__(self, result: Rendered, writer: OutputWriter | None) -> None:
        self.result = result
        self.writer = writer

    def reused(self, path: str, found: _Reused) -> None:
        self.result.digests[path] = found.stored
        if self.writer is not None:
            self.writer.keep(path)
        else:
            assert found.data is not None, path  # (read back whenever there is no writer)
            self.result.outputs[path] = found.data

    def rendered(self, path: str, data: bytes, digest: bytes) -> None:
        # (no stamp: the writer has yet to write it, and a file just written is racy)
        self.result.digests[path] = StoredOutput(digest, hashlib.sha256(data).digest(), "")
        self.result.rendered += 1
        if self.writer is None:
            self.result.outputs[path] = data
        else:
            self.writer.add(path, data, self.result.modified.get(path))


def _headline_site(
    config: Config, choices: Choices, articles: dict[tuple[str, int], Article], counts: list[int]
) -> Site:
    """The site with each feed holding only the entries the index page shows (`counts`)."""
    feeds = []
    for choice, count in zip(choices, counts, strict=True):
        entries = tuple(articles[(ref.file, ref.seq)] for ref in choice.entries[:count])
        feeds.append(
            Feed(
                info=choice.info,
                articles=entries,
                updated=_updated(choice),
                total=choice.total,
                language=config.language,
                base_url=config.base_url,
                site_title=config.title,
            )
        )
    return site_of(config, feeds)
