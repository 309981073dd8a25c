"""The published model: what a feed entry is, independent of any file format.

Everything here is already clean: text holds no characters XML forbids, HTML is
sanitised, URLs are absolute http(s), datetimes are aware and in UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _by_fields(self: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle a model object as its class and field values: the server hands whole sites
    to its workers, and the generated dataclass pickling is several times slower."""
    return type(self), tuple(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class Image:
    """An image of an article, published as an enclosure and as Media RSS."""

    __reduce__ = _by_fields

    url: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    title: str = ""
    attribution: str = ""


@dataclass(frozen=True, slots=True)
class Provider:
    """The publisher of an article: the entry's author and source."""

    __reduce__ = _by_fields

    name: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Related:
    """Another article that the record links to."""

    __reduce__ = _by_fields

    url: str
    title: str
    provider: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    """One published feed entry."""

    __reduce__ = _by_fields

    id: str
    url: str
    title: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    provider: Provider | None
    topics: tuple[str, ...]
    categories: tuple[str, ...]
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    source: str = ""

    @property
    def id_is_url(self) -> bool:
        """True when the id is the article's own address (an RSS permalink)."""
        return self.id == self.url and bool(self.url)

    @property
    def withdrawn(self) -> bool:
        """False: an article is published (see `Withdrawal`)."""
        return False


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """An unpublished record's claim on its article's id: when it is the newest copy of the
    id, no copy is published (an article taken down stays down, even where an older export
    of it is still in the records)."""

    __reduce__ = _by_fields

    id: str
    published: datetime
    updated: datetime
    source: str
    topics: tuple[str, ...] = ()

    @property
    def withdrawn(self) -> bool:
        """True: see the class."""
        return True


@dataclass(frozen=True, slots=True)
class Topic:
    """A subject with its own feed; `key` groups names that differ in case or spacing."""

    __reduce__ = _by_fields

    key: str
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed is about and where it lives, without its entries."""

    __reduce__ = _by_fields

    slug: str
    title: str
    description: str
    path_stem: str
    topic: Topic | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed ready to render: newest entry first, at most `max_items` entries."""

    __reduce__ = _by_fields

    info: FeedInfo
    articles: tuple[Article, ...]
    updated: datetime
    total: int = 0
    language: str = "en"
    base_url: str = ""
    site_title: str = ""
    hubs: tuple[str, ...] = ()  # WebSub hubs the feed names

    def url_for(self, suffix: str) -> str:
        """The absolute URL of this feed in one format (suffix like ``.rss``)."""
        return f"{self.base_url}/{self.info.path_stem}{suffix}"

    @property
    def home_url(self) -> str:
        """The HTML page the feed belongs to (the index page)."""
        return f"{self.base_url}/"

    def limited(self, limit: int) -> Feed:
        """The same feed holding only its `limit` newest entries."""
        return dataclasses.replace(self, articles=self.articles[:limit])


@dataclass(frozen=True, slots=True)
class Site:
    """Every feed of one build: the `all` feed first, then topics by slug."""

    __reduce__ = _by_fields

    title: str
    description: str
    base_url: str
    language: str
    feeds: tuple[Feed, ...] = field(default_factory=tuple)

    @property
    def updated(self) -> datetime | None:
        """The newest entry date of any feed (the site's Last-Modified)."""
        return max((f.updated for f in self.feeds), default=None)
