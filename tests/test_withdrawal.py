"""An unpublished record takes its article down: when it is the newest copy of an id, no copy
of that id is published, whichever way the build goes (in memory, through the cache, on the
pool, incrementally)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedpub.build import run_build
from feedpub.config import Config
from feedpub.report import Report
from feedpub.stats import BuildStats

from .conftest import base_record, output_files, record_text

URL = "https://example.org/taken-down"
WAYS = {
    "memory": {"use_cache": False},
    "cache": {},
    "pool": {"pool_threshold": 0},
}


def write(folder: Path, name: str, **fields: Any) -> None:
    """A record file changed an hour ago (so that the cache trusts its size and mtime)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(record_text(base_record(**fields)), encoding="utf-8")
    stamp = time.time() - 3600
    os.utime(path, (stamp, stamp))


def story(name: str, **fields: Any) -> dict[str, Any]:
    """The copy of the taken-down story in file `name`."""
    return {"title": f"Story in {name}", "webUrl": URL, "topics": ["Takedown"], **fields}


def config(tmp_path: Path, name: str) -> Config:
    return Config(
        records=tmp_path / "records",
        out=tmp_path / name / "out",
        cache_dir=tmp_path / name / "cache",
        base_url="https://feeds.example.com",
    )


def build(cfg: Config, **options: Any) -> tuple[dict[str, bytes], BuildStats]:
    reports: list[Report] = []
    stats = run_build(cfg, reports.append, **options)
    return output_files(cfg.out), stats


def titles(outputs: dict[str, bytes], feed: str = "all") -> dict[str, list[str]]:
    """The entry titles of a feed in each format (RSS and Atom as feedparser reads them)."""
    found = {
        suffix: [entry.title for entry in feedparser.parse(outputs[f"{feed}.{suffix}"]).entries]
        for suffix in ("rss", "atom")
    }
    found["json"] = [item["title"] for item in json.loads(outputs[f"{feed}.json"])["items"]]
    return found


def holds(outputs: dict[str, bytes], title: str) -> bool:
    return any(title.encode() in body for body in outputs.values())


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """Another story (so there is always something to publish) and an older published copy."""
    folder = tmp_path / "records"
    write(folder, "other.md", title="Other story", webUrl="https://example.org/other",
          publishedDateTime="2026-01-01T00:00:00Z")  # fmt: skip
    write(folder, "a-old.md", **story("a-old.md", updatedDateTime="2026-01-03T00:00:00Z"))
    return folder


@pytest.mark.parametrize("way", list(WAYS))
def test_a_newer_unpublished_copy_takes_the_article_down(
    tmp_path: Path, records: Path, way: str
) -> None:
    shown, _ = build(config(tmp_path, "before"), **WAYS[way])
    assert titles(shown)["json"] == ["Story in a-old.md", "Other story"]
    assert "topics/takedown.rss" in shown
    write(
        records,
        "b-new.md",
        **story("b-new.md", published=False, updatedDateTime="2026-01-04T00:00:00Z"),
    )
    outputs, stats = build(config(tmp_path, way), **WAYS[way])
    for listed in titles(outputs).values():
        assert listed == ["Other story"]
    assert not holds(outputs, "Story in")
    assert "topics/takedown.rss" not in outputs  # its only article is down: no feed
    assert (stats.published, stats.unpublished, stats.duplicates) == (1, 1, 1)


@pytest.mark.parametrize("way", list(WAYS))
def test_an_older_unpublished_copy_takes_nothing_down(
    tmp_path: Path, records: Path, way: str
) -> None:
    write(
        records,
        "b-draft.md",
        **story("b-draft.md", published=False, updatedDateTime="2026-01-02T12:00:00Z"),
    )
    outputs, stats = build(config(tmp_path, way), **WAYS[way])
    assert titles(outputs)["atom"] == ["Story in a-old.md", "Other story"]
    assert titles(outputs, "topics/takedown")["rss"] == ["Story in a-old.md"]
    assert (stats.published, stats.unpublished, stats.duplicates) == (2, 1, 0)


def test_a_copy_of_the_same_times_unpublished_takes_the_article_down(
    tmp_path: Path, records: Path
) -> None:
    """Which copy is newer cannot be told: not publishing is the safe side."""
    for name in ("0-first.md", "z-last.md"):  # before and after the published copy's name
        write(
            records,
            name,
            **story(name, published="no", updatedDateTime="2026-01-03T00:00:00Z"),
        )
        outputs, _ = build(config(tmp_path, f"tie-{name}"))
        assert not holds(outputs, "Story in"), name
        (records / name).unlink()


def test_an_unpublished_copy_without_a_url_takes_down_the_id_of_its_title(
    tmp_path: Path, records: Path
) -> None:
    """Without an address the id comes from the title and publication time, as for an
    article; a record with no URL and no title or no date claims no id and stops nothing,
    and says so."""
    write(records, "c.md", title="No address", webUrl=None)
    write(records, "d.md", title="No address", webUrl=None, published=False,
          updatedDateTime="2026-01-05T00:00:00Z")  # fmt: skip
    write(records, "e.md", title=None, excerpt=None, webUrl=None, published=False)
    write(records, "f.md", title="No address", publishedDateTime="1970-01-01T00:00:00Z",
          webUrl=None, published=False)  # fmt: skip
    cfg, reports = config(tmp_path, "out"), list[Report]()
    stats = run_build(cfg, reports.append, use_cache=False)
    assert titles(output_files(cfg.out))["rss"] == ["Story in a-old.md", "Other story"]
    assert stats.unpublished == 3
    found = sorted((r.source.rsplit("/", 1)[1], r.field, r.reason, r.skipped) for r in reports)
    derived = "no usable URL; the id is derived from title and publication time"
    assert found == [
        ("c.md", "webUrl", derived, False),
        ("d.md", "webUrl", derived, False),
        ("e.md", "title", "missing or empty, and no excerpt to stand in; this unpublished"
         " record takes nothing down: without a URL, its id comes from its title", True),
        ("f.md", "publishedDateTime", "1970-01-01 is before 1990: not a plausible date; this"
         " unpublished record takes nothing down: without a URL, its id comes from its"
         " publication time", True),
    ]  # fmt: skip


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize(
    ("published", "reason"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01 is before 1990: not a plausible date"),
        ("someday", "not an RFC 3339 or RFC 822 timestamp: 'someday'"),
        (None, "missing"),
    ],
)
def test_an_unpublished_copy_whose_time_cannot_be_read_takes_the_article_down(
    tmp_path: Path, records: Path, way: str, published: str | None, reason: str
) -> None:
    """Which copy is newer cannot be told, as at equal times: the article stays down, and
    the report says so (a newer published copy comes back once the date is fixed)."""
    write(records, "c-newest.md", **story("c-newest.md", updatedDateTime="2026-01-09T00:00:00Z"))
    write(records, "b-down.md", **story("b-down.md", published=False,
          publishedDateTime=published or None, updatedDateTime=None))  # fmt: skip
    if published is None:  # a takedown written by hand: only the address
        (records / "b-down.md").write_text(f"---\nwebUrl: {URL}\npublished: false\n---\n")
    cfg, reports = config(tmp_path, way), list[Report]()
    stats = run_build(cfg, reports.append, **WAYS[way])
    outputs = output_files(cfg.out)
    for listed in titles(outputs).values():
        assert listed == ["Other story"]
    assert not holds(outputs, "Story in")
    assert (stats.published, stats.unpublished, stats.duplicates) == (1, 1, 2)
    [report] = reports
    assert (report.source.rsplit("/", 1)[1], report.field) == ("b-down.md", "publishedDateTime")
    assert report.reason == (
        f"{reason}; this unpublished record takes down every copy of {URL}, however new:"
        " its time cannot be compared with theirs"
    )


@pytest.mark.parametrize("pool", [False, True])
def test_taking_down_and_putting_back_rebuild_as_from_scratch(
    tmp_path: Path, records: Path, pool: bool
) -> None:
    """Through one cache, each change gives the bytes a build from nothing gives."""
    options = {"pool_threshold": 0} if pool else {}
    cached = config(tmp_path, "cached")

    def same_as_cold() -> dict[str, bytes]:
        warm, warm_stats = build(cached, **options)
        shutil.rmtree(tmp_path / "cold", ignore_errors=True)
        cold, cold_stats = build(config(tmp_path, "cold"), use_cache=False)
        assert warm == cold
        assert warm_stats.summary().split(" in ")[0] == cold_stats.summary().split(" in ")[0]
        return warm

    assert holds(same_as_cold(), "Story in a-old.md")
    down = {"published": False, "updatedDateTime": "2026-01-04T00:00:00Z"}
    write(records, "b-new.md", **story("b-new.md", **down))
    assert not holds(same_as_cold(), "Story in")
    # A newer published copy comes back over the withdrawal.
    write(records, "c-newest.md", **story("c-newest.md", updatedDateTime="2026-01-05T00:00:00Z"))
    outputs = same_as_cold()
    assert titles(outputs)["json"] == ["Story in c-newest.md", "Other story"]
    (records / "c-newest.md").unlink()
    assert not holds(same_as_cold(), "Story in")
    # Published again: the withdrawal's file is edited, then removed.
    write(records, "b-new.md", **story("b-new.md", updatedDateTime="2026-01-04T00:00:00Z"))
    assert titles(same_as_cold())["rss"] == ["Story in b-new.md", "Other story"]
    write(records, "b-new.md", **story("b-new.md", **down))
    assert not holds(same_as_cold(), "Story in")
    (records / "b-new.md").unlink()
    assert titles(same_as_cold())["atom"] == ["Story in a-old.md", "Other story"]


def test_a_withdrawal_in_a_json_lines_dump_takes_down_a_front_matter_copy(
    tmp_path: Path, records: Path
) -> None:
    newer = story("dump", published=False, updatedDateTime="2026-01-04T00:00:00Z")
    (records / "dump.jsonl").write_text(json.dumps(base_record(**newer)) + "\n", "utf-8")
    for way, options in WAYS.items():
        outputs, _ = build(config(tmp_path, way), **options)
        assert titles(outputs)["json"] == ["Other story"], way


def test_a_withdrawal_counts_where_the_cache_selects_in_memory(
    tmp_path: Path, records: Path
) -> None:
    """An article naming one topic twice sends selection from the cache's index to memory
    (see `cache_select.choose`): withdrawals count there too."""
    write(records, "twice.md", title="Twice", webUrl="https://example.org/2", topics=["X", "x"])
    newer = story("b-new.md", published=False, updatedDateTime="2026-01-04T00:00:00Z")
    write(records, "b-new.md", **newer)
    cached, _ = build(config(tmp_path, "cached"))
    in_memory, _ = build(config(tmp_path, "memory"), use_cache=False)
    assert cached == in_memory
    assert not holds(cached, "Story in") and holds(cached, "Twice")
