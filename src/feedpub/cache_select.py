"""Dedupe and choose each feed's entries inside the record cache, in time proportional to changes.

Every cached article has a `winner` flag: 1 for the copy of its id that
`select.deduplicate` keeps (most recently updated, then published, then source).
A rebuild recomputes the flag only for the ids of changed files (or for all ids
when many changed), and each feed's newest entries come from an index. This gives
the same choice as `select.choose_feeds` over every article, without loading them.
The rare case where it could differ (an article naming one topic twice, as
`Covid-19` and `Covid 19`) is detected, and the caller then selects in memory.
Slugs are unique by construction (`topics.assign_slugs`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from feedpub.cache import RecordCache
from feedpub.codec import ArticleRef, CacheCorrupt, RefDecoder
from feedpub.model import FeedInfo, Topic
from feedpub.select import FeedChoice, display_name, topic_feed_info
from feedpub.topics import assign_slugs, topic_key

BULK_IDS = 2_000
"""Recompute every id's winner in one statement when more ids than this changed."""

# Python compares whole sources (`<records>/<file><suffix>`); `file || source` orders alike.
_RECENCY = "updated DESC, published DESC, withdrawn DESC, file || source DESC"
_BEST = f"SELECT file, seq, withdrawn FROM articles WHERE id = ? ORDER BY {_RECENCY} LIMIT 1"
_BULK = (
    # Every copy is first taken for its id's winner, then every copy but the best of each
    # id that has several is not: most ids have one copy, and a first build stores its rows
    # as winners already (`RecordCache.store`), so few rows are written here (0.28 s at 100k
    # articles instead of 0.72 s for ranking and flagging every row).
    "UPDATE articles SET winner = 1 + withdrawn WHERE winner = 0",
    f"""UPDATE articles SET winner = 0 WHERE (file, seq) IN (
        SELECT file, seq FROM (
            SELECT file, seq, ROW_NUMBER() OVER (
                PARTITION BY id ORDER BY {_RECENCY}
            ) AS rank FROM articles
            WHERE id IN (SELECT id FROM articles GROUP BY id HAVING COUNT(*) > 1)
        ) WHERE rank > 1
    )""",
    "UPDATE topics SET winner = 1 WHERE winner = 0",
    "UPDATE topics SET winner = 0"
    " WHERE (file, seq) IN (SELECT file, seq FROM articles WHERE winner = 0)",
    "DELETE FROM topic_counts",
    "INSERT INTO topic_counts SELECT key, name, COUNT(*) FROM topics WHERE winner = 1"
    " GROUP BY key, name",
)
WINNING_COPY = "SELECT file, seq, withdrawn FROM articles WHERE id = ? AND +winner > 0"
"""By the id index: without the `+`, SQLite chose the index that leads with `winner`
(articles_feed) and walked every winner, 10 ms an id at 100k articles."""
_COLUMNS = "a.file, a.seq, a.id, a.published, a.updated, a.source, a.topics, a.digest"


def update_winners(cache: RecordCache, ids: Iterable[str], everything: bool = False) -> None:
    """Make the winner flags right again for `ids` (inside the transaction that changed them):
    1 for the copy of an id that is published, 2 for a withdrawal that wins (no copy of its
    id is), 0 for the others.

    With `everything` (or many ids) every flag is recomputed in one pass, which needs no
    secondary index: a first build runs it before building them.
    """
    db = cache.db
    ids = set(ids)
    if everything or len(ids) > BULK_IDS:
        for statement in _BULK:
            db.execute(statement)
        return
    for ident in ids:
        current = db.execute(WINNING_COPY, (ident,)).fetchall()
        best = db.execute(_BEST, (ident,)).fetchall()
        if current == best:
            continue
        for won, rows in ((False, current), (True, best)):
            for file, seq, withdrawn in rows:
                key, flag = (file, seq), (1 + withdrawn if won else 0)
                db.execute(
                    "UPDATE articles SET winner = ? WHERE file = ? AND seq = ?", (flag, *key)
                )
                db.execute("UPDATE topics SET winner = ? WHERE file = ? AND seq = ?", (flag, *key))
                pairs = db.execute("SELECT key, name FROM topics WHERE file = ? AND seq = ?", key)
                cache.count_topics(pairs.fetchall(), 1 if won else -1)


def counts(cache: RecordCache) -> tuple[int, int]:
    """(articles kept, published copies merged away or withdrawn)."""
    db = cache.db
    kept = db.execute("SELECT COUNT(*) FROM articles WHERE winner = 1").fetchone()[0]
    # (each count read from an index: the rows not withdrawn are all less the few that
    # are, 1 ms at 100k articles where counting them took a pass over the table, 7 ms)
    rows = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    withdrawn = db.execute("SELECT COUNT(*) FROM articles WHERE withdrawn != 0").fetchone()[0]
    return kept, rows - withdrawn - kept


def choose(
    cache: RecordCache,
    base: str,
    *,
    title: str,
    description: str,
    max_items: int,
    kept: int | None = None,
) -> list[FeedChoice[ArticleRef]] | None:
    """The feeds `select.choose_feeds` would choose, or None when only it can tell.
    `kept` is the number of articles kept, when `counts` just gave it."""
    db = cache.db
    shared = "SELECT 1 FROM articles WHERE winner = 1 AND shared_keys = 1 LIMIT 1"
    if db.execute(shared).fetchone():
        return None  # an article names one topic twice (Covid-19, Covid 19): memory counts right
    names: dict[str, dict[str, int]] = defaultdict(dict)
    for key, name, count in db.execute("SELECT key, name, count FROM topic_counts"):
        if count:
            names[key][name] = count
    topics = []
    slugs = assign_slugs(names)
    for key, spellings in names.items():
        topics.append(Topic(key=key, name=display_name(spellings), slug=slugs[key]))
    topics.sort(key=lambda t: t.slug)
    if kept is None:
        kept = counts(cache)[0]
    everything = db.execute(
        f"SELECT {_COLUMNS} FROM articles a WHERE a.winner = 1"
        " ORDER BY a.published DESC, a.id LIMIT ?",
        (max_items,),
    )
    info = FeedInfo(slug="all", title=title, description=description, path_stem="all")
    decode = RefDecoder(base)
    entries = [decode(row) for row in everything]
    _check_listing("every article", entries, kept, max_items)
    choices = [FeedChoice(info, entries, kept)]
    keys_of = _TopicKeys()
    for topic in topics:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM topics t LEFT JOIN articles a ON a.file = t.file"
            " AND a.seq = t.seq WHERE t.winner = 1 AND t.key = ?"
            " ORDER BY t.published DESC, t.id LIMIT ?",
            (topic.key, max_items),
        )
        info = topic_feed_info(topic, title, description)
        total = sum(names[topic.key].values())
        entries = [decode(_held(row, topic.key)) for row in rows]
        _check_listing(f"topic {topic.key!r}", entries, total, max_items)
        for ref in entries:
            if topic.key not in keys_of(ref.topics):
                raise CacheCorrupt(f"article {ref.file} #{ref.seq} is not in topic {topic.key!r}")
        choices.append(FeedChoice(info, entries, total))
    return choices


def _held(row: tuple[Any, ...], key: str) -> tuple[Any, ...]:
    """A topic row's article, which the cache must hold (a flipped bit in the row's file
    name would otherwise drop the article from the feed, and the next take its place)."""
    if row[0] is None:
        raise CacheCorrupt(f"topic {key!r} lists an article the cache does not hold")
    return row


def _check_listing(feed: str, entries: list[ArticleRef], total: int, max_items: int) -> None:
    """A feed has its newest `max_items` of `total` articles, no fewer, each id once: a
    row missing from an index, a count it does not hold, or two copies of one id both
    flagged the winner is damage (found here, before any feed is rendered from it)."""
    if len(entries) != min(total, max_items):
        raise CacheCorrupt(f"{feed} counts {total} articles but lists {len(entries)}")
    if len({ref.id for ref in entries}) != len(entries):
        raise CacheCorrupt(f"{feed} lists an article id twice")


class _TopicKeys:
    """The topic keys of an article's stored topic list, worked out once per list (the
    `topics` rows say which feeds hold an article; its own list must agree)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, ...], frozenset[str]] = {}

    def __call__(self, names: tuple[str, ...]) -> frozenset[str]:
        keys = self._keys.get(names)
        if keys is None:
            keys = self._keys[names] = frozenset(topic_key(name) for name in names)
        return keys
