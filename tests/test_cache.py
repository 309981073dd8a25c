"""The record cache: a rebuild through it gives exactly what a build without it gives."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from feedpub import cache_select, dumps, incremental, parse_pool, rerender
from feedpub.build import BuildStats, build_site, run_build
from feedpub.cache import DB_NAME, KEPT_TOPICS, PAGE_SIZE, RecordCache
from feedpub.codec import CacheCorrupt, RefDecoder
from feedpub.config import Config
from feedpub.dumps import DumpPart, plan_parts
from feedpub.errors import BuildError
from feedpub.fingerprint import fingerprint
from feedpub.render import render_site
from feedpub.report import Report

from .conftest import base_record, output_files, record_text

TOPICS = (["AI"], ["AI", "Space"], ["Space"], ["Économie", "ai"], [], ["C++", "AI"])


def record(number: int, **changes: Any) -> str:
    fields = base_record(
        title=f"Headline {number}",
        webUrl=f"https://example.org/{number % 23}",  # some ids repeat: dedupe must be exact
        publishedDateTime=f"2026-01-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
        updatedDateTime=f"2026-02-{1 + number % 7:02d}T00:00:00Z" if number % 3 else None,
        topics=TOPICS[number % len(TOPICS)],
    )
    fields.update(changes)
    return record_text(fields)


def fill(folder: Path, count: int = 40) -> None:
    """Records (good, bad, recovered, unpublished, a dump), written an hour ago."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / f"{number:03d}.md").write_text(record(number), encoding="utf-8")
    for name in ("tie-a.md", "tie-b.md"):  # same id and dates: the greater source wins
        text = record(300, title=name, webUrl="https://example.org/tie", topics=["Tie"])
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (folder / "recovered.md").write_text(record(99, title=""), encoding="utf-8")
    (folder / "draft.md").write_text(record(98, published=False), encoding="utf-8")
    (folder / "dump.jsonl").write_text('{"title": "x"}\nnot json\n', encoding="utf-8")
    age(*folder.iterdir())


def age(*paths: Path) -> None:
    """Files last changed an hour ago: not "racy", so the cache trusts their size and mtime."""
    stamp = time.time() - 3600
    for path in paths:
        os.utime(path, (stamp, stamp))


class Counting:
    """Counts the files converted and the feeds rendered during builds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.converted = self.rendered = 0
        encode, render = incremental.encode_files, rerender.render_feed

        def encode_files(jobs: parse_pool.FileJobs, *args: Any) -> Any:
            self.converted += len(jobs.names)
            return encode(jobs, *args)

        def render_feed(*args: Any) -> bytes:
            self.rendered += 1
            return render(*args)

        monkeypatch.setattr(incremental, "encode_files", encode_files)
        monkeypatch.setattr(rerender, "render_feed", render_feed)


@pytest.fixture
def small_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A records folder with a few records, whose dumps are read in parts of 500 bytes."""
    fill(tmp_path / "records", count=3)
    monkeypatch.setattr(dumps, "PART_BYTES", 500)
    return tmp_path / "records"


def parts_read(monkeypatch: pytest.MonkeyPatch) -> list[DumpPart]:
    """The parts of dumps converted from now on, in order."""
    read: list[DumpPart] = []
    encode_part = parse_pool.encode_part

    def counting(path: str, name: str, display: str, part: DumpPart, *rest: Any) -> Any:
        read.append(part)
        return encode_part(path, name, display, part, *rest)

    monkeypatch.setattr(parse_pool, "encode_part", counting)
    return read


def config(tmp_path: Path, name: str, **changes: Any) -> Config:
    settings: dict[str, Any] = {
        "records": tmp_path / "records",
        "out": tmp_path / name / "out",
        "cache_dir": tmp_path / name / "cache",
        "base_url": "https://feeds.example.com",
    }
    settings.update(changes)
    return Config(**settings)


def build(cfg: Config, **options: Any) -> tuple[dict[str, bytes], list[str], BuildStats]:
    reports: list[Report] = []
    stats = run_build(cfg, reports.append, **options)
    return output_files(cfg.out), [str(r) for r in reports], stats


COUNTS = ("files", "records", "skipped", "unpublished", "recovered", "duplicates", "published")


def assert_same_as_cold(tmp_path: Path, cached: Config) -> BuildStats:
    """A warm build through `cached` gives the bytes, reports and counts of a cold one."""
    warm_out, warm_reports, warm = build(cached)
    shutil.rmtree(tmp_path / "cold", ignore_errors=True)
    cold_out, cold_reports, cold = build(config(tmp_path, "cold"), use_cache=False)
    assert warm_out == cold_out
    assert warm_reports == cold_reports
    assert [getattr(warm, n) for n in COUNTS] == [getattr(cold, n) for n in COUNTS]
    return warm


def cache_of(tmp_path: Path, *, dump: bool = True) -> Config:
    """A cache built from `fill`'s files; without the dump, the next build reads none of
    them again (a record of the dump is not due yet, so every build reads it)."""
    fill(tmp_path / "records")
    if not dump:
        (tmp_path / "records" / "dump.jsonl").unlink()
    cfg = config(tmp_path, "warm")
    assert_same_as_cold(tmp_path, cfg)
    return cfg


@pytest.fixture
def cached(tmp_path: Path) -> Config:
    return cache_of(tmp_path)


def test_rebuild_with_nothing_changed_converts_and_renders_nothing(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(monkeypatch)
    stats = assert_same_as_cold(tmp_path, cached)
    assert stats.written == 0 and stats.unchanged > 0
    assert (counting.converted, counting.rendered) == (0, 0)


def test_rebuild_after_add_edit_delete_rename(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(monkeypatch)
    records = tmp_path / "records"
    newer = {"webUrl": "https://example.org/1", "updatedDateTime": "2026-03-01T00:00:00Z"}
    (records / "100.md").write_text(record(100, topics=["New topic"], **newer), encoding="utf-8")
    assert_same_as_cold(tmp_path, cached)
    assert counting.converted == 1
    (records / "005.md").write_text(record(5, title="Edited"), encoding="utf-8")
    age(records / "005.md", records / "100.md")
    assert_same_as_cold(tmp_path, cached)
    (records / "007.md").unlink()
    (records / "bad.md").unlink()
    assert_same_as_cold(tmp_path, cached)
    (records / "011.md").rename(records / "zz-renamed.md")
    (records / "sub").mkdir()
    (records / "012.md").rename(records / "sub" / "012.md")
    assert_same_as_cold(tmp_path, cached)
    assert counting.converted == 5  # 100 twice (written just now: racy), 005, and the renamed
    rendered = counting.rendered
    (records / "004.md").write_text(record(4, title="Changed"), encoding="utf-8")
    assert_same_as_cold(tmp_path, cached)
    feeds = len(list(cached.out.rglob("*.rss")))
    assert 0 < counting.rendered - rendered < 3 * feeds  # only the feeds that changed


def test_edit_within_the_mtime_tick_is_seen(tmp_path: Path, cached: Config) -> None:
    """A file changed just before a build may change again with the same size and mtime."""
    path = tmp_path / "records" / "001.md"
    path.write_text(record(1, title="First"), encoding="utf-8")
    assert_same_as_cold(tmp_path, cached)
    before = path.stat()
    path.write_text(record(1, title="Other"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert_same_as_cold(tmp_path, cached)


def test_changed_output_file_is_written_again(tmp_path: Path, cached: Config) -> None:
    (cached.out / "all.rss").write_bytes(b"tampered")
    (cached.out / "topics" / "ai.json").unlink()
    assert_same_as_cold(tmp_path, cached)


def test_config_changes_reach_the_output(tmp_path: Path, cached: Config) -> None:
    for changes in ({"max_items": 3}, {"base_url": "https://other.example"}, {"title": "T"}):
        shutil.rmtree(tmp_path / "cold", ignore_errors=True)
        changed = cached.replace(**changes)
        warm_out, _, _ = build(changed)
        cold_out, _, _ = build(config(tmp_path, "cold", **changes), use_cache=False)
        assert warm_out == cold_out


def test_older_cache_fingerprint_is_rebuilt(tmp_path: Path, cached: Config) -> None:
    database = cached.cache_dir / DB_NAME
    with sqlite3.connect(database) as db:
        db.execute("UPDATE meta SET value = 'feedpub 0.0.1' WHERE key = 'fingerprint'")
        db.execute("UPDATE articles SET id = 'https://evil.example/'")
    assert_same_as_cold(tmp_path, cached)
    with RecordCache(cached.cache_dir, "another fingerprint") as cache:
        assert cache.rebuilt and cache.keys() == []


def test_new_cache_has_large_pages_and_an_older_page_size_stays_valid(tmp_path: Path) -> None:
    with RecordCache(tmp_path / "new", "fp") as cache:
        assert cache.db.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    older = tmp_path / "older"
    older.mkdir()
    with sqlite3.connect(older / DB_NAME) as db:
        db.execute("PRAGMA page_size=4096")
        db.execute("VACUUM")  # an empty database takes a new page size only so
    with RecordCache(older, "fp") as cache:  # a cache feedpub built before 16 KiB pages
        assert cache.rebuilt
        cache.store([("a.md", 1, 2, 0, 0, None)], [])
    with sqlite3.connect(older / DB_NAME) as db:
        db.execute("PRAGMA page_size=4096")
        db.execute("VACUUM")  # the same rows in 4 KiB pages
        assert db.execute("PRAGMA page_size").fetchone() == (4096,)
    with RecordCache(older, "fp") as cache:
        assert not cache.rebuilt and cache.keys() == [("a.md", 1, 2)]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "json", "foreign"])
def test_damaged_cache_is_rebuilt(tmp_path: Path, cached: Config, damage: str) -> None:
    database = cached.cache_dir / DB_NAME
    if damage == "garbage":
        database.write_bytes(os.urandom(1) + b"\x00garbage" * 5000)
    elif damage == "truncated":
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = database.read_bytes()
        database.write_bytes(data[: len(data) // 2])
    elif damage == "json":  # valid SQLite, right fingerprint, contents not what feedpub wrote
        with sqlite3.connect(database) as db:
            db.execute("UPDATE bodies SET data = '[1, 2'")
            db.execute("UPDATE files SET reports = '{\"x\": 1}' WHERE reports IS NOT NULL")
    else:
        database.unlink()
        with sqlite3.connect(database) as db:
            db.execute("CREATE TABLE files(name TEXT)")
    assert_same_as_cold(tmp_path, cached)


@pytest.mark.parametrize(
    "damage", ["name_type", "size_type", "body", "published", "winners", "losers"]
)
def test_cache_rows_altered_on_disk_are_found_and_the_cache_rebuilt(
    tmp_path: Path, cached: Config, damage: str
) -> None:
    """Rows altered as a failing disk or another program would: SQLite columns take a value
    of any type, a body that no longer matches its digest, an index entry that no longer
    matches its body, winner flags all lost or all set (copies of one id listed twice).
    The build is done again from an empty cache (no traceback, no "no publishable
    records") and says so; the next build is quiet."""
    statements = {
        "name_type": "UPDATE files SET name = 42 WHERE name = (SELECT min(name) FROM files)",
        "size_type": "UPDATE files SET size = 'big', mtime_ns = x'00'",
        "body": "UPDATE bodies SET data = replace(data, 'e', 'E')",
        "published": "UPDATE articles SET published = published + 1",
        "winners": "UPDATE articles SET winner = 0",
        "losers": "UPDATE articles SET winner = 1",
    }
    with sqlite3.connect(cached.cache_dir / DB_NAME) as db:
        db.execute(statements[damage])
        if damage == "winners":
            db.execute("UPDATE topics SET winner = 0")
        if damage == "name_type":  # read back only where files changed (see test_scan_blocks)
            db.execute("DELETE FROM blocks")
    shutil.rmtree(cached.out)  # every feed is rendered again, from what the cache holds
    stats = assert_same_as_cold(tmp_path, cached)
    if damage == "size_type":  # not what a scan gives: each file is read again, no damage
        assert not stats.cache_damaged
    else:
        assert "was damaged (" in stats.cache_damaged
        assert stats.cache_damaged.endswith("it was rebuilt, and this build read every record")
    assert not assert_same_as_cold(tmp_path, cached).cache_damaged


@pytest.mark.parametrize(
    "damage",
    ["UPDATE bodies SET data = replace(data, 'e', 'E')", "UPDATE articles SET updated = 1"],
)
def test_an_altered_article_is_found_where_a_pool_worker_renders_it(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Many feeds are rendered on the pool, and their entries are checked and decoded there:
    an altered one raises there, and the parent redoes the build from an empty cache."""
    monkeypatch.setattr(rerender, "POOL_FEEDS", 1)
    with sqlite3.connect(cached.cache_dir / DB_NAME) as db:
        db.execute(damage)
    shutil.rmtree(cached.out)
    stats = assert_same_as_cold(tmp_path, cached)
    assert "was damaged (CacheCorrupt: article " in stats.cache_damaged


@pytest.mark.parametrize(
    "damage",
    [
        "INSERT INTO topics SELECT file, seq, '0phantom', 'Phantom', published, id, 1"
        " FROM articles WHERE winner = 1 LIMIT 1;"
        "INSERT INTO topic_counts VALUES ('0phantom', 'Phantom', 1)",
        "INSERT INTO topic_counts VALUES ('0phantom', 'Phantom', 1)",
        "DELETE FROM topics WHERE (file, seq, name) IN"
        " (SELECT file, seq, name FROM topics WHERE key = 'space' AND winner = 1 LIMIT 1)",
        "UPDATE topics SET key = '0phantom'; UPDATE topic_counts SET key = '0phantom'",
    ],
    ids=["topic_row_added", "count_row_added", "topic_row_removed", "topic_renamed"],
)
def test_topic_rows_that_disagree_with_their_articles_are_damage(
    tmp_path: Path, damage: str
) -> None:
    """The topic index altered on disk: a row or a count added for a topic no article names,
    an article's row removed from a topic that has fewer than `max_items` articles, every
    row moved to another key. Each gave a feed no cold build makes (or a short one), and was
    published; now the build finds it before rendering and is done again from an empty cache."""
    stats = _rebuilt_through_damage(tmp_path, damage, max_items=500)
    assert "was damaged (CacheCorrupt: " in stats.cache_damaged


def test_a_topic_row_that_names_no_cached_article_is_damage(tmp_path: Path) -> None:
    """A flipped bit in a topic row's file name: the row joins no article, and the feed
    took the next article in its place (the topic has more than `max_items`), unseen."""
    damage = (
        "UPDATE topics SET file = file || 'x' WHERE (file, seq, name) IN (SELECT file, seq,"
        " name FROM topics WHERE key = 'space' AND winner = 1 ORDER BY published DESC LIMIT 1)"
    )
    stats = _rebuilt_through_damage(tmp_path, damage, max_items=3)
    assert "lists an article the cache does not hold" in stats.cache_damaged


def _rebuilt_through_damage(tmp_path: Path, damage: str, max_items: int) -> BuildStats:
    """Build, alter the cache by the SQL `damage`, build every feed again through it: the
    same outputs as a cold build (no phantom feed). Its stats."""
    fill(tmp_path / "records")
    cfg = config(tmp_path, "warm", max_items=max_items)
    build(cfg)
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
        db.executescript(damage)
    shutil.rmtree(cfg.out)
    warm_out, _, stats = build(cfg)
    assert not [name for name in warm_out if "phantom" in name]
    assert warm_out == build(config(tmp_path, "cold", max_items=max_items), use_cache=False)[0]
    return stats


def test_a_topic_row_lost_is_found_when_its_file_is_read_again(tmp_path: Path) -> None:
    """A kept article's topic rows lost, then its file edited: forgetting the old copy
    takes one from each topic count it finds a row for, so the lost topic's count stayed
    one too high for good (the index page said 40 articles where there were 39; each feed
    still listed its `max_items`)."""
    fill(tmp_path / "records")
    cfg = config(tmp_path, "warm", max_items=3)
    build(cfg)
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
        (name,) = db.execute(
            "SELECT file FROM articles WHERE winner = 1 AND topics != '[]' AND file LIKE '0%'"
            " ORDER BY file LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM topics WHERE file = ?", (name,))
    path = tmp_path / "records" / name
    path.write_text(record(int(name[:3]), title="Edited"), encoding="utf-8")
    age(path)
    warm_out, _, stats = build(cfg)
    assert "do not match its articles" in stats.cache_damaged
    assert warm_out == build(config(tmp_path, "cold", max_items=3), use_cache=False)[0]


def _with_phantom_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Damage no check sees, stood in for: the first feeds chosen from the cache hold one
    more (a copy of the second feed, under another name) that a cold build does not make."""
    choose = cache_select.choose
    calls = []

    def with_phantom(*args: Any, **kwargs: Any) -> Any:
        choices = choose(*args, **kwargs)
        calls.append(1)
        if choices is None or len(calls) > 1:
            return choices
        copy = choices[1]
        phantom = dataclasses.replace(copy.info, slug="0phantom", path_stem="topics/0phantom")
        return [choices[0], dataclasses.replace(copy, info=phantom), *choices[1:]]

    monkeypatch.setattr(cache_select, "choose", with_phantom)


def test_outputs_made_from_a_damaged_cache_before_the_damage_was_found_are_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build hands each feed to the writer as it is rendered. A cache damaged in two
    places (one no check sees, one an altered article's body) gave a feed rendered and
    staged before the altered article was found in a later feed: the build done again from
    an empty cache did not make it, yet it was published."""
    fill(tmp_path / "records")
    cfg = config(tmp_path, "warm", max_items=3)
    build(cfg)
    monkeypatch.setattr(rerender, "RENDER_BATCH", 1)  # each feed goes to the writer alone
    _with_phantom_feed(monkeypatch)
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
        shown = "SELECT file, seq FROM {} WHERE winner = 1 {} ORDER BY published DESC, id LIMIT 3"
        in_all = db.execute(shown.format("articles", "")).fetchall()
        in_topics = db.execute(shown.format("topics", "AND key = 'space'")).fetchall()
        later = next(key for key in in_topics if key not in in_all)  # shown after the phantom
        db.execute("UPDATE bodies SET data = replace(data, 'e', 'E') WHERE file = ? AND seq = ?",
                   later)  # fmt: skip
    shutil.rmtree(cfg.out)  # every feed is rendered again, in order: all, 0phantom, ...
    warm_out, _, stats = build(cfg)
    assert "was damaged (CacheCorrupt: article " in stats.cache_damaged
    assert not [name for name in warm_out if "phantom" in name]
    assert warm_out == build(config(tmp_path, "cold", max_items=3), use_cache=False)[0]


def test_outputs_made_through_a_cache_that_then_fails_are_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache failing once the feeds went to the writer (a disk error as their digests
    are stored): the build is made without the cache, and only its outputs are published."""
    fill(tmp_path / "records")
    cfg = config(tmp_path, "warm")
    build(cfg)
    _with_phantom_feed(monkeypatch)
    added = record(41, title="Added")  # a change: the build chooses and renders the feeds
    (tmp_path / "records" / "041.md").write_text(added, encoding="utf-8")

    def failing(*_args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(RecordCache, "store_outputs", failing)
    warm_out, _, stats = build(cfg)
    assert "cannot be used (disk I/O error)" in stats.cache_unusable
    assert not [name for name in warm_out if "phantom" in name]
    assert warm_out == build(config(tmp_path, "cold"), use_cache=False)[0]


def test_a_full_disk_is_not_taken_for_a_damaged_cache(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own "database or disk is full" (its file may not grow: `max_page_count`) as
    new records are stored: the build goes on without the cache and says so; the cache is
    kept (not thrown away as damaged), and once it may grow the next build reads only the
    new files."""
    connect = RecordCache._connect

    def no_room(self: RecordCache, journal: str = "WAL") -> sqlite3.Connection:
        db = connect(self, journal)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    new = [tmp_path / "records" / f"new{number}.md" for number in range(200, 260)]
    for number, path in enumerate(new, 200):
        path.write_text(record(number, title=f"New {number} " + "x" * 5000))
    age(*new)
    with monkeypatch.context() as patched:
        patched.setattr(RecordCache, "_connect", no_room)
        stats = assert_same_as_cold(tmp_path, cached)
    assert "cannot be used (database or disk is full)" in stats.cache_unusable
    assert not stats.cache_damaged
    counting = Counting(monkeypatch)
    stats = assert_same_as_cold(tmp_path, cached)
    assert not (stats.cache_damaged or stats.cache_unusable)
    assert counting.converted == 60


@pytest.mark.parametrize("kind", ["unpublished", "held", "skipped"])
def test_a_folder_with_nothing_to_publish_keeps_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Records all unpublished, dated later or skipped: every build fails ('no publishable
    records'), but the cache is healthy and kept; it was thrown away and every record read
    again at each build (serve and build --watch try every few seconds)."""
    records = tmp_path / "records"
    records.mkdir()
    changes = {
        "unpublished": {"published": False},
        "held": {"publishedDateTime": "2999-01-01T00:00:00Z"},
        "skipped": {"title": "", "excerpt": ""},
    }[kind]
    for number in range(3):
        (records / f"{number}.md").write_text(record(number, **changes), encoding="utf-8")
    (records / "dump.jsonl").write_text("not json\n", encoding="utf-8")
    age(*records.iterdir())
    cfg = config(tmp_path, "warm")
    for _ in range(2):
        with pytest.raises(BuildError, match="no publishable records"):
            build(cfg)
    resets: list[None] = []
    monkeypatch.setattr(RecordCache, "reset", lambda cache: resets.append(None))
    with pytest.raises(BuildError, match="no publishable records"):
        build(cfg)
    assert resets == []


def test_unusable_cache_folder_builds_without_cache(tmp_path: Path) -> None:
    fill(tmp_path / "records")
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    cfg = config(tmp_path, "warm", cache_dir=tmp_path / "blocker" / "cache")
    stats = assert_same_as_cold(tmp_path, cfg)
    assert "blocker/cache cannot be used (Not a directory)" in stats.cache_unusable


def test_file_names_sqlite_cannot_hold_build_without_cache(tmp_path: Path) -> None:
    fill(tmp_path / "records")
    (tmp_path / "records" / os.fsdecode(b"\xff-latin1.md")).write_text(record(7))
    stats = assert_same_as_cold(tmp_path, config(tmp_path, "warm"))
    assert "not UTF-8: \\xff-latin1.md; rename it" in stats.cache_unusable
    (tmp_path / "records" / os.fsdecode(b"\xff-latin1.md")).unlink()
    assert not assert_same_as_cold(tmp_path, config(tmp_path, "warm")).cache_unusable


@pytest.mark.parametrize("threshold", [10_000, 1], ids=["in-process", "pool"])
def test_a_big_dump_read_in_parts_builds_as_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    fill(tmp_path / "records", count=3)
    lines = [json.dumps({"title": f"Dumped {n}", "webUrl": f"https://example.org/d{n % 40}",
                         "publishedDateTime": f"2026-03-{1 + n % 28:02d}T00:00:00Z",
                         "topics": TOPICS[n % len(TOPICS)]}) for n in range(120)]  # fmt: skip
    lines[7], lines[50] = "not json", r'{"title": "\u0000"}'  # a bad line; a NUL, escaped
    dump = tmp_path / "records" / "big.jsonl"
    dump.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    age(dump)
    whole_out, whole_reports, whole = build(config(tmp_path, "whole"), use_cache=False)
    monkeypatch.setattr(dumps, "PART_BYTES", 500)  # about 5 lines a part
    assert len(plan_parts(dump)) > 20
    cfg = config(tmp_path, "warm")
    warm = build(cfg, pool_threshold=threshold)
    assert warm[0] == whole_out and warm[1] == whole_reports  # one CRLF report, not 20
    assert [getattr(warm[2], n) for n in COUNTS] == [getattr(whole, n) for n in COUNTS]
    assert sum("CR/CRLF" in line for line in warm[1]) == 1
    assert_same_as_cold(tmp_path, cfg)  # the parts' rows and reports, read from the cache
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:  # read in parts: keys from lines on
        seqs = [seq for (seq,) in db.execute("SELECT seq FROM articles WHERE file = 'big.jsonl'")]
    assert len(seqs) == 118 and sorted(seqs) != list(range(118))  # read whole: 0 to 117
    split_uncached = build(config(tmp_path, "split"), use_cache=False)  # as `feedpub check`
    assert split_uncached[:2] == warm[:2]
    lines[55] = lines[55].replace("Dumped 55", "Edited 55")  # the newest entry
    dump.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    age(dump)
    assert_same_as_cold(tmp_path, cfg)
    assert b"Edited 55" in output_files(cfg.out)["all.rss"]


@pytest.mark.parametrize(
    ("use_cache", "threshold"),
    [(True, 10_000), (True, 1), (False, 10_000)],
    ids=["cached", "cached-pool", "uncached"],
)
def test_a_dump_rewritten_while_its_parts_are_read_fails_the_build(
    tmp_path: Path,
    small_parts: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_cache: bool,
    threshold: int,
) -> None:
    """Parts planned on one version and read from another (a dump rewritten in place): the
    feeds mixed the two, or lost the records of parts cut mid-line, for that build."""
    dump = small_parts / "big.jsonl"

    def write(title: str) -> None:
        dump.write_text("".join(json.dumps({"title": f"{title} {n}", "webUrl": f"https://e.org/{n}",
                                            "publishedDateTime": "2026-03-01T00:00:00Z"}) + "\n"
                                for n in range(60)), encoding="utf-8")  # fmt: skip
        age(dump)

    write("Old")
    cfg = config(tmp_path, "warm")
    before = build(cfg, use_cache=use_cache, pool_threshold=threshold)[0]
    write("Mid")  # planned on this version...
    read_dump_part = parse_pool.read_dump_part

    def rewritten_first(path: str, *rest: Any) -> Any:
        if b"Mid" in dump.read_bytes():
            write("Rewritten in place")  # ... read from this one
        return read_dump_part(path, *rest)

    monkeypatch.setattr(parse_pool, "read_dump_part", rewritten_first)
    with pytest.raises(BuildError, match=r"/big\.jsonl: changed while it was read"):
        build(cfg, use_cache=use_cache, pool_threshold=threshold)
    assert output_files(cfg.out) == before  # nothing written
    after = build(cfg, use_cache=use_cache, pool_threshold=threshold)[
        0
    ]  # the next build reads it as it is now
    assert (
        b"<title>Rewritten in place 0</title>" in after["all.rss"]
        and b"Mid" not in after["all.rss"]
    )


def test_a_grown_or_edited_dump_reads_only_its_new_and_changed_parts(
    tmp_path: Path, small_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = small_parts / "big.jsonl"

    def write(count: int, edited: int | None = None) -> None:
        lines = [json.dumps({"title": f"{'Edited' if n == edited else 'Dumped'} {n}",
                             "webUrl": f"https://example.org/d{n}", "topics": TOPICS[n % 6],
                             "publishedDateTime": f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00Z"})
                 for n in range(count)]  # fmt: skip
        lines[3] = "not json"  # a report kept with its part
        dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
        age(dump)

    read = parts_read(monkeypatch)
    cfg = config(tmp_path, "warm")
    write(100)
    assert_same_as_cold(tmp_path, cfg)
    first = len(read)
    assert first == len(plan_parts(dump)) > 10
    read.clear()
    assert_same_as_cold(tmp_path, cfg)  # unchanged: nothing read
    assert read == []
    write(110)  # ten lines appended: the last part again, and new ones
    assert_same_as_cold(tmp_path, cfg)
    assert 1 <= len(read) <= 4 and min(part.start for part in read) > 0
    read.clear()
    write(110, edited=60)  # one line edited (same length): its part only
    assert_same_as_cold(tmp_path, cfg)  # (its reports too: line 4's from a kept part)
    assert len(read) == 1 and b"Edited 60" in output_files(cfg.out)["all.rss"]
    read.clear()
    write(110, edited=600)  # the edit undone, in a part read last time
    assert_same_as_cold(tmp_path, cfg)
    assert len(read) == 1
    dump.write_text('{"title": "Small now", "publishedDateTime": "2026-04-01T00:00:00Z"}\n')
    age(dump)  # below PART_BYTES: read whole, its parts forgotten
    assert_same_as_cold(tmp_path, cfg)
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM parts").fetchone() == (0,)


def test_a_big_json_dump_is_read_in_parts_and_a_grown_one_only_in_its_new_parts(
    tmp_path: Path, small_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = small_parts / "api.json"

    def write(count: int) -> None:
        items: list[Any] = [
            {"title": f"Item {n}", "webUrl": f"https://example.org/j{n}", "topics": TOPICS[n % 6],
             "publishedDateTime": f"2026-04-01T{n // 60:02d}:{n % 60:02d}:00Z",
             "images": [{"url": f"https://img.example.org/{n}.jpg"}]}
            for n in range(count)
        ]  # fmt: skip
        items[5] = "not a record"  # reported by its index, from its part
        dump.write_text(json.dumps({"_type": "News", "value": items}), encoding="utf-8")
        age(dump)

    read = parts_read(monkeypatch)
    cfg = config(tmp_path, "warm")
    write(80)
    assert_same_as_cold(tmp_path, cfg)  # (the cold build reads the dump in parts too)
    assert len(read) == len(plan_parts(dump)) > 10
    read.clear()
    write(85)  # items added at the end of the list
    assert_same_as_cold(tmp_path, cfg)
    assert 1 <= len(read) <= 3 and min(part.first for part in read) > 70
    monkeypatch.setattr(dumps, "PART_BYTES", 10**9)  # now read whole: the same feeds
    whole_out, whole_reports, _ = build(config(tmp_path, "whole"), use_cache=False)
    assert (output_files(cfg.out), build(cfg)[1]) == (whole_out, whole_reports)


def test_lookups_of_one_file_or_id_use_their_index_not_the_winner_flag(cached: Config) -> None:
    # A plan that walks every winner cost 10-115 ms a look-up at 100k articles.
    with sqlite3.connect(cached.cache_dir / DB_NAME) as db:
        plans = {
            query: " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", args))
            for query, args in (
                (cache_select.WINNING_COPY, ("https://example.org/1",)),
                (KEPT_TOPICS.format("file = ?"), ("001.md",)),
                (
                    KEPT_TOPICS.format("file = ? AND seq >= ? AND seq < ?"),
                    ("001.md", 0, 9),
                ),
            )
        }
    assert "INDEX articles_id (id=?)" in plans[cache_select.WINNING_COPY]
    for query, plan in plans.items():
        assert "winner=" not in plan and "SCAN" not in plan, (query, plan)


def test_many_changed_ids_recompute_every_winner_at_once(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_select, "BULK_IDS", 3)
    for number in (1, 2, 24, 30):
        path = tmp_path / "records" / f"{number:03d}.md"
        path.write_text(record(number, title=f"Bulk {number}"), encoding="utf-8")
    assert_same_as_cold(tmp_path, cached)
    assert_same_as_cold(tmp_path, config(tmp_path, "bulk-cold"))


def test_a_bulk_rebuild_decides_between_kept_and_changed_copies(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild that changes most files stores them in bulk (as winners, every flag
    recomputed after): where copies of one id lie in kept and in changed files, the winner
    flips either way as in a cold build, and topic counts follow."""
    monkeypatch.setattr(incremental, "BULK_FILES", 1)
    records = tmp_path / "records"
    # Ids repeat every 23 records: 001.md (kept) and 024.md (changed) share one. First the
    # changed copy wins, then it loses (the kept one wins again); the others move too.
    for late in (True, False):
        for number in range(2, 40):
            stamp = "2026-03-09T00:00:00Z" if late and number == 24 else "2025-05-05T00:00:00Z"
            topics = ["Moved"] if number % 2 else TOPICS[number % len(TOPICS)]
            text = record(number, updatedDateTime=stamp, topics=topics, title=f"B{late}{number}")
            (records / f"{number:03d}.md").write_text(text, encoding="utf-8")
            age(records / f"{number:03d}.md")
        warm = assert_same_as_cold(tmp_path, cached)
        assert warm.duplicates > 0


def test_a_bulk_rebuild_forgets_the_changed_and_removed_files_at_once(
    tmp_path: Path, cached: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most files touched, renamed or removed (a checkout, a re-export) are stored in bulk,
    without the secondary indexes; their old rows then go in one pass a table. One file at
    a time, each `forget` read every stored body: touching 10,000 files made the rebuild
    take 14.9 s instead of the 2.2 s of a first build."""
    monkeypatch.setattr(incremental, "BULK_FILES", 1)
    forgotten: list[str] = []
    forget = RecordCache.forget

    def counting(self: RecordCache, name: str) -> list[str]:
        forgotten.append(name)
        return forget(self, name)

    monkeypatch.setattr(RecordCache, "forget", counting)
    records = tmp_path / "records"
    for number, path in enumerate(sorted(records.iterdir())):
        if number % 4 == 0:
            path.rename(path.with_name(f"renamed-{path.name}"))
        elif number % 4 == 1:
            path.unlink()
        else:
            os.utime(path)  # touched: the same bytes, a new mtime
    warm = assert_same_as_cold(tmp_path, cached)
    assert forgotten == [] and warm.published > 0
    with sqlite3.connect(cached.cache_dir / DB_NAME) as db:  # no row of a gone file is left
        names = {row[0] for row in db.execute("SELECT name FROM files")}
        assert names == {path.name for path in records.iterdir()}
        for table in ("articles", "topics", "bodies", "parts"):
            assert {row[0] for row in db.execute(f"SELECT DISTINCT file FROM {table}")} <= names


def test_one_topic_named_twice_is_selected_in_the_cache(tmp_path: Path, cached: Config) -> None:
    records = tmp_path / "records"
    # Named twice in one article, a topic is one topic from the conversion on (it used to
    # be the rare case only the in-memory selection counted right).
    text = record(201, topics=["Covid 19", "Covid-19"], webUrl="https://example.org/c201")
    (records / "c201.md").write_text(text, encoding="utf-8")
    assert_same_as_cold(tmp_path, cached)
    with RecordCache(cached.cache_dir, fingerprint(cached)) as cache:
        assert cache_select.choose(cache, "", title="t", description="d", max_items=5)


def test_process_pool_gives_the_same_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rerender, "POOL_FEEDS", 1)  # render on the pool too
    monkeypatch.setattr(incremental, "BULK_FILES", 1)  # fill without indexes, then build them
    started: list[Any] = []

    def start_pool() -> Any:
        started.append(parse_pool.start_pool())
        return started[-1]

    monkeypatch.setattr(incremental, "start_pool", start_pool)
    made: list[int] = []
    make_pool = parse_pool._pool
    monkeypatch.setattr(parse_pool, "_pool", lambda workers: made.append(1) or make_pool(workers))
    fill(tmp_path / "records")
    pooled = config(tmp_path, "pool")
    out, reports, _ = build(pooled, pool_threshold=5)
    assert len(started) == 1 and started[0] is not None  # a first build: workers start early
    assert len(made) == 1  # and render too: the parent, big by then, is not forked again
    assert started[0]._shutdown_thread  # and are gone with the build
    cold_out, cold_reports, _ = build(config(tmp_path, "cold"), use_cache=False)
    assert (out, reports) == (cold_out, cold_reports)
    (tmp_path / "records" / "001.md").write_text(record(1, title="Edited"), encoding="utf-8")
    assert_same_as_cold(tmp_path, pooled)
    assert len(started) == 1  # a rebuild starts none before it knows how much changed


def test_build_site_through_the_cache_is_the_same_site(tmp_path: Path, cached: Config) -> None:
    warm = build_site(cached, lambda report: None, BuildStats())
    cold = build_site(cached, lambda report: None, BuildStats(), use_cache=False)
    assert warm == cold
    assert render_site(warm) == render_site(cold)


_BUILD = """
import sys
import time
from pathlib import Path
from feedpub.build import run_build
from feedpub.config import Config
root = Path(sys.argv[1])
config = Config(records=root / "records", out=root / "shared" / "out",
                cache_dir=root / "shared" / "cache", base_url="https://feeds.example.com")
run_build(config, lambda report: None)
"""


def test_two_builds_at_once_leave_a_whole_output(tmp_path: Path) -> None:
    fill(tmp_path / "records", count=120)
    script = tmp_path / "build.py"
    script.write_text(_BUILD, encoding="utf-8")
    runs = [
        subprocess.Popen([sys.executable, str(script), str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for run in runs:
        _, error = run.communicate(timeout=120)
        assert run.returncode == 0, error.decode()
    shared = config(tmp_path, "shared")
    assert not list(shared.out.rglob("*.feedpub-tmp"))
    assert_same_as_cold(tmp_path, shared)


def test_cached_build_gives_every_output_its_last_modified(tmp_path: Path) -> None:
    from feedpub.build import build_outputs

    records = tmp_path / "records"
    records.mkdir()
    (records / "a.md").write_text(record_text(base_record()), encoding="utf-8")
    config = Config(records=records, out=tmp_path / "out", cache_dir=tmp_path / "cache")
    cached = build_outputs(config, lambda report: None, BuildStats())
    cold = build_outputs(config, lambda report: None, BuildStats(), use_cache=False)
    assert set(cached.modified) == set(cached.outputs) == set(cold.modified)
    assert cached.modified == cold.modified


def test_a_pool_that_cannot_start_early_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that die at once (out of memory, killed) leave the build to start its own."""

    class Broken(concurrent.futures.ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            raise concurrent.futures.process.BrokenProcessPool("a worker died")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Broken)  # (made lazily)
    assert parse_pool.start_pool() is None


def test_a_worker_killed_in_a_first_build_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker of the early pool that dies (out of memory, killed) while converting: the
    parent converts the rest and renders the feeds itself, with the same output."""
    monkeypatch.setattr(rerender, "POOL_FEEDS", 1)  # would render on the (broken) pool too
    monkeypatch.setattr(parse_pool, "CHUNK_FILES", 4)
    parent, convert_chunk = os.getpid(), parse_pool._encode_chunk

    def dying(jobs: parse_pool.FileJobs, limits: Any) -> Any:
        if os.getpid() != parent and "010.md" in jobs.names:
            os._exit(1)  # as if killed
        return convert_chunk(jobs, limits)

    dying.__module__, dying.__qualname__ = parse_pool.__name__, "_encode_chunk"  # pickled so
    monkeypatch.setattr(parse_pool, "_encode_chunk", dying)
    fill(tmp_path / "records")
    pooled = config(tmp_path, "pool")
    out, reports, stats = build(pooled, pool_threshold=5)
    cold_out, cold_reports, cold = build(config(tmp_path, "cold"), use_cache=False)
    assert (out, reports) == (cold_out, cold_reports) and stats.published == cold.published
    assert_same_as_cold(tmp_path, pooled)  # and the cache it filled is whole


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE parts SET last_number = last_number + 1000 WHERE first_number = 1",
        "INSERT INTO parts SELECT file, start + 1, stop, first_number, last_number, digest,"
        " records, unpublished, reports FROM parts WHERE first_number = 1",
    ],
)
def test_parts_altered_on_disk_do_not_drop_the_articles_of_kept_parts(
    tmp_path: Path, small_parts: Path, damage: str
) -> None:
    """A part's row whose numbers reach into the next parts' (a bit flip, another program's
    row): the dump grows, that part is stale and its articles were dropped by its numbers,
    those of the kept parts with them; the feeds lost them, and no damage was found."""
    dump = small_parts / "big.jsonl"

    def write(count: int) -> None:
        lines = [json.dumps({"title": f"Dumped {n}", "webUrl": f"https://example.org/d{n}",
                             "publishedDateTime": f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00Z"})
                 for n in range(count)]  # fmt: skip
        dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
        age(dump)

    cfg = config(tmp_path, "warm")
    write(100)
    assert_same_as_cold(tmp_path, cfg)
    with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
        db.execute(damage)
    write(110)
    stats = assert_same_as_cold(tmp_path, cfg)
    assert "was damaged (CacheCorrupt: parts of big.jsonl" in stats.cache_damaged
    assert not assert_same_as_cold(tmp_path, cfg).cache_damaged


def test_a_row_in_several_feeds_is_decoded_once_and_a_bad_one_never_passes() -> None:
    decode = RefDecoder("records")
    row = ("a.md", 0, "https://e.org/1", 1_700_000_000, 1_700_000_000, "", '["AI"]', b"d" * 20)
    first = decode(row)
    assert decode(tuple(row)) is first and first.topics == ("AI",)
    assert first.source == "records/a.md"
    bad = (*row[:7], "not bytes")
    for _ in range(2):  # a failure is not remembered as a result
        with pytest.raises(CacheCorrupt):
            decode(bad)
    assert RefDecoder("records", rows_met_again=False)(row) == first


_IMPORTS_OF_A_BUILD = """
import sys
from pathlib import Path
from feedpub.build import run_build
from feedpub.config import Config
root = Path(sys.argv[1])
config = Config(records=root / "records", out=root / "warm" / "out",
                cache_dir=root / "warm" / "cache", base_url="https://feeds.example.com")
run_build(config, lambda report: None)
print(" ".join(m for m in ("cmarkgfm", "feedgen", "lxml", "jinja2") if m in sys.modules))
"""


def test_a_build_with_nothing_to_convert_or_render_imports_neither_parser_nor_renderers(
    tmp_path: Path,
) -> None:
    """A one-shot build run by cron every few minutes starts quicker (about 80 ms less)."""

    def imported() -> str:
        command = [sys.executable, "-c", _IMPORTS_OF_A_BUILD, str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    cache_of(tmp_path, dump=False)
    assert imported() == ""
    edited = record(5, title="Edited") + "A *Markdown* body.\n"
    (tmp_path / "records" / "005.md").write_text(edited, encoding="utf-8")
    assert imported() == "cmarkgfm feedgen lxml"  # never Jinja2: the index is an ElementTree


def _choosing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time a build chooses the feeds from the cache."""
    choose, calls = cache_select.choose, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return choose(*args, **kwargs)

    monkeypatch.setattr(cache_select, "choose", counted)
    return calls


def test_a_build_where_nothing_changed_keeps_every_output_without_choosing_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cron's usual run: the cached records did not change, nor the configuration or the
    renderer, and every output still holds its bytes; the feeds are not chosen again."""
    cfg = cache_of(tmp_path, dump=False)
    before, reports, first = build(cfg)
    chosen = _choosing(monkeypatch)
    after, again, stats = build(cfg)
    assert chosen == [] and after == before and again == reports
    assert (stats.feeds, stats.published, stats.written, stats.removed) == (
        first.feeds, first.published, 0, 0,
    )  # fmt: skip
    assert stats.unchanged == len(before)


@pytest.mark.parametrize(
    "change",
    ["title", "max_items", "output deleted", "output altered", "renderer", "state altered"],
)
def test_outputs_are_chosen_and_rendered_again_when_anything_they_follow_from_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Whatever the outputs follow from besides the cached records (the configuration, the
    renderer, the output files themselves, or the stored state, when altered) makes the
    next build choose the feeds again, and its outputs are those of a cold build."""
    cfg = cache_of(tmp_path, dump=False)
    build(cfg)
    settings: dict[str, Any] = {}
    if change in ("title", "max_items"):
        settings = {"title": "Another title"} if change == "title" else {"max_items": 2}
    elif change == "output deleted":
        (cfg.out / "all.atom").unlink()
    elif change == "output altered":
        (cfg.out / "index.html").write_bytes(b"<p>defaced</p>")
    elif change == "renderer":
        monkeypatch.setattr(rerender, "renderer_fingerprint", lambda: b"another renderer")
    else:
        with sqlite3.connect(cfg.cache_dir / DB_NAME) as db:
            db.execute("UPDATE meta SET value = 'x' || value WHERE key = 'rendered'")
    chosen = _choosing(monkeypatch)
    warm = config(tmp_path, "warm", **settings)
    warm_out, _, _ = build(warm)
    assert chosen == [1]
    assert warm_out == build(config(tmp_path, "cold", **settings), use_cache=False)[0]


def _reads_back(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The output paths builds read back from now on (to check they hold the bytes written)."""
    read_back, paths = rerender._read_back, set()

    def counted(out: Any, path: str, sha: bytes) -> Any:
        paths.add(path)
        return read_back(out, path, sha)

    monkeypatch.setattr(rerender, "_read_back", counted)
    return paths


@pytest.mark.parametrize("alteration", ["same size, mtime put back", "replaced", "touched"])
def test_an_output_found_right_is_trusted_by_its_stamp_until_anything_writes_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alteration: str
) -> None:
    """An output file read back and found right is then trusted by its `stat` stamp, not
    read again; anything done to it (the same number of bytes with its mtime put back, a
    copy moved over it, a `touch` back to its time) gives it a new ctime, and the next
    build reads it, and writes it again where its bytes are wrong."""
    monkeypatch.setattr(rerender, "RACY_NS", 0)  # (a file written a moment ago is settled)
    cfg = cache_of(tmp_path, dump=False)
    space = record(500, topics=["Space"], webUrl="https://example.org/space")
    (cfg.records / "space.md").write_text(space, encoding="utf-8")
    age(cfg.records / "space.md")
    outputs, _, changed = build(cfg)  # reads back (and stamps) the outputs it keeps
    read = _reads_back(monkeypatch)
    assert build(cfg)[0] == outputs
    assert set(changed.written_paths) <= read  # (rendered: no stamp yet)
    assert "topics/ai.rss" not in read and len(read) < len(outputs) / 2
    target = cfg.out / "topics" / "ai.rss"
    before = target.stat()
    if alteration == "same size, mtime put back":
        with target.open("r+b") as handle:
            handle.write(b"<!--x-->")
    elif alteration == "replaced":
        shutil.copy2(target, tmp_path / "copy")
        os.replace(tmp_path / "copy", target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size
    read.clear()
    assert_same_as_cold(tmp_path, cfg)
    assert "topics/ai.rss" in read


def test_an_output_changed_within_racy_ns_of_its_read_gets_no_stamp(tmp_path: Path) -> None:
    """A file whose ctime is that close to the read could be written again within the
    same tick of the file system's clock, its stamp unchanged: it is read every time."""
    path = tmp_path / "all.rss"
    path.write_bytes(b"<rss/>")
    info = path.stat()
    assert rerender.output_stamp(info, info.st_ctime_ns + rerender.RACY_NS - 1) == ""
    stamp = rerender.output_stamp(info, info.st_ctime_ns + rerender.RACY_NS)
    assert stamp.endswith(f":{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}")


def test_a_build_with_nothing_changed_keeps_the_stamps_it_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cron's builds after a render: the first reads back every output just written, and
    keeps their stamps, so the next reads none."""
    monkeypatch.setattr(rerender, "RACY_NS", 0)  # (a file written a moment ago is settled)
    cfg = cache_of(tmp_path, dump=False)  # every output just rendered: no stamp yet
    read = _reads_back(monkeypatch)
    outputs, _, _ = build(cfg)
    assert read == set(outputs) - {".feedpub-manifest.json"}
    read.clear()
    assert build(cfg)[0] == outputs
    assert read == set()
