"""Choose what each feed shows: one entry per article, one feed per topic, newest first.

The choice needs only an entry's id, dates, source and topics (`Entry`), so the
same code runs on full `Article`s and on the light index of the record cache.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from feedpub.config import Config
from feedpub.model import Article, Feed, FeedInfo, Site, Topic
from feedpub.topics import assign_slugs, topic_key

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Entry(Protocol):
    """What selection reads of an article."""

    @property
    def id(self) -> str: ...
    @property
    def published(self) -> datetime: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def topics(self) -> tuple[str, ...]: ...
    @property
    def withdrawn(self) -> bool: ...


E = TypeVar("E", bound=Entry)


def newest_first(article: Entry) -> tuple[float, str]:
    """Sort key: newest publication first, ties broken by id."""
    return (-article.published.timestamp(), article.id)


def _recency(article: Entry) -> tuple[datetime, datetime, bool, str]:
    """Which of two copies of one article wins: the most recently updated (a withdrawal
    before a published copy of the same times)."""
    return (article.updated, article.published, article.withdrawn, article.source)


def deduplicate(articles: Iterable[E]) -> tuple[list[E], int]:
    """One article per id (the most recently updated copy, unless that is a withdrawal:
    then none) and how many published copies were merged away or withdrawn."""
    winners: dict[str, E] = {}
    copies = 0
    for article in articles:
        copies += not article.withdrawn
        current = winners.get(article.id)
        if current is None or _recency(article) > _recency(current):
            winners[article.id] = article
    kept = [article for article in winners.values() if not article.withdrawn]
    return kept, copies - len(kept)


def display_name(counts: Mapping[str, int]) -> str:
    """A topic's display name: its most used spelling.

    Among equally used spellings, mixed case ("Climate") beats all-caps or
    all-lowercase ones, then the first in code-point order: never input order.
    """
    return min(counts, key=lambda n: (-counts[n], n.isupper() or n.islower(), n))


@dataclass(slots=True)
class TopicIndex:
    """Every topic seen, with the names used for it, so each gets one display name."""

    names: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, article: Entry) -> None:
        for name in article.topics:
            self.names[topic_key(name)][name] += 1

    def topics(self) -> list[Topic]:
        """Topics sorted by slug; the display name is the most used spelling (`display_name`)."""
        topics = []
        slugs = assign_slugs(self.names)
        for key, counts in self.names.items():
            topics.append(Topic(key=key, name=display_name(counts), slug=slugs[key]))
        topics.sort(key=lambda t: t.slug)
        return topics


@dataclass(frozen=True, slots=True)
class FeedChoice(Generic[E]):
    """One feed's description, its newest entries (newest first) and how many it has in all."""

    info: FeedInfo
    entries: list[E]
    total: int


def choose_feeds(
    articles: Iterable[E], *, title: str, description: str, max_items: int
) -> list[FeedChoice[E]]:
    """The `all` feed, then one feed per topic (by slug), each with its `max_items` newest."""
    everything: list[E] = []
    per_topic: dict[str, list[E]] = defaultdict(list)
    counts: Counter[str] = Counter()
    index = TopicIndex()
    total = 0
    for article in articles:
        total += 1
        index.add(article)
        everything.append(article)
        for key in {topic_key(name) for name in article.topics}:
            counts[key] += 1
            per_topic[key].append(article)

    choices = [
        FeedChoice(
            FeedInfo(slug="all", title=title, description=description, path_stem="all"),
            heapq.nsmallest(max_items, everything, key=newest_first),
            total,
        )
    ]
    for topic in index.topics():
        chosen = heapq.nsmallest(max_items, per_topic[topic.key], key=newest_first)
        info = topic_feed_info(topic, title, description)
        choices.append(FeedChoice(info, chosen, counts[topic.key]))
    return choices


def select_site(
    articles: Iterable[Article],
    *,
    title: str,
    description: str,
    base_url: str,
    language: str,
    max_items: int,
    hubs: tuple[str, ...] = (),
) -> Site:
    """Build every feed of the site from deduplicated articles."""
    choices = choose_feeds(articles, title=title, description=description, max_items=max_items)
    feeds = [
        make_feed(choice.info, choice.entries, choice.total, base_url, language, title, hubs)
        for choice in choices
    ]
    return Site(
        title=title,
        description=description,
        base_url=base_url,
        language=language,
        feeds=tuple(feeds),
    )


def make_feed(
    info: FeedInfo,
    articles: list[Article],
    total: int,
    base_url: str,
    language: str,
    site_title: str,
    hubs: tuple[str, ...] = (),
) -> Feed:
    """A feed of `articles` (newest first); its date is that of its most recently updated."""
    updated = max((a.updated for a in articles), default=EPOCH)
    return Feed(
        info=info,
        articles=tuple(articles),
        updated=updated,
        total=total,
        language=language,
        base_url=base_url,
        site_title=site_title,
        hubs=hubs,
    )


def topic_feed_info(topic: Topic, title: str, description: str) -> FeedInfo:
    """What a topic's feed is called and where it lives (`topics/<slug>`)."""
    return FeedInfo(
        slug=topic.slug,
        title=f"{title}: {topic.name}",
        description=f"{description}: {topic.name}",
        path_stem=f"topics/{topic.slug}",
        topic=topic,
    )


def feed_of(config: Config, info: FeedInfo, articles: list[Article], total: int) -> Feed:
    """`make_feed` with the site-wide settings of `config` (address, language, title, hubs)."""
    websub = config.websub
    return make_feed(
        info, articles, total, config.base_url, config.language, config.title, websub.hubs
    )


def site_of(config: Config, feeds: Iterable[Feed]) -> Site:
    """The site of `feeds`, titled and addressed as `config` says."""
    return Site(
        title=config.title,
        description=config.description,
        base_url=config.base_url,
        language=config.language,
        feeds=tuple(feeds),
    )
