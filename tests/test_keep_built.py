"""`feedpub build --watch`: the output folder follows the records until the command stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import pytest

from feedpub.config import ServerConfig
from feedpub.publish.builder import Builder
from feedpub.publish.files import TEMP_SUFFIX

from .conftest import base_record, config_for, record_text, wait_for

Write = Callable[..., Path]


def titles(out: Path) -> list[str]:
    """The entry titles of all.rss as a feed reader sees them ([] while there is none)."""
    path = out / "all.rss"
    if not path.is_file():
        return []
    return [entry.title for entry in feedparser.parse(path.read_bytes()).entries]


class Watching:
    """A `feedpub build --watch` process and its stderr (kept in a file: no pipe to fill)."""

    def __init__(self, tmp_path: Path, records: Path, *extra: str) -> None:
        self.out = tmp_path / "out"
        self.log = tmp_path / "watch.log"
        config = tmp_path / "config.yaml"
        config.write_text("server:\n  poll_seconds: 0.2\n", encoding="utf-8")
        command = [sys.executable, "-m", "feedpub.cli", "build", "--watch", "--config", str(config)]
        command += ["--records", str(records), "--out", str(self.out), *extra]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=tmp_path, stderr=log)

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@pytest.fixture
def watching(tmp_path: Path, records_dir: Path) -> Iterator[Callable[..., Watching]]:
    started: list[Watching] = []

    def start(*extra: str) -> Watching:
        started.append(Watching(tmp_path, records_dir, *extra))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def test_watch_rebuilds_on_each_change_and_keeps_feeds_through_bad_input(
    watching: Callable[..., Watching], records_dir: Path, write_record: Write
) -> None:
    record = write_record("a.md", base_record(title="First title"))
    run = watching()
    wait_for(lambda: "watching" in run.stderr())
    assert titles(run.out) == ["First title"]

    record.write_text(record_text(base_record(title="Edited title")), encoding="utf-8")
    wait_for(lambda: titles(run.out) == ["Edited title"])

    write_record("b.md", base_record(title="Second", webUrl="https://example.org/b"))
    wait_for(lambda: sorted(titles(run.out)) == ["Edited title", "Second"])
    assert "wrote " in run.stderr()

    write_record("bad.md", "---\ntitle: [\n---\n")  # reported, named; the feeds stay
    wait_for(lambda: "bad.md: front matter: not valid YAML" in run.stderr())
    assert sorted(titles(run.out)) == ["Edited title", "Second"]

    record.unlink()
    wait_for(lambda: titles(run.out) == ["Second"])

    assert run.stop() == 0
    assert not list(run.out.rglob(f"*{TEMP_SUFFIX}"))
    assert "Traceback" not in run.stderr()


def test_a_failed_build_leaves_the_files_as_they_were(
    watching: Callable[..., Watching], records_dir: Path, write_record: Write
) -> None:
    write_record("a.md", base_record(title="Kept"))
    run = watching()
    wait_for(lambda: "watching" in run.stderr())
    before = {path: path.read_bytes() for path in run.out.rglob("*") if path.is_file()}

    for path in records_dir.iterdir():  # nothing left to publish: the build fails
        path.unlink()
    wait_for(lambda: "files in" in run.stderr() and "are unchanged" in run.stderr())
    assert {path: path.read_bytes() for path in run.out.rglob("*") if path.is_file()} == before

    write_record("a.md", base_record(title="Back"))  # the next change builds again
    wait_for(lambda: titles(run.out) == ["Back"])
    assert run.stop(signal.SIGINT) == 0


def test_quiet_watch_prints_only_problems(
    watching: Callable[..., Watching], write_record: Write
) -> None:
    write_record("a.md", base_record())
    write_record("bad.md", "---\ntitle: [\n---\n")
    run = watching("--quiet")
    wait_for(lambda: "bad.md" in run.stderr())
    wait_for(lambda: titles(run.out) == ["A headline"])
    assert run.stop() == 0
    text = run.stderr()
    assert "INFO" not in text and "watching" not in text
    assert "[WARNING] records/bad.md: front matter: not valid YAML" in text


def test_a_files_only_builder_holds_no_snapshot(
    tmp_path: Path, records_dir: Path, write_record: Write
) -> None:
    record = write_record("a.md", base_record())
    an_hour_ago = time.time() - 3600
    os.utime(record, (an_hour_ago, an_hour_ago))
    config = config_for(tmp_path, records_dir, server=ServerConfig(poll_seconds=0.2))
    builder = Builder(config, serving=False)
    assert builder.poll()
    assert builder.current() is None  # no site and no compressed copies kept in memory
    assert builder.status()["status"] == "ok"
    assert titles(config.out) == ["A headline"]
    assert not builder.poll()  # nothing changed: no build


def test_a_record_written_just_before_a_build_is_read_again_by_the_next_poll(
    tmp_path: Path, records_dir: Path, write_record: Write
) -> None:
    """Within its mtime tick a file can change again with the same size and mtime (coarse
    file systems: 1-2 s); the builder looks once more, and the cache reads it again."""
    record = write_record("a.md", base_record(title="Old title"))
    config = config_for(tmp_path, records_dir, server=ServerConfig(poll_seconds=0.2))
    builder = Builder(config, serving=False)
    assert builder.poll()
    before = record.stat()
    record.write_text(record_text(base_record(title="New title")), encoding="utf-8")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick
    assert record.stat().st_size == before.st_size
    time.sleep(2.1)  # feedpub.records.RACY_NS: the tick is surely over
    assert builder.poll()  # the scan looks the same, but its racy files are read again
    assert titles(config.out) == ["New title"]
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(record, ns=(an_hour_ago, an_hour_ago))
    assert builder.poll()  # a changed mtime
    assert not builder.poll()  # nothing racy, nothing changed: no build
