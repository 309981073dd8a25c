"""The helper process that stats a big folder's last names: the same scan with it, without it,
and whatever goes wrong with it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from feedpub import stat_helper
from feedpub.records import scan_stats
from feedpub.stat_helper import StatHelper, stat_each

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the helper needs dir_fd (POSIX)")


def make_folder(root: Path) -> None:
    """Files of every kind a scan meets, spread over the whole name range (so that the
    helper's share holds some of each): files, links to files, links that lead nowhere,
    folders and links to folders, a FIFO, hidden and backup names."""
    for index in range(60):
        (root / f"{index:03d}.md").write_text("x" * index, encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "inner.md").write_text("inner", encoding="utf-8")
    (root / "zz-sub").mkdir()
    (root / "zz-sub" / "deep.md").write_text("deep", encoding="utf-8")
    (root / "zz-linked-folder").symlink_to("sub")
    (root / "zz-linked.md").symlink_to("001.md")
    (root / "zz-gone.md").symlink_to("missing.md")
    (root / "zz-loop.json").symlink_to("zz-loop.json")
    os.mkfifo(root / "zz-fifo.md")
    (root / ".zz-hidden.md").write_text("hidden", encoding="utf-8")
    (root / "zz-backup.md~").write_text("backup", encoding="utf-8")


@pytest.fixture
def every_folder_helped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper for every folder, however small."""
    monkeypatch.setattr(stat_helper, "MIN_FOLDER_BYTES", 0)


def scan_without_helper(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int, int]]:
    with monkeypatch.context() as patch:
        patch.setattr(StatHelper, "start", classmethod(lambda cls, descriptor: None))
        return scan_stats(folder)


def test_a_scan_with_the_helper_is_the_scan_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_folder_helped: None
) -> None:
    make_folder(tmp_path)
    started: list[StatHelper | None] = []
    real_start = StatHelper.start.__func__  # type: ignore[attr-defined]

    def counted_start(cls: type[StatHelper], descriptor: int) -> StatHelper | None:
        helper = real_start(cls, descriptor)
        started.append(helper)
        return helper

    monkeypatch.setattr(StatHelper, "start", classmethod(counted_start))
    helped = scan_stats(tmp_path)
    assert started and all(helper is not None for helper in started)  # one per folder
    plain = scan_without_helper(tmp_path, monkeypatch)
    assert helped == plain
    names = [name for name, _, _ in helped]
    assert "zz-gone.md" in names and "zz-loop.json" in names  # listed: reading reports them
    assert "zz-linked.md" in names and "zz-sub/deep.md" in names and "sub/inner.md" in names
    assert not any(name.startswith("zz-linked-folder") for name in names)  # links: not followed
    assert "zz-fifo.md" not in names and ".zz-hidden.md" not in names


@pytest.mark.parametrize(
    "executable",
    [
        "/nonexistent/python",  # cannot be started
        "/bin/false",  # exits with an error, says nothing
        "/bin/echo",  # says something that is not an answer
        "/bin/cat",  # gives back what it was sent: not an answer either
    ],
)
def test_a_helper_that_fails_leaves_the_scan_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_folder_helped: None, executable: str
) -> None:
    make_folder(tmp_path)
    expected = scan_without_helper(tmp_path, monkeypatch)
    if not Path(executable).exists() and not executable.startswith("/nonexistent"):
        pytest.skip(f"no {executable} here")
    monkeypatch.setattr(sys, "executable", executable)
    assert scan_stats(tmp_path) == expected


def test_a_helper_killed_midway_leaves_the_scan_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_folder_helped: None
) -> None:
    make_folder(tmp_path)
    expected = scan_without_helper(tmp_path, monkeypatch)
    real_send = StatHelper.send

    def send_then_die(helper: StatHelper, names: list[str]) -> bool:
        sent = real_send(helper, names)
        helper.stop()  # as the OOM killer would
        return sent

    monkeypatch.setattr(StatHelper, "send", send_then_die)
    assert scan_stats(tmp_path) == expected


def test_small_folders_get_no_helper(tmp_path: Path) -> None:
    descriptor = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert os.fstat(descriptor).st_size < stat_helper.MIN_FOLDER_BYTES
        assert StatHelper.start(descriptor) is None
    finally:
        os.close(descriptor)


def test_stat_each_splits_regular_files_from_the_rest(tmp_path: Path) -> None:
    make_folder(tmp_path)
    descriptor = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        names = ["000.md", "005.md", "sub", "zz-linked.md", "zz-gone.md", "zz-fifo.md", "nope"]
        files, others = stat_each(descriptor, names)
    finally:
        os.close(descriptor)
    assert [(name, size) for name, size, _ in files] == [
        ("000.md", 0),
        ("005.md", 5),
        ("zz-linked.md", 1),
    ]
    assert others == ["nope", "sub", "zz-fifo.md", "zz-gone.md"]  # in name order
    mtime = (tmp_path / "005.md").stat().st_mtime_ns
    assert files[1][2] == mtime
