"""Blocks of the cached file list: a rebuild reads back only the entries where files changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from feedpub import scan_blocks
from feedpub.cache import DB_NAME, RecordCache
from feedpub.config import Config
from feedpub.incremental import _differences

from .test_cache import age, assert_same_as_cold, cache_of, fill, record

Key = tuple[str, int, int]

names = st.text(alphabet="abcé/_.09", min_size=1, max_size=4)
listings = st.dictionaries(names, st.tuples(st.integers(-1, 3), st.integers(-1, 3))).map(
    lambda found: sorted((name, *stat) for name, stat in found.items())
)


def read_back(scanned: list[Key], blocks: scan_blocks.Blocks, stored: list[Key]) -> Any:
    """The differences a rebuild finds through `blocks`: the stale blocks' entries of the
    scan against the `stored` entries in their name ranges (as `RecordCache.keys_in` reads)."""
    cuts, stale = scan_blocks.compare(scanned, blocks)
    subset = [entry for k in stale for entry in scanned[cuts[k] : cuts[k + 1]]]
    read = [
        entry
        for low, high in scan_blocks.name_ranges(blocks, stale)
        for entry in stored
        if low <= entry[0] and (high is None or entry[0] < high)
    ]
    return _differences(subset, read), stale


@settings(max_examples=300, deadline=None)
@given(before=listings, after=listings, size=st.integers(1, 5))
def test_the_blocks_find_every_difference_a_full_comparison_finds(
    before: list[Key], after: list[Key], size: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan_blocks, "BLOCK_FILES", size)
        check_blocks(before, after)


def check_blocks(before: list[Key], after: list[Key]) -> None:
    blocks = scan_blocks.updated(before, None, [])
    (changed, removed, known), stale = read_back(after, blocks, before)
    assert (changed, removed, known) == _differences(after, before)
    if after == before:
        assert stale == []
    # Brought up to date (old boundaries kept or new ones made), nothing differs any more.
    again = scan_blocks.updated(after, blocks, stale)
    assert scan_blocks.compare(after, again).stale == []
    assert scan_blocks.updated(after, again, []) == again
    assert scan_blocks.compare(after, scan_blocks.updated(after, None, [])).stale == []


def test_unusable_blocks_are_not_trusted() -> None:
    good = [("", b"0" * 16), ("b", b"1" * 16)]
    assert scan_blocks.usable(good) == scan_blocks.Blocks(["", "b"], [b"0" * 16, b"1" * 16])
    for rows in (
        [],
        good[1:],  # no block from ""
        [("", b"0" * 16), ("b", b"1" * 15)],
        [("", b"0" * 16), (7, b"1" * 16)],
        [("", "0" * 16)],
        [("", b"0" * 16), ("b", b"1" * 16), ("a", b"2" * 16)],  # out of order
        [("", b"0" * 16), ("b", b"1" * 16), ("b", b"2" * 16)],
    ):
        assert scan_blocks.usable(rows) is None


class ReadBack:
    """The cached file entries each build reads back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entries: list[int] = []
        keys, keys_in = RecordCache.keys, RecordCache.keys_in

        def counting_keys(cache: RecordCache, *args: Any) -> Any:
            found = keys(cache, *args)
            self.entries.append(len(found))
            return found

        def counting_keys_in(cache: RecordCache, *args: Any) -> Any:
            found = keys_in(cache, *args)
            self.entries.append(len(found))
            return found

        monkeypatch.setattr(RecordCache, "keys", counting_keys)
        monkeypatch.setattr(RecordCache, "keys_in", counting_keys_in)


@pytest.fixture
def aged(tmp_path: Path) -> Config:
    """A cache of 48 files, none read again by the next build."""
    return cache_of(tmp_path, dump=False)


def test_a_rebuild_reads_back_only_the_entries_of_changed_blocks(
    tmp_path: Path, aged: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = ReadBack(monkeypatch)
    assert_same_as_cold(tmp_path, aged)
    assert read.entries == [0]  # nothing changed: no entry read back
    records = tmp_path / "records"
    (records / "005.md").write_text(record(5, title="Edited"), encoding="utf-8")
    age(records / "005.md")
    assert_same_as_cold(tmp_path, aged)
    assert 1 <= read.entries[-1] <= 2 * scan_blocks.BLOCK_FILES  # its block's entries
    (records / "000-first.md").write_text(record(200), encoding="utf-8")
    (records / "zzz-last.md").write_text(record(201), encoding="utf-8")
    (records / "017.md").unlink()
    (records / "020.md").rename(records / "020-renamed.md")
    age(records / "000-first.md", records / "zzz-last.md")
    assert_same_as_cold(tmp_path, aged)
    assert read.entries[-1] < len(os.listdir(records)) // 2
    assert_same_as_cold(tmp_path, aged)
    assert read.entries[-1] == 0


def test_a_folder_emptied_and_filled_again_gives_new_blocks(tmp_path: Path, aged: Config) -> None:
    records = tmp_path / "records"
    shutil.rmtree(records)
    fill(records, count=3)
    for number in range(60):
        (records / f"new-{number:02d}.md").write_text(record(number + 50), encoding="utf-8")
    age(*records.iterdir())
    assert_same_as_cold(tmp_path, aged)
    with sqlite3.connect(aged.cache_dir / DB_NAME) as db:
        firsts = [row[0] for row in db.execute("SELECT first FROM blocks ORDER BY first")]
    assert len(firsts) == -(-len(os.listdir(records)) // scan_blocks.BLOCK_FILES)
    assert_same_as_cold(tmp_path, aged)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE blocks SET digest = zeroblob(16)",
        "UPDATE blocks SET digest = 'text'",
        "UPDATE blocks SET first = first || 'x' WHERE first != ''",
        "DELETE FROM blocks WHERE first = ''",
        "DELETE FROM blocks WHERE rowid % 2 = 0",
        "INSERT INTO blocks VALUES ('010.md', zeroblob(16))",
        "DELETE FROM blocks",
    ],
)
def test_altered_blocks_only_mean_reading_entries_back(
    tmp_path: Path, aged: Config, damage: str
) -> None:
    """A block digest or boundary altered on disk makes its entries read back; the feeds are
    a clean build's, and a file changed meanwhile is seen."""
    records = tmp_path / "records"
    with sqlite3.connect(aged.cache_dir / DB_NAME) as db:
        if "rowid" in damage:  # a WITHOUT ROWID table: every other block by its position
            firsts = [row[0] for row in db.execute("SELECT first FROM blocks ORDER BY first")]
            db.executemany("DELETE FROM blocks WHERE first = ?", [(f,) for f in firsts[1::2]])
        else:
            db.execute(damage)
    (records / "009.md").write_text(record(9, title="Changed meanwhile"), encoding="utf-8")
    age(records / "009.md")
    stats = assert_same_as_cold(tmp_path, aged)
    assert not stats.cache_damaged
    assert_same_as_cold(tmp_path, aged)


def test_a_file_entry_altered_where_nothing_changed_is_found_when_its_block_is_read(
    tmp_path: Path, aged: Config
) -> None:
    """An entry is only read back when its block changed; until then it is not used (the
    articles are checked where they are read). Read back, an entry that names no file the
    cache holds articles for is damage."""
    with sqlite3.connect(aged.cache_dir / DB_NAME) as db:
        db.execute("UPDATE files SET name = 'gone.md' WHERE name = '010.md'")
    assert not assert_same_as_cold(tmp_path, aged).cache_damaged
    (tmp_path / "records" / "010.md").write_text(record(10, title="Changed"), encoding="utf-8")
    age(tmp_path / "records" / "010.md")
    assert_same_as_cold(tmp_path, aged)
    assert not assert_same_as_cold(tmp_path, aged).cache_damaged


def test_equal_entries_give_equal_digests_however_they_were_made() -> None:
    """A scan's entries share one mtime object where SQLite's rows have one each."""
    mtime = 1796404047545960426
    shared = [(f"{number}.md", 10, mtime) for number in range(5)]
    separate = [(f"{number}.md", 10, int(str(mtime))) for number in range(5)]
    assert scan_blocks.digest_of(shared) == scan_blocks.digest_of(separate)
    assert scan_blocks.digest_of(shared) != scan_blocks.digest_of(shared[:4])
