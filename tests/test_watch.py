"""The server re-reads only the files that file system events name, and scans when it must."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from feedpub import records as records_module
from feedpub.config import Config, ServerConfig
from feedpub.publish import builder as builder_module
from feedpub.publish.builder import Builder
from feedpub.publish.watch import RecordWatcher
from feedpub.records import rescan_names, scan_folder

from .conftest import base_record, config_for, wait_for

Write = Callable[..., Path]


# -- rescanning named files gives what a full scan gives -------------------------------------

NAMES = ["a.md", "b.json", "sub/c.md", "sub/deep/d.md", ".hidden.md", "sub/.e.md", ".dot/f.md"]
NAMES += ["a.md~", "#a.md#", "old~/g.md"]  # editors' backups: skipped like hidden files
operations = st.lists(
    st.tuples(st.sampled_from(["write", "grow", "delete", "link", "fifo", "dir"]),
              st.sampled_from(NAMES)),
    max_size=8,
)  # fmt: skip


def apply(folder: Path, operation: str, name: str) -> None:
    path = folder / name
    if operation in ("write", "grow"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or (path.exists() and not path.is_file()):
            path.unlink()  # never open a FIFO: it would wait for a reader
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab" if operation == "grow" else "wb") as handle:
            handle.write(b"---\ntitle: x\n---\n")
    elif operation == "delete":
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    elif operation == "link" and not path.exists() and not path.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(folder.parent / "outside.md")
    elif operation == "fifo" and not path.exists() and not path.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
    elif operation == "dir" and not path.exists():
        path.mkdir(parents=True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations, operations)
def test_rescanning_the_touched_files_equals_a_full_scan(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[tuple[str, str]],
    then: list[tuple[str, str]],
) -> None:
    root = tmp_path_factory.mktemp("scan")
    folder = root / "records"
    folder.mkdir()
    (root / "outside.md").write_bytes(b"---\ntitle: y\n---\n")
    (folder / "sub").mkdir()
    (folder / "linked-dir").symlink_to(root, target_is_directory=True)  # never descended
    for operation, name in first:
        apply(folder, operation, name)
    before = scan_folder(folder)
    for operation, name in then:
        apply(folder, operation, name)
    touched = {name for _, name in then} | {"linked-dir/outside.md", "sub/../a.md", ""}
    assert rescan_names(before, folder, touched).entries == scan_folder(folder).entries


# -- the watcher -----------------------------------------------------------------------------


@pytest.fixture
def watcher(records_dir: Path) -> Any:
    watching = RecordWatcher(records_dir)
    if not watching.start():
        pytest.skip("no file system events on this platform")
    yield watching
    watching.stop()


def test_the_watcher_names_changed_files(watcher: RecordWatcher, records_dir: Path) -> None:
    (records_dir / "sub").mkdir()
    wait_for(lambda: watcher.take().rescan)  # a new folder: only a full scan can tell
    (records_dir / "sub" / "a.md").write_text("---\ntitle: x\n---\n")
    names: set[str] = set()
    wait_for(lambda: names.update(watcher.take().names) or "sub/a.md" in names)
    (records_dir / "sub" / "a.md").rename(records_dir / "b.md")
    wait_for(lambda: names.update(watcher.take().names) or "b.md" in names)
    assert "sub/a.md" in names


def test_reading_a_file_is_no_change(watcher: RecordWatcher, records_dir: Path) -> None:
    record = records_dir / "a.md"
    record.write_text("---\ntitle: x\n---\n")
    wait_for(lambda: "a.md" in watcher.take().names)
    time.sleep(0.2)
    watcher.take()
    record.read_bytes()
    time.sleep(0.3)
    assert watcher.take().names == frozenset()


# -- the builder with a watcher ----------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, records_dir: Path) -> Config:
    # The test polls itself: the builder's thread sleeps.
    return config_for(tmp_path, records_dir, server=ServerConfig(poll_seconds=3600))


def test_a_watching_builder_reads_only_what_events_name(
    config: Config, write_record: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        write_record(f"{number}.md", base_record(webUrl=f"https://example.org/{number}"))
    builder = Builder(config)
    assert builder.poll()
    builder.start()
    try:
        if builder._watcher is None:
            pytest.skip("no file system events on this platform")
        assert builder.status()["changes_by"] == "events"
        assert builder.poll() is False  # the full scan after starting: nothing new
        scans: list[Path] = []
        real_scan = records_module.scan_stats
        monkeypatch.setattr(records_module, "scan_stats", lambda f: scans.append(f) or real_scan(f))
        write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
        wait_for(builder.poll)
        snapshot = builder.current()
        assert snapshot is not None and b"Fresh" in snapshot.resources["all.rss"].identity.body
        (config.records / "new.md").unlink()
        wait_for(builder.poll)
        snapshot = builder.current()
        assert snapshot is not None and b"Fresh" not in snapshot.resources["all.rss"].identity.body
        assert scans == []  # no full scan: the events named the files
        shutil.rmtree(config.cache_dir)  # a lost cache: the named files alone would not do
        write_record("late.md", base_record(title="Late", webUrl="https://example.org/late"))
        wait_for(builder.poll)
        snapshot = builder.current()
        assert snapshot is not None
        served = snapshot.resources["all.rss"].identity.body
        assert b"Late" in served and all(f"example.org/{n}".encode() in served for n in range(3))
        monkeypatch.setattr(builder_module, "FULL_SCAN_SECONDS", 0.0)
        builder.poll()
        assert scans == [config.records]  # and still one now and then
    finally:
        builder.stop()
    assert builder._watcher is None


def test_without_events_the_builder_scans(
    config: Config, write_record: Write, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("inotify watch limit reached")

    write_record("a.md", base_record())
    builder = Builder(config)
    builder.poll()
    monkeypatch.setattr("watchdog.observers.Observer.schedule", refuse)
    with caplog.at_level(logging.WARNING, logger="feedpub.serve"):
        builder.start()
    try:
        assert builder._watcher is None and builder.status()["changes_by"] == "scan"
        assert any("polling instead" in message for message in caplog.messages)
        write_record("b.md", base_record(title="Polled", webUrl="https://example.org/b"))
        assert builder.poll()
        snapshot = builder.current()
        assert snapshot is not None and b"Polled" in snapshot.resources["all.rss"].identity.body
    finally:
        builder.stop()


def test_a_scan_lists_many_folders_and_skips_linked_ones(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    for number in range(1_100):  # more folders than a process may hold open at once
        (folder / f"f{number:04}").mkdir(parents=True)
        (folder / f"f{number:04}" / "a.md").write_bytes(b"x")
    (folder / "f0000" / "link").symlink_to(folder / "f0001", target_is_directory=True)
    names = [name for name, _size, _mtime in scan_folder(folder).entries]
    assert names == [f"f{number:04}/a.md" for number in range(1_100)]


def test_a_records_folder_made_again_is_watched_again(config: Config, write_record: Write) -> None:
    write_record("a.md", base_record())
    builder = Builder(config)
    builder.poll()
    builder.start()
    try:
        if builder._watcher is None:
            pytest.skip("no file system events on this platform")
        builder.poll()
        shutil.rmtree(config.records)
        wait_for(lambda: builder.poll() or builder.status()["status"] == "degraded")
        config.records.mkdir()
        write_record("b.md", base_record(title="Back again", webUrl="https://example.org/b"))
        wait_for(builder.poll)  # the folder event: watched afresh, and scanned once
        assert builder._watcher is not None and builder._watcher.alive
        write_record("c.md", base_record(title="Third", webUrl="https://example.org/c"))
        wait_for(builder.poll)  # told by an event of the new watcher, long before a full scan
        snapshot = builder.current()
        assert snapshot is not None and b"Third" in snapshot.resources["all.rss"].identity.body
    finally:
        builder.stop()
