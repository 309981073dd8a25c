"""Choose what each feed shows: one entry per article, one feed per topic, newest first."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from feedpub.model import Article, Feed, FeedInfo, Site, Topic
from feedpub.topics import topic_key, topic_slug

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest_first(article: Article) -> tuple[float, str]:
    """Sort key: newest publication first, ties broken by id."""
    return (-article.published.timestamp(), article.id)


def _recency(article: Article) -> tuple[datetime, datetime, str]:
    """Which of two copies of one article wins: the most recently updated."""
    return (article.updated, article.published, article.source)


def deduplicate(articles: Iterable[Article]) -> tuple[list[Article], int]:
    """One article per id (the most recently updated copy) and how many copies were merged."""
    winners: dict[str, Article] = {}
    merged = 0
    for article in articles:
        current = winners.get(article.id)
        if current is None:
            winners[article.id] = article
            continue
        merged += 1
        if _recency(article) > _recency(current):
            winners[article.id] = article
    return list(winners.values()), merged


@dataclass(slots=True)
class TopicIndex:
    """Every topic seen, with the names used for it, so each gets one display name."""

    names: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, article: Article) -> None:
        for name in article.topics:
            self.names[topic_key(name)][name] += 1

    def topics(self) -> list[Topic]:
        """Topics sorted by slug; the display name is the most used spelling.

        Among equally used spellings, mixed case ("Climate") beats all-caps or
        all-lowercase ones, then the first in code-point order: never input order.
        """
        topics = []
        for key, counts in self.names.items():
            name = min(counts, key=lambda n: (-counts[n], n.isupper() or n.islower(), n))
            topics.append(Topic(key=key, name=name, slug=topic_slug(key)))
        topics.sort(key=lambda t: t.slug)
        return topics


def select_site(
    articles: Iterable[Article],
    *,
    title: str,
    description: str,
    base_url: str,
    language: str,
    max_items: int,
) -> Site:
    """Build every feed of the site from deduplicated articles."""
    everything: list[Article] = []
    per_topic: dict[str, list[Article]] = defaultdict(list)
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

    feeds = [
        _make_feed(
            FeedInfo(slug="all", title=title, description=description, path_stem="all"),
            heapq.nsmallest(max_items, everything, key=newest_first),
            total,
            base_url,
            language,
            title,
        )
    ]
    for topic in index.topics():
        chosen = heapq.nsmallest(max_items, per_topic[topic.key], key=newest_first)
        info = FeedInfo(
            slug=topic.slug,
            title=f"{title}: {topic.name}",
            description=f"{description}: {topic.name}",
            path_stem=f"topics/{topic.slug}",
            topic=topic,
        )
        feeds.append(_make_feed(info, chosen, counts[topic.key], base_url, language, title))
    return Site(
        title=title,
        description=description,
        base_url=base_url,
        language=language,
        feeds=tuple(feeds),
    )


def _make_feed(
    info: FeedInfo,
    articles: list[Article],
    total: int,
    base_url: str,
    language: str,
    site_title: str,
) -> Feed:
    updated = max((a.updated for a in articles), default=EPOCH)
    return Feed(
        info=info,
        articles=tuple(articles),
        updated=updated,
        total=total,
        language=language,
        base_url=base_url,
        site_title=site_title,
    )
