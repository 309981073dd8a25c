"""The whole build: dedupe, limits, determinism, atomic and minimal writes, failures."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedpub import dumps, rerender
from feedpub.build import build_site, run_build
from feedpub.cache import RecordCache
from feedpub.errors import BuildError
from feedpub.publish.files import (
    TEMP_SUFFIX,
    advanced,
    not_in_future,
    output_target,
    write_outputs,
)
from feedpub.render import html as html_module
from feedpub.render import render_site
from feedpub.report import Report
from feedpub.stats import BuildStats

from .conftest import SAMPLE_RECORDS, BuildRun, base_record, config_for, output_files

Build = Callable[..., BuildRun]
Write = Callable[..., Path]


def test_same_records_give_byte_identical_output(
    tmp_path: Path, build: Build, records_dir: Path
) -> None:
    shutil.copytree(SAMPLE_RECORDS, records_dir, dirs_exist_ok=True)
    first = output_files(build().out)
    # Same records under other names, in another order: still the same bytes.
    other = tmp_path / "other"
    other.mkdir()
    for index, path in enumerate(sorted(records_dir.iterdir(), reverse=True)):
        shutil.copy(path, other / f"z{index:03d}_{path.name}")
    second = output_files(build(records=other, out=tmp_path / "out2").out)
    assert first == second


def test_duplicate_urls_are_one_entry_most_recently_updated_wins(
    build: Build, write_record: Write
) -> None:
    url = "https://example.org/live"
    write_record(
        "a.md", base_record(webUrl=url, title="Old", updatedDateTime="2026-01-05T00:00:00Z")
    )
    write_record(
        "b.md", base_record(webUrl=url, title="New", updatedDateTime="2026-01-06T00:00:00Z")
    )
    write_record("c.md", base_record(webUrl=url, title="Oldest"))
    run = build()
    items = json.loads(run.read("all.json"))["items"]
    assert [item["title"] for item in items] == ["New"]
    assert run.stats.duplicates == 2 and run.stats.published == 1


def test_max_items_keeps_the_newest_with_ties_broken_by_id(
    build: Build, write_record: Write
) -> None:
    for index in range(6):
        day = 1 + index // 2  # pairs share a publication time
        write_record(
            f"r{index}.md",
            base_record(
                webUrl=f"https://example.org/{index}", publishedDateTime=f"2026-02-0{day}T00:00:00Z"
            ),
        )
    items = json.loads(build(max_items=3).read("all.json"))["items"]
    assert [item["id"] for item in items] == [
        "https://example.org/4",
        "https://example.org/5",
        "https://example.org/2",
    ]


def test_feed_dates_come_from_entries_not_the_clock(build: Build, write_record: Write) -> None:
    write_record("a.md", base_record(publishedDateTime="2020-03-04T05:06:07Z"))
    run = build()
    parsed = feedparser.parse(run.read("all.atom"))
    assert parsed.feed.updated == "2020-03-04T05:06:07+00:00"
    assert os.stat(run.out / "all.rss").st_mtime == pytest.approx(1583298367)


def test_a_changed_feed_file_time_never_stays_or_goes_back(
    build: Build, write_record: Write, records_dir: Path
) -> None:
    """Entry times date the files, but a feed whose bytes change without a newer entry (the
    newest removed, an edit without a new updatedDateTime, an older article added) moves
    one second past its old time: pollers sending If-Modified-Since, and static servers'
    ETags of mtime and size, must see the change."""

    def times(out: Path) -> dict[str, float]:
        files = (p for p in out.rglob("*.*") if not p.name.startswith("."))  # not the manifest
        return {p.relative_to(out).as_posix(): p.stat().st_mtime for p in files}

    def build_and_check() -> BuildRun:
        before = times(records_dir.parent / "out") if (records_dir.parent / "out").exists() else {}
        run = build()
        after = times(run.out)
        for path in run.stats.written_paths:
            if path in before:
                assert after[path] >= before[path] + 1, path  # changed: moved forward
        for path in set(before) & set(after) - set(run.stats.written_paths):
            assert after[path] == before[path], path  # unchanged: untouched
        return run

    newest = "2020-03-04T05:06:07Z"
    write_record("old.md", base_record(publishedDateTime="2020-01-01T00:00:00Z", topics=["A"]))
    write_record("new.md", base_record(publishedDateTime=newest, webUrl="https://e.org/n"))
    first = build_and_check()
    start = os.stat(first.out / "all.rss").st_mtime
    assert start == pytest.approx(1583298367)  # the newest entry's time
    (records_dir / "new.md").unlink()  # the newest entry removed
    second = build_and_check()
    assert os.stat(second.out / "all.rss").st_mtime == start + 1
    edited = base_record(
        publishedDateTime="2020-01-01T00:00:00Z", topics=["A"], title="Same dates, new title"
    )
    write_record("old.md", edited)
    third = build_and_check()
    assert {"all.rss", "topics/a.rss"} <= set(third.stats.written_paths)
    assert os.stat(third.out / "all.rss").st_mtime == start + 2
    write_record("newer.md", base_record(publishedDateTime="2021-01-01T00:00:00Z"))
    fourth = build_and_check()
    assert os.stat(fourth.out / "all.rss").st_mtime == pytest.approx(1609459200)  # its entry's
    assert not build_and_check().stats.written_paths  # nothing changed: nothing moves


def test_a_feed_dated_at_the_end_of_year_9999_can_still_change(
    build: Build, write_record: Write
) -> None:
    # (published at once: held, it would be due at that time)
    last = "9999-12-31T23:59:59Z"  # the latest time a record may give
    write_record("a.md", base_record(publishedDateTime=last, title="First"))
    before = os.stat(
        build(publish_future=True).out / "all.rss"
    ).st_mtime  # (file systems may cap it: ext4 at 2446)
    write_record("a.md", base_record(publishedDateTime=last, title="Second"))
    run = build(publish_future=True)
    assert b"Second" in run.read("all.rss") and "all.rss" in run.stats.written_paths
    assert os.stat(run.out / "all.rss").st_mtime >= before
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # no second after it to move to:
    assert advanced(end, end.timestamp()) == end  # the time stays, the bytes change


def test_an_entry_dated_in_the_future_never_dates_its_files_in_the_future(
    build: Build, write_record: Write
) -> None:
    # Static servers send a file's time as Last-Modified, which may not be later than now:
    # so when such entries are published at once (else they are held: tests/test_future.py).
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_record("past.md", base_record(publishedDateTime="2020-01-01T00:00:00Z", topics=["A"]))
    write_record("soon.md", base_record(publishedDateTime=tomorrow, webUrl="https://e.org/s"))
    started = time.time()
    first = build(publish_future=True)
    built = time.time()
    for path in ("all.rss", "all.atom", "all.json", "index.html"):
        assert int(started) <= os.stat(first.out / path).st_mtime <= built, path
    assert os.stat(first.out / "topics/a.rss").st_mtime == 1577836800  # its own entry's
    stamp = os.stat(first.out / "all.rss").st_mtime
    write_record("soon.md", base_record(publishedDateTime=tomorrow, webUrl="https://e.org/s",
                                        title="Retitled"))  # fmt: skip
    second = build(publish_future=True)
    assert "all.rss" in second.stats.written_paths
    assert stamp + 1 <= os.stat(second.out / "all.rss").st_mtime <= max(time.time(), stamp + 1)
    now = datetime(2030, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    later = datetime(2031, 1, 1, tzinfo=UTC)
    assert not_in_future(later, None, now) == now.replace(microsecond=0)
    assert not_in_future(later, now.timestamp(), now) == now.replace(microsecond=0) + timedelta(
        seconds=1
    )  # a file already dated this second still moves forward
    assert not_in_future(now, None, now) == now  # not in the future: as it is


def test_bad_records_are_reported_and_the_rest_publish(build: Build, write_record: Write) -> None:
    write_record("good.md", base_record())
    write_record("bad-yaml.md", "---\ntitle: [oops\n---\n")
    write_record("no-date.md", base_record(publishedDateTime=None, webUrl="https://example.org/b"))
    write_record("notes.txt", "just some notes\n")
    run = build()
    lines = run.lines()
    assert any(
        line.startswith(f"{run_records(run)}/bad-yaml.md: front matter: not valid YAML")
        for line in lines
    )
    assert any("/no-date.md: publishedDateTime: missing" in line for line in lines)
    assert any("/notes.txt: file: no front matter" in line for line in lines)
    assert run.stats.published == 1 and run.stats.skipped == 3


def run_records(run: BuildRun) -> str:
    return run.reports[0].source.rsplit("/", 1)[0]


def test_strict_makes_any_report_fatal_and_writes_nothing(
    build: Build, write_record: Write
) -> None:
    write_record("good.md", base_record())
    write_record("crlf.md", "---\r\ntitle: t\r\npublishedDateTime: 2026-01-01T00:00:00Z\r\n---\r\n")
    with pytest.raises(BuildError, match="--strict"):
        build(strict=True)


def test_missing_or_empty_records_folder_fails_and_keeps_old_feeds(
    tmp_path: Path, build: Build, write_record: Write, records_dir: Path
) -> None:
    write_record("good.md", base_record())
    before = output_files(build().out)
    with pytest.raises(BuildError, match="records folder not found"):
        build(records=tmp_path / "missing")
    for path in records_dir.iterdir():
        path.unlink()
    with pytest.raises(BuildError, match="no publishable records"):
        build()
    assert output_files(tmp_path / "out") == before
    # A build that fails before it has anything to write leaves no output folder behind.
    with pytest.raises(BuildError, match="records folder not found"):
        build(records=tmp_path / "missing", out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_a_failed_write_leaves_the_old_feeds_intact(
    tmp_path: Path, build: Build, write_record: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_record("a.md", base_record())
    before = output_files(build().out)
    write_record("b.md", base_record(webUrl="https://example.org/b", title="Second"))

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(BuildError, match="No space left on device"):
        build()
    monkeypatch.undo()
    assert output_files(tmp_path / "out") == before
    assert not [p for p in (tmp_path / "out").rglob("*") if "tmp" in p.name]


def test_unchanged_files_are_not_rewritten_and_stale_ones_removed(
    build: Build, write_record: Write
) -> None:
    write_record("a.md", base_record(topics=["Old topic"]))
    run = build()
    before = {path: path.stat() for path in run.out.rglob("*")}
    assert build().stats.written == 0
    # Nothing in the output folder is touched, the hidden list of outputs included.
    after = {path: path.stat() for path in run.out.rglob("*")}
    assert before.keys() == after.keys()
    for path, found in after.items():
        was = before[path]
        assert (found.st_ino, found.st_mtime_ns) == (was.st_ino, was.st_mtime_ns), path
    write_record("a.md", base_record(topics=["New topic"]))
    run = build()
    assert not (run.out / "topics/old-topic.rss").exists()
    assert (run.out / "topics/new-topic.rss").exists()
    assert run.stats.removed == 3


@pytest.mark.parametrize(
    "bad",
    ["../evil.rss", "/etc/passwd", "topics/../../x", "a\\b.rss", "", "a//b.rss", "./a.rss", "t/"],
)
def test_outputs_never_leave_the_output_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BuildError, match="outside the output folder"):
        output_target(tmp_path, bad)
    with pytest.raises(BuildError):
        write_outputs({bad: b"x"}, tmp_path / "out")
    assert not (tmp_path / "evil.rss").exists()


def test_symbolic_links_out_of_the_output_folder_are_refused(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "topics").symlink_to(elsewhere, target_is_directory=True)
    (out / "all.rss").symlink_to(elsewhere / "victim")
    (out / "inside").mkdir()
    (out / "inside" / "ok.rss").symlink_to(out / "inside" / "real.rss")
    for bad in ("topics/ai.rss", "all.rss"):
        with pytest.raises(BuildError, match="outside the output folder"):
            output_target(out, bad)
    assert output_target(out, "inside/ok.rss") == out / "inside" / "ok.rss"
    assert output_target(out, "index.html") == out / "index.html"
    with pytest.raises(BuildError):
        write_outputs({"topics/ai.rss": b"x"}, out)
    assert list(elsewhere.iterdir()) == []


def test_an_output_that_is_a_symbolic_link_loop_is_an_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    """Resolving it raised RuntimeError ("Symlink loop from ..."), past the CLI's handler."""
    out = tmp_path / "out"
    (out / "topics").mkdir(parents=True)
    (out / "all.rss").symlink_to("all.rss")
    (out / "topics" / "a.rss").symlink_to("b.rss")
    (out / "topics" / "b.rss").symlink_to("a.rss")
    for bad in ("all.rss", "topics/a.rss"):
        with pytest.raises(BuildError, match=f"cannot write {out / bad}: .*loop"):
            output_target(out, bad)
    with pytest.raises(BuildError, match="loop"):
        write_outputs({"all.rss": b"x", "index.html": b"y"}, out)
    assert not (out / "index.html").exists()


def test_a_records_folder_swapped_for_a_symbolic_link_loop_is_not_found(tmp_path: Path) -> None:
    """As after a config check passed (a server's records swapped meanwhile): the cache's
    fingerprint resolved it and raised RuntimeError ("Symlink loop from ...")."""
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(BuildError, match="records folder not found"):
        build_site(config_for(tmp_path, tmp_path / "loop"), [].append, BuildStats())


def test_a_dump_replaced_by_a_symbolic_link_loop_is_reported(
    build: Build, write_record: Write, records_dir: Path
) -> None:
    write_record("a.md", base_record())
    dump = write_record("dump.json", [base_record(title="Dumped", webUrl="https://e.org/d")])
    assert build().stats.published == 2
    dump.unlink()
    dump.symlink_to("dump.json")
    for _ in range(2):  # the first build reads it, the next one has it from the cache
        run = build()
        assert run.lines() == [
            f"{records_dir}/dump.json: file: cannot read: Too many levels of symbolic links"
        ]
        assert run.stats.published == 1 and run.stats.skipped == 1


@pytest.mark.parametrize(
    "how", [{"use_cache": False}, {"use_cache": True}, {"use_cache": True, "pool_threshold": 0}]
)
def test_a_record_linked_from_outside_the_records_folder_is_reported_not_read(
    tmp_path: Path, write_record: Write, records_dir: Path, how: dict[str, Any]
) -> None:
    """A record set from elsewhere (a cloned repository, an unpacked archive) may hold
    `a.md -> ~/.ssh/...`: such a link is named and skipped; links inside are followed."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.md").write_text(
        "---\n" + json.dumps(base_record(title="Secret", webUrl="https://e.org/s")) + "\n---\n"
    )
    write_record("a.md", base_record(title="Plain", webUrl="https://e.org/a"))
    write_record("sub/b.md", base_record(title="Linked", webUrl="https://e.org/b"))
    (records_dir / "leak.md").symlink_to(private / "secret.md")
    (records_dir / "sub" / "up.md").symlink_to("../../private/secret.md")
    (records_dir / "sub" / "around.md").symlink_to("../../records/a.md")  # out, and back in
    (records_dir / "inside.md").symlink_to("sub/b.md")
    config = config_for(tmp_path, records_dir)
    for _ in range(2):  # the second build has them from the cache
        reports: list[Report] = []
        stats = run_build(config, reports.append, **how)
        assert [str(report) for report in reports] == [
            f"{records_dir}/{name}: file: a symbolic link out of the records folder; skipped"
            for name in ("leak.md", "sub/up.md")
        ]
        assert (stats.published, stats.duplicates, stats.skipped) == (2, 2, 2)
    titles = [entry.title for entry in feedparser.parse(config.out / "all.atom").entries]
    assert sorted(titles) == ["Linked", "Plain"]
    assert not any(b"Secret" in data for data in output_files(config.out).values())


def test_a_big_dump_linked_from_outside_the_records_folder_is_not_read_in_parts(
    tmp_path: Path, records_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dumps, "PART_BYTES", 500)
    private = tmp_path / "private"
    private.mkdir()
    lines = [json.dumps(base_record(webUrl=f"https://e.org/{n}")) for n in range(20)]
    (private / "dump.jsonl").write_text("\n".join(lines) + "\n")
    (records_dir / "dump.jsonl").symlink_to(private / "dump.jsonl")
    (records_dir / "a.md").write_text("---\n" + json.dumps(base_record()) + "\n---\n")
    reports: list[Report] = []
    stats = run_build(config_for(tmp_path, records_dir), reports.append, pool_threshold=0)
    assert [str(report) for report in reports] == [
        f"{records_dir}/dump.jsonl: file: a symbolic link out of the records folder; skipped"
    ]
    assert stats.published == 1


def test_links_inside_a_records_folder_reached_through_a_link_are_followed(
    tmp_path: Path, write_record: Write, records_dir: Path
) -> None:
    write_record("a.md", base_record(title="Plain", webUrl="https://e.org/a"))
    (records_dir / "again.md").symlink_to(records_dir / "a.md")
    (tmp_path / "current").symlink_to(records_dir, target_is_directory=True)
    reports: list[Report] = []
    stats = run_build(config_for(tmp_path, tmp_path / "current"), reports.append)
    assert reports == []
    assert (stats.published, stats.duplicates) == (1, 1)


def test_hostile_topic_names_stay_inside_topics(
    build: Build, write_record: Write, tmp_path: Path
) -> None:
    names = ["..", "../../etc/passwd", "/etc/passwd", "a/b\\c", "CON", "nul", ".", "~", "AI", "ai"]
    write_record("a.md", base_record(topics=names))
    run = build()
    produced = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    outside = [p for p in produced if not p.startswith(("out/", "records/", "cache/"))]
    assert outside == []
    slugs = sorted(p.name.rsplit(".", 1)[0] for p in (run.out / "topics").glob("*.rss"))
    assert len(slugs) == 9  # "AI" and "ai" are one topic
    assert "ai" in slugs and "con" not in slugs and all(slug and "." not in slug for slug in slugs)


def test_colliding_hashed_slugs_get_the_whole_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from feedpub import topics

    real = topics.topic_slug

    def weak_hash(key: str, digits: int = 8) -> str:
        # As if an attacker found two names whose 8-digit hashes agree.
        return "x-00000000" if digits == 8 and key in ("a+", "a!") else real(key, digits)

    monkeypatch.setattr(topics, "topic_slug", weak_hash)
    slugs = topics.assign_slugs(["a+", "a!", "b"])
    assert slugs["b"] == "b"
    assert slugs["a+"] != slugs["a!"]
    assert len(slugs["a+"]) == len("a-") + 40


def test_many_feeds_are_rendered_and_written_a_batch_at_a_time(
    tmp_path: Path, build: Build, write_record: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build of thousands of topics must not hold every feed's articles and bytes in
    memory: feeds are rendered a batch at a time, and each batch's files are staged on disk
    before the entries of the batch after the next are read (one batch is rendered while
    the one before it is written). Same files as rendering all at once."""
    for index in range(12):
        write_record(
            f"r{index}.md",
            base_record(
                title=f"Story {index}",
                webUrl=f"https://example.org/{index}",
                topics=[f"Topic {index}", f"Topic {index % 3} extra"],
            ),
        )
    whole = output_files(build(cache_dir=tmp_path / "cache-whole", out=tmp_path / "whole").out)
    feeds = (len(whole) - 2) // 3  # three formats each, and the OPML list and index page
    assert feeds == 16  # everything, 12 topics and 3 "extra" ones

    monkeypatch.setattr(rerender, "RENDER_BATCH", 4)
    staged_before_each_batch: list[int] = []
    bodies = RecordCache.bodies

    def counting_bodies(cache: RecordCache, keys: Any) -> Any:
        staged = [path for path in (tmp_path / "out").rglob(f"*{TEMP_SUFFIX}")]
        staged_before_each_batch.append(len(staged))
        return bodies(cache, keys)

    monkeypatch.setattr(RecordCache, "bodies", counting_bodies)
    batched = build()
    # Batches of 4 feeds (12 files), then the index's headlines: staged as they were made.
    assert staged_before_each_batch == [0, 0, 12, 24, 48]
    assert output_files(batched.out) == whole
    assert batched.stats.written == len(whole)


def test_an_index_of_many_topics_shows_the_biggest_in_full_and_lists_the_others(
    tmp_path: Path,
    records_dir: Path,
    build: Build,
    write_record: Write,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `FEATURED_TOPICS`, the other topics are listed by name and feed links only (no
    headlines, no autodiscovery links): a site of 20,000 topics made a 33 MB page."""
    monkeypatch.setattr(html_module, "FEATURED_TOPICS", 2)
    counts = {"Big": 3, "Bigger": 4, "Small": 1, "Tiny": 1}
    index = 0
    for topic, count in counts.items():
        for _ in range(count):
            index += 1
            write_record(
                f"r{index}.md",
                base_record(
                    title=f"Story {index} of {topic}",
                    webUrl=f"https://example.org/{index}",
                    topics=[topic],
                ),
            )
    page = build().read("index.html").decode()
    head, body = page.split("</head>", 1)
    for slug in ("all", "big", "bigger"):
        assert f"/topics/{slug}.rss" in head or slug == "all"
        assert f'id="topic-{slug}"' in body or slug == "all"
    for slug in ("small", "tiny"):
        assert f"/topics/{slug}.rss" not in head and f'id="topic-{slug}"' not in body
        assert f'<a href="https://feeds.example.com/topics/{slug}.rss">RSS</a>' in body
    assert 'href="#more-topics">2 more</a>' in body
    assert "Story 1 of Big" in body and "of Small" not in body and "of Tiny" not in body
    # The page rendered from the whole site (as the server does, or a build without the
    # cache) is the same.
    site = build_site(config_for(tmp_path, records_dir), lambda report: None, BuildStats())
    assert render_site(site)["index.html"] == page.encode()
