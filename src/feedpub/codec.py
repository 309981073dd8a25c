"""Articles and reports as JSON for the record cache (never pickle: the cache is not trusted).

Sources are stored relative to their file's display name, so a cache stays valid when
feedpub runs from another folder. Decoding checks every type: a cache that does not
decode exactly raises `CacheCorrupt`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from feedpub.model import Article, Image, Provider, Related, Withdrawal
from feedpub.report import Report
from feedpub.topics import topic_key

V = TypeVar("V")


class CacheCorrupt(Exception):
    """The record cache holds something feedpub did not write: rebuild it."""


class ArticleRow(NamedTuple):
    """One article as stored: the light index columns and the full JSON.

    A named tuple: pool workers send thousands of these, and tuples pickle cheaply.
    """

    id: str
    published: int
    updated: int
    source: str
    topics: str
    digest: bytes
    data: str
    keyed_topics: tuple[tuple[str, str], ...]  # (topic key, name) of each topic
    shared_keys: int  # 1 when two topic names are one topic (or one name comes twice)
    withdrawn: int = 0  # 1 for a `Withdrawal` (no topics, no body)


@dataclass(slots=True)
class ArticleRef:
    """The light index entry of a cached article: what selection needs, and its key."""

    id: str
    published: datetime
    updated: datetime
    source: str
    topics: tuple[str, ...]
    file: str
    seq: int
    digest: bytes
    withdrawn: bool = False


def _suffix(source: str, display: str) -> str:
    # "\0" marks a source that does not start with its file's name (kept whole).
    return source[len(display) :] if source.startswith(display) else "\0" + source


def _source(suffix: str, display: str) -> str:
    return suffix[1:] if suffix.startswith("\0") else display + suffix


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def moment(stamp: Any) -> datetime:
    """A stored timestamp as the aware UTC datetime the converter made."""
    if type(stamp) is not int:
        raise CacheCorrupt(f"bad timestamp {stamp!r:.40}")
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise CacheCorrupt(f"bad timestamp {stamp}") from exc


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one, reused: cheaper


def encode_article(article: Article, display: str) -> ArticleRow:
    """The stored form of `article`; the digest covers everything a feed shows of it."""
    provider = [article.provider.name, article.provider.url] if article.provider else None
    published, updated = _stamp(article.published), _stamp(article.updated)
    data = _JSON.encode(
        [
            article.id,
            article.url,
            article.title,
            article.summary,
            article.content_html,
            published,
            updated,
            provider,
            article.topics,
            article.categories,
            [
                [i.url, i.mime_type, i.width, i.height, i.title, i.attribution]
                for i in article.images
            ],
            [[r.url, r.title, r.provider] for r in article.related],
        ]
    )
    keyed = tuple((topic_key(name), name) for name in article.topics)
    keys = {key for key, _ in keyed}
    return ArticleRow(
        id=article.id,
        published=published,
        updated=updated,
        source=_suffix(article.source, display),
        topics=_JSON.encode(article.topics),
        digest=hashlib.sha1(data.encode("utf-8")).digest(),
        data=data,
        keyed_topics=keyed,
        shared_keys=int(len(keys) < len(keyed) or len(set(keyed)) < len(keyed)),
    )


def encode_withdrawal(withdrawal: Withdrawal, display: str) -> ArticleRow:
    """The stored form of `withdrawal`: an index entry with no topics and no body."""
    return ArticleRow(
        id=withdrawal.id,
        published=_stamp(withdrawal.published),
        updated=_stamp(withdrawal.updated),
        source=_suffix(withdrawal.source, display),
        topics="[]",
        digest=b"",
        data="",
        keyed_topics=(),
        shared_keys=0,
        withdrawn=1,
    )


def decode_topics(text: Any) -> tuple[str, ...]:
    """The stored topics column."""
    topics = _loads(text)
    if not isinstance(topics, list) or not all(type(t) is str for t in topics):
        raise CacheCorrupt("bad topics")
    return tuple(topics)


def decode_article(data: Any, source: str) -> Article:
    """An `Article` from its stored JSON and its full source."""
    fields = _loads(data)
    try:
        (ident, url, title, summary, content, published, updated, provider, topics,
         categories, images, related) = fields  # fmt: skip
        article = Article(
            id=_text(ident),
            url=_text(url),
            title=_text(title),
            summary=_text(summary),
            content_html=_text(content),
            published=moment(published),
            updated=moment(updated),
            provider=None if provider is None else Provider(*map(_text, provider)),
            topics=tuple(map(_text, topics)),
            categories=tuple(map(_text, categories)),
            images=tuple(_image(item) for item in images),
            related=tuple(Related(*map(_text, item)) for item in related),
            source=source,
        )
    except (TypeError, ValueError) as exc:
        raise CacheCorrupt(f"bad article: {exc}") from exc
    return article


def _image(item: Any) -> Image:
    url, mime_type, width, height, title, attribution = item
    for size in (width, height):
        if size is not None and type(size) is not int:
            raise CacheCorrupt("bad image size")
    return Image(_text(url), _text(mime_type), width, height, _text(title), _text(attribution))


def encode_reports(reports: list[Report], display: str) -> str | None:
    """A file's reports, in order (None when there are none)."""
    if not reports:
        return None
    rows = [[_suffix(r.source, display), r.field, r.reason, r.skipped] for r in reports]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def decode_reports(text: Any, display: str) -> list[Report]:
    """A file's stored reports, sources made whole again."""
    if text is None:
        return []
    rows = _loads(text)
    try:
        reports = []
        for suffix, field, reason, skipped in rows:
            if type(skipped) is not bool:
                raise CacheCorrupt("bad report")
            reports.append(
                Report(_source(_text(suffix), display), _text(field), _text(reason), skipped)
            )
    except (TypeError, ValueError) as exc:
        raise CacheCorrupt(f"bad report: {exc}") from exc
    return reports


class RefDecoder:
    """Turns `articles` rows (file, seq, id, published, updated, source, topics, digest and,
    from `RecordCache.index_rows`, withdrawn) into `ArticleRef`s, checking every type. A row
    met again (an article in several feeds) and topic lists and timestamps that many rows
    share are decoded once."""

    def __init__(self, base: str, rows_met_again: bool = True) -> None:
        self.base = base
        self._rows: dict[tuple[Any, ...], ArticleRef] | None = {} if rows_met_again else None
        self._topics: dict[str, tuple[str, ...]] = {}
        self._moments: dict[int, datetime] = {}

    def __call__(self, row: tuple[Any, ...]) -> ArticleRef:
        if self._rows is None:  # every row once: not worth keeping
            return self._decode(row)
        ref = self._rows.get(row)
        if ref is None:
            ref = self._rows[row] = self._decode(row)
        return ref

    def _decode(self, row: tuple[Any, ...]) -> ArticleRef:
        file, seq, ident, published, updated, suffix, topics, digest, *flag = row
        if not (type(file) is str and type(seq) is int and type(ident) is str):
            raise CacheCorrupt("bad article key")
        if type(digest) is not bytes:
            raise CacheCorrupt("bad digest")
        withdrawn = False
        if flag:  # an index row (`RecordCache.index_rows`)
            (value,) = flag
            if type(value) is not int or value not in (0, 1):
                raise CacheCorrupt("bad withdrawn flag")
            withdrawn = value == 1
        return ArticleRef(
            id=ident,
            published=self._moment(published),
            updated=self._moment(updated),
            source=source_of(suffix, f"{self.base}/{file}"),
            topics=self._topic_list(topics),
            file=file,
            seq=seq,
            digest=digest,
            withdrawn=withdrawn,
        )

    def _topic_list(self, text: Any) -> tuple[str, ...]:
        return _memoised(self._topics, text, str, decode_topics)

    def _moment(self, stamp: Any) -> datetime:
        return _memoised(self._moments, stamp, int, moment)


def _memoised(memo: dict[Any, V], stored: Any, kind: type, decode: Callable[[Any], V]) -> V:
    """`decode(stored)`, decoded once per distinct value; a value not of `kind` is decoded
    every time (and so raises CacheCorrupt, never entering the memo)."""
    if type(stored) is not kind:
        return decode(stored)
    value = memo.get(stored)
    if value is None:
        value = memo[stored] = decode(stored)
    return value


def source_of(suffix: Any, display: str) -> str:
    """An article's full source from its stored suffix."""
    return _source(_text(suffix), display)


def _text(value: Any) -> str:
    if type(value) is not str:
        raise CacheCorrupt(f"expected text, got {type(value).__name__}")
    return value


def _loads(text: Any) -> Any:
    if type(text) is not str:
        raise CacheCorrupt("expected JSON text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CacheCorrupt(f"bad JSON: {exc}") from exc
