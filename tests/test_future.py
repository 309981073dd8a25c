"""Records dated later than the build are held until then, through every build path."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedpub import dumps
from feedpub.build import run_build
from feedpub.config import Config, ServerConfig
from feedpub.errors import BuildError
from feedpub.publish.builder import Builder
from feedpub.report import Report
from feedpub.timestamps import build_time

from .conftest import base_record, config_for, output_files, record_text, wait_for

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z: the build's time (SOURCE_DATE_EPOCH)
SOON = "2027-01-15T09:00:00Z"  # an hour later
LATER = NOW + 7200  # a build two hours later, when SOON is due


def at(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))


def write(folder: Path, name: str, **fields: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(record_text(base_record(**fields)), encoding="utf-8")
    stamp = time.time() - 3600  # not "racy": the cache trusts the file's size and mtime
    os.utime(folder / name, (stamp, stamp))


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    write(folder, "now.md", title="Current story", webUrl="https://example.org/now")
    write(
        folder,
        "soon.md",
        title="Scheduled story",
        webUrl="https://example.org/soon",
        publishedDateTime=SOON,
        topics=["Embargoed"],
    )
    return folder


def build(tmp_path: Path, records: Path, name: str, **options: Any) -> tuple[Any, ...]:
    config = config_for(tmp_path / name, records, cache_dir=tmp_path / name / "cache")
    reports: list[Report] = []
    stats = run_build(config, reports.append, **options)
    return output_files(config.out), [str(r) for r in reports], stats


def titles(outputs: dict[str, bytes], path: str = "all.atom") -> list[str]:
    return [entry.title for entry in feedparser.parse(outputs[path]).entries]


def test_a_record_dated_later_is_held_and_published_when_due(
    tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, NOW)
    out, reports, stats = build(tmp_path, records, "warm")
    assert titles(out) == ["Current story"]
    assert not [path for path in out if "embargoed" in path]  # its only topic waits too
    assert reports == [] and stats.held == 1 and stats.published == 1
    assert "held 1 dated later (next due 2027-01-15T09:00:00+00:00)" in stats.summary()
    assert build(tmp_path, records, "cold", use_cache=False)[:2] == (out, reports)

    at(monkeypatch, LATER)  # nothing changed on disk: the cache reads the held file again
    out, reports, stats = build(tmp_path, records, "warm")
    assert titles(out) == ["Scheduled story", "Current story"]
    assert titles(out, "topics/embargoed.atom") == ["Scheduled story"]
    assert stats.held == 0 and "held" not in stats.summary()
    assert build(tmp_path, records, "cold", use_cache=False)[:2] == (out, reports)


def test_publish_future_publishes_at_once(
    tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, NOW)
    config = config_for(tmp_path, records, publish_future=True)
    stats = run_build(config, lambda report: None)
    assert stats.held == 0 and stats.published == 2
    assert "Scheduled story" in titles(output_files(config.out))


def test_an_update_dated_later_waits_and_is_reported(
    tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(records, "now.md", title="Current story", updatedDateTime=SOON)
    at(monkeypatch, NOW)
    out, reports, _ = build(tmp_path, records, "warm")
    [line] = reports
    assert line.endswith(
        "now.md: updatedDateTime: 2027-01-15T09:00:00+00:00 is later than this build;"
        " the publication time stands in until then"
    )
    [entry] = feedparser.parse(out["all.atom"]).entries
    assert entry.updated == entry.published == "2026-01-02T03:04:05+00:00"
    assert build(tmp_path, records, "cold", use_cache=False)[:2] == (out, reports)

    at(monkeypatch, LATER)
    out, reports, _ = build(tmp_path, records, "warm")
    assert reports == []
    updated = [entry.updated for entry in feedparser.parse(out["all.atom"]).entries]
    assert "2027-01-15T09:00:00+00:00" in updated
    assert build(tmp_path, records, "cold", use_cache=False)[:2] == (out, reports)


def test_a_big_dump_read_in_parts_holds_its_later_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dumps, "PART_BYTES", 1_000)
    records = tmp_path / "records"
    records.mkdir()
    lines = []
    for number in range(40):
        date = SOON if number == 33 else f"2026-01-{1 + number % 28:02d}T00:00:00Z"
        fields = base_record(
            title=f"Item {number}", webUrl=f"https://example.org/{number}", publishedDateTime=date
        )
        lines.append(json.dumps(fields))
    (records / "dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    at(monkeypatch, NOW)
    out, reports, stats = build(tmp_path, records, "warm")
    assert stats.held == 1 and "Item 33" not in titles(out)
    at(monkeypatch, LATER)
    out, reports, stats = build(tmp_path, records, "warm")
    assert stats.held == 0 and titles(out)[0] == "Item 33"
    assert build(tmp_path, records, "cold", use_cache=False)[:2] == (out, reports)


@pytest.mark.parametrize("watch", [False, True])
def test_a_server_publishes_a_held_record_when_due_without_any_change(
    watch: bool, tmp_path: Path, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, NOW)
    config: Config = config_for(tmp_path, records, server=ServerConfig(poll_seconds=3600))
    builder = Builder(config)
    assert builder.poll()
    if watch:
        builder.start()  # its thread sleeps: the test polls
    try:
        if watch and builder._watcher is None:
            pytest.skip("no file system events on this platform")
        builder.poll()  # (the full scan after starting)
        assert builder.poll() is False  # not due yet: nothing to do
        if watch:  # a build of only what events name must not forget what is held
            write(records, "other.md", title="Other story", webUrl="https://example.org/o")
            wait_for(builder.poll)
        snapshot = builder.current()
        assert snapshot is not None
        assert b"Scheduled story" not in snapshot.resources["all.rss"].identity.body
        at(monkeypatch, LATER)
        assert builder.poll()
        snapshot = builder.current()
        assert snapshot is not None
        assert b"Scheduled story" in snapshot.resources["all.rss"].identity.body
        assert "topics/embargoed.rss" in snapshot.resources
        assert builder.poll() is False  # and once only
    finally:
        builder.stop()
    shutil.rmtree(config.out)


def test_a_folder_of_only_held_records_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "records", "soon.md", publishedDateTime=SOON)
    at(monkeypatch, NOW)
    config = config_for(tmp_path, tmp_path / "records")
    with pytest.raises(BuildError, match=r"\(1 held until their publication time\); nothing"):
        run_build(config, lambda report: None)


def test_the_build_time_is_source_date_epoch_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, NOW)
    assert build_time().timestamp() == NOW
    for junk in ("", "soon", "-5", "1e9", "١٢٣"):  # not a count of seconds: the clock
        monkeypatch.setenv("SOURCE_DATE_EPOCH", junk)
        assert abs(build_time().timestamp() - time.time()) < 60
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "9" * 30)
    assert build_time().year == 9999
