"""Faults: a build killed at any moment, a full or read-only disk, bad input folders or config.

Whatever goes wrong, the feeds already published stay complete and valid (every served
file parses; temporary files are hidden and never carry a feed's name), a failed build
exits 1 with a one-line message, and the next good build publishes everything.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import random
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from feedpub import incremental, rerender
from feedpub.build import run_build
from feedpub.cache import DB_NAME
from feedpub.cli import main
from feedpub.config import Config
from feedpub.errors import BuildError
from feedpub.publish import files as files_module

from .feedcheck import TEMP_SUFFIX, XML_PARSER, check_outputs, output_files

RECORDS = 300
TOPICS = 12


def write_records(folder: Path, version: int, count: int = RECORDS) -> None:
    """`count` records with a few topics each; `version` changes every title (every feed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        fields = {
            "title": f"Article {index} version {version}",
            "excerpt": "A few words of summary. " * 8,
            "publishedDateTime": f"2024-05-{1 + index % 28:02d}T{index % 24:02d}:00:00Z",
            "webUrl": f"https://news.example.org/{index}",
            "topics": [f"Topic {index % TOPICS}", f"Topic {(index * 5) % TOPICS}", "Everything"],
            "images": [{"url": f"https://img.example.org/{index}.jpg", "width": 640}],
        }
        body = "A paragraph of the article's body. " * 30
        (folder / f"r{index:03d}.md").write_text(f"---\n{json.dumps(fields)}\n---\n{body}\n")


def served(out: Path) -> dict[str, bytes]:
    """What a static web server would serve: every file but the hidden ones."""
    return {
        name: data
        for name, data in output_files(out).items()
        if not any(part.startswith(".") for part in name.split("/"))
    }


def assert_complete(out: Path, names: set[str]) -> None:
    """Every served file is there and parses; every other file is a hidden temporary."""
    files = output_files(out)
    visible = served(out)
    assert set(visible) == names
    for name, data in visible.items():
        if name.endswith(".json"):
            json.loads(data)
        elif name.endswith((".rss", ".atom", ".opml")):
            etree.fromstring(data, XML_PARSER)
        else:
            assert data.rstrip().endswith(b"</html>"), name
    for name in set(files) - set(visible):
        leaf = name.rsplit("/", 1)[-1]
        assert leaf in (".feedpub-manifest.json", ".feedpub.lock") or (
            leaf.startswith(".") and leaf.endswith(TEMP_SUFFIX)
        ), name


def feedpub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "feedpub.cli", *args]


def run_feedpub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        feedpub_command(*args), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


# -- killed builds ---------------------------------------------------------------------------


def test_a_build_killed_at_random_moments_leaves_every_feed_complete(tmp_path: Path) -> None:
    records = tmp_path / "records"
    write_records(records, version=0)
    started = time.monotonic()
    result = run_feedpub("build", "--records", "records", "--out", "out", "-q", cwd=tmp_path)
    duration = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    names = set(served(out))
    assert len(names) == 3 * (TOPICS + 2) + 2  # all, the topics and Everything; OPML, index

    rng = random.Random(20240501)
    killed = 0
    for version in range(1, 6):
        write_records(records, version)
        process = subprocess.Popen(
            feedpub_command("build", "--records", "records", "--out", "out", "-q"),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # From mid-conversion to past the end: the later half is rendering and writing.
        time.sleep(rng.uniform(0.5, 1.1) * duration)
        process.send_signal(signal.SIGKILL)
        if process.wait() == -signal.SIGKILL:
            killed += 1
        else:
            duration *= 0.7  # finished first: this machine is faster now, kill sooner
        assert_complete(out, names)
    assert killed >= 3, "the builds finished before they could be killed"

    result = run_feedpub("build", "--records", "records", "--out", "out", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = Config(records=records, out=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache")
    run_build(fresh, lambda report: None)
    assert served(out) == served(tmp_path / "fresh")
    assert not [name for name in output_files(out) if name.endswith(TEMP_SUFFIX)]
    check_outputs(out)


_FIRST_BUILD_KILLED_AFTER_TWO_STEPS = """
import sys, time
from pathlib import Path
from feedpub import incremental, rerender
from feedpub.build import run_build
from feedpub.cache import RecordCache
from feedpub.config import Config
incremental.BULK_FILES, incremental.STEP_FILES = 1, 7  # a first build of 40 files, in steps
commit_step = RecordCache.commit_step
steps = []
def stepping(cache):
    commit_step(cache)
    steps.append(cache)
    if len(steps) == 2:
        print("stepped", flush=True)
        time.sleep(300)  # killed here
RecordCache.commit_step = stepping
root = Path(sys.argv[1])
config = Config(records=root / "records", out=root / "out", cache_dir=root / "cache")
run_build(config, lambda report: None)
"""


def test_a_first_build_killed_midway_goes_on_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 during the first build of a big folder: the files of the steps it committed
    stay in the cache, the next build reads only the others and ends the bulk store (winner
    flags, indexes), and it publishes what a build from scratch publishes."""
    write_records(tmp_path / "records", version=0, count=40)
    an_hour_ago = time.time() - 3600  # not "racy": the cache trusts their size and mtime
    for path in (tmp_path / "records").iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    with subprocess.Popen(
        [sys.executable, "-c", _FIRST_BUILD_KILLED_AFTER_TWO_STEPS, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as build:
        assert build.stdout is not None
        assert build.stdout.readline() == "stepped\n"
        build.kill()
    out = tmp_path / "out"
    assert not out.exists() or not served(out)  # nothing published yet
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM files").fetchone() == (14,)
    converted: list[int] = []
    encode_files = incremental.encode_files

    def counting(jobs: Any, *args: Any) -> Any:
        converted.append(len(jobs.names))
        return encode_files(jobs, *args)

    monkeypatch.setattr(incremental, "encode_files", counting)
    config = Config(records=tmp_path / "records", out=out, cache_dir=tmp_path / "cache")
    run_build(config, lambda report: None)
    assert converted == [40 - 14]
    fresh = Config(records=tmp_path / "records", out=tmp_path / "fresh", cache_dir=tmp_path / "c2")
    run_build(fresh, lambda report: None)
    assert served(out) == served(tmp_path / "fresh")
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        assert db.execute("SELECT * FROM meta WHERE key = 'bulk'").fetchall() == []
        indexes = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'")
        assert indexes.fetchone()[0] >= 5
    converted.clear()
    run_build(config, lambda report: None)
    assert sum(converted) == 0 and served(out) == served(tmp_path / "fresh")


class _InterruptedAfterFirstStep(sqlite3.Connection):
    """A cache connection on which Ctrl-C comes while a bulk store's first step commits: the
    KeyboardInterrupt is raised once the COMMIT returns, before the next BEGIN."""

    commits = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = super().execute(sql, *args)
        if sql == "COMMIT":
            type(self).commits += 1
            if type(self).commits == 2:  # (the first: the empty cache's schema)
                raise KeyboardInterrupt
        return cursor


def test_a_first_build_interrupted_as_a_step_commits_stops_and_keeps_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during a step's COMMIT: the build stops, and the next one goes on from that
    step. (The ROLLBACK after it failed, outside any transaction; its error was taken for a
    damaged cache, which was thrown away and the build done again from the start.)"""
    write_records(tmp_path / "records", version=0, count=40)
    an_hour_ago = time.time() - 3600
    for path in (tmp_path / "records").iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    monkeypatch.setattr(incremental, "BULK_FILES", 1)
    monkeypatch.setattr(incremental, "STEP_FILES", 7)
    connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3,
        "connect",
        lambda *args, **options: connect(*args, **options, factory=_InterruptedAfterFirstStep),
    )
    config = Config(records=tmp_path / "records", out=tmp_path / "out", cache_dir=tmp_path / "c")
    with pytest.raises(KeyboardInterrupt):
        run_build(config, lambda report: None)
    monkeypatch.setattr(sqlite3, "connect", connect)
    with sqlite3.connect(tmp_path / "c" / DB_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM files").fetchone() == (7,)
        assert db.execute("SELECT value FROM meta WHERE key = 'bulk'").fetchall() == [
            ("unfinished",)
        ]
    stats = run_build(config, lambda report: None)
    assert not stats.cache_damaged
    fresh = Config(records=tmp_path / "records", out=tmp_path / "fresh", cache_dir=tmp_path / "c2")
    run_build(fresh, lambda report: None)
    assert served(tmp_path / "out") == served(tmp_path / "fresh")


@pytest.fixture(scope="module")
def small_site_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 records built into `out` (with the build's cache), once for the module."""
    root = tmp_path_factory.mktemp("small-site")
    write_records(root / "records", version=0, count=40)
    config = Config(records=root / "records", out=root / "out", cache_dir=root / ".feedpub-cache")
    run_build(config, lambda report: None)
    return root


@pytest.fixture
def small_site(
    small_site_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """tmp_path as the current folder, holding `records` (40 records) built into `out`."""
    shutil.copytree(small_site_template, tmp_path, dirs_exist_ok=True, symlinks=True)
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "out"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def after_update(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Version 1 of the small site (40 records), built from scratch elsewhere."""
    root = tmp_path_factory.mktemp("after-update")
    write_records(root / "records", version=1, count=40)
    config = Config(records=root / "records", out=root / "out", cache_dir=root / "cache")
    run_build(config, lambda report: None)
    return served(root / "out")


class Killed(BaseException):
    """The process dies here: no `except Exception` and no error handling sees it."""


@pytest.mark.parametrize("renames_before_death", [0, 1, 7, 20, 42])
def test_a_build_that_dies_between_renames_leaves_old_or_new_files_never_half(
    renames_before_death: int,
    small_site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_update: dict[str, bytes],
) -> None:
    """Death (not an error: nothing is cleaned up) after any number of files are in place."""
    before = served(small_site)
    write_records(tmp_path / "records", version=1, count=40)
    real_replace = os.replace
    renames = 0

    def dying_replace(source: Any, target: Any) -> None:
        nonlocal renames
        if renames == renames_before_death:
            raise Killed
        renames += 1
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(Killed):
        cli("build", "--records", "records", "--out", "out", "-q")
    monkeypatch.setattr(os, "replace", real_replace)
    assert_complete(small_site, set(before))
    for name, data in served(small_site).items():
        assert data in (before[name], after_update[name]), name

    result = cli("build", "--records", "records", "--out", "out", "-q")
    assert result.exit_code == 0, result.stderr
    assert served(small_site) == after_update
    assert not [name for name in output_files(small_site) if name.endswith(TEMP_SUFFIX)]


# -- write errors ---------------------------------------------------------------------------


def disk_full(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def failing_syncfs() -> Callable[[int], int]:
    """A `syncfs` that reports a full disk, as the C function does (-1 and errno)."""

    def syncfs(descriptor: int) -> int:
        ctypes.set_errno(errno.ENOSPC)
        return -1

    return syncfs


@pytest.mark.parametrize(
    ("module", "name", "replacement", "sync_each_up_to"),
    [
        (os, "fsync", disk_full, 1000),  # few files changed: each is synced
        (files_module, "_syncfs", failing_syncfs, 0),  # many: the file system is synced
        (os, "replace", disk_full, files_module.SYNC_EACH_UP_TO),
        (tempfile, "mkstemp", disk_full, files_module.SYNC_EACH_UP_TO),
    ],
)
def test_a_full_disk_fails_the_build_and_changes_nothing(
    module: Any,
    name: str,
    replacement: Callable[..., Any],
    sync_each_up_to: int,
    small_site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_update: dict[str, bytes],
) -> None:
    before = output_files(small_site)  # hidden files too: byte for byte
    write_records(tmp_path / "records", version=1, count=40)
    monkeypatch.setattr(files_module, "SYNC_EACH_UP_TO", sync_each_up_to)
    monkeypatch.setattr(module, name, replacement)
    result = cli("build", "--records", "records", "--out", "out", "-q")
    monkeypatch.undo()
    assert result.exit_code == 1
    [message] = result.stderr.splitlines()
    assert message.startswith("feedpub: error: cannot write ")
    assert message.endswith(": No space left on device")
    assert output_files(small_site) == before

    # The failure is not remembered: the next build publishes the update in full.
    monkeypatch.chdir(tmp_path)
    result = cli("build", "--records", "records", "--out", "out", "-q")
    assert result.exit_code == 0, result.stderr
    assert served(small_site) == after_update


def test_a_full_disk_while_a_batch_renders_drops_what_the_workers_did_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds render on the pool a batch at a time while the last batch's files are written:
    a write that fails there ends the build without the rest of the batch on the workers
    (every chunk of it was rendered, and waited for, before the build could stop; after a
    Ctrl-C too). Here the workers hold the second batch until the disk is full."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # 2 workers, 3 more chunks queued at most
    monkeypatch.setattr(rerender, "POOL_FEEDS", 1)
    monkeypatch.setattr(rerender, "RENDER_BATCH", 16)  # "all", t00-t14; t15-t30; t31-t39
    records = tmp_path / "records"
    records.mkdir()
    for index in range(80):
        fields = {
            "title": f"Article {index}",
            "publishedDateTime": f"2024-05-{1 + index % 28:02d}T00:00:00Z",
            "webUrl": f"https://news.example.org/{index}",
            "topics": [f"T{index % 40:02d}"],
        }
        (records / f"r{index:03d}.md").write_text(f"---\n{json.dumps(fields)}\n---\n")
    parent, full, log = os.getpid(), tmp_path / "disk-full", tmp_path / "rendered"
    render_feed, write = rerender.render_feed, os.write

    def rendering(feed: Any, suffix: str) -> bytes:
        if os.getpid() != parent and suffix == ".rss":  # on a worker, once a feed
            if feed.info.slug >= "t15":  # the second batch: not before the disk is full
                deadline = time.monotonic() + 60
                while not full.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
            with log.open("a") as rendered:
                rendered.write(f"{feed.info.slug}\n")
        return render_feed(feed, suffix)

    def filling(descriptor: int, data: Any) -> int:
        if os.getpid() == parent:
            full.touch()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(descriptor, data)

    monkeypatch.setattr(rerender, "render_feed", rendering)
    monkeypatch.setattr(os, "write", filling)
    config = Config(records=records, out=tmp_path / "out", cache_dir=tmp_path / "cache")
    with pytest.raises(BuildError, match="No space left on device"):
        run_build(config, lambda report: None)
    monkeypatch.undo()
    slugs = log.read_text().split()
    assert len([slug for slug in slugs if slug < "t15"]) == 16  # rendered on the workers
    assert len([slug for slug in slugs if slug >= "t15"]) < 16  # not the whole second batch
    assert not (tmp_path / "out").exists() or not served(tmp_path / "out")
    run_build(config, lambda report: None)
    assert len(served(tmp_path / "out")) == 2 + 3 * 41


@pytest.mark.parametrize("has_syncfs", [True, False])
def test_a_big_write_syncs_the_file_system_once_not_each_file(
    has_syncfs: bool,
    small_site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_update: dict[str, bytes],
) -> None:
    calls = {"fsync": 0, "syncfs": 0, "sync": 0}
    synced_folders: set[Path] = set()
    real_fsync = os.fsync

    def counting(name: str, result: Any = None) -> Callable[..., Any]:
        def count(*args: Any) -> Any:
            if name == "fsync" and stat.S_ISDIR(os.fstat(args[0]).st_mode):
                synced_folders.add(Path(os.readlink(f"/proc/self/fd/{args[0]}")))
                return real_fsync(*args)
            calls[name] += 1
            return real_fsync(*args) if name == "fsync" else result

        return count

    syncfs = counting("syncfs", 0) if has_syncfs else None
    monkeypatch.setattr(files_module, "_syncfs", lambda: syncfs)
    monkeypatch.setattr(files_module, "SYNC_EACH_UP_TO", 32)  # this site writes 44 files
    monkeypatch.setattr(os, "fsync", counting("fsync"))
    monkeypatch.setattr(os, "sync", counting("sync"))
    write_records(tmp_path / "records", version=1, count=40)
    result = cli("build", "--records", "records", "--out", "out", "-q")
    assert result.exit_code == 0, result.stderr
    assert served(small_site) == after_update
    written = len(after_update)
    assert written > files_module.SYNC_EACH_UP_TO
    assert (calls["syncfs"], calls["sync"]) == ((1, 0) if has_syncfs else (0, 1))
    assert calls["fsync"] <= 2  # the manifest, before and after the renames
    # and the renames themselves: every folder a file was renamed into
    folders = {(small_site / name).parent.resolve() for name in output_files(small_site)}
    assert synced_folders == folders


def test_renames_are_synced_in_every_folder_they_changed(
    small_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after a build must not lose its renames: each folder a file was renamed
    into (or removed from) is synced after them; a rebuild that changes nothing syncs none."""
    synced: list[Path] = []
    real_fsync = os.fsync

    def recording(descriptor: int) -> None:
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            synced.append(Path(os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    assert cli("build", "--records", "records", "--out", "out", "-q").exit_code == 0
    assert synced == []  # nothing changed
    write_records(tmp_path / "records", version=1, count=40)
    assert cli("build", "--records", "records", "--out", "out", "-q").exit_code == 0
    expected = {(small_site / name).parent.resolve() for name in output_files(small_site)}
    assert sorted(synced) == sorted(expected)  # each once


@pytest.mark.parametrize("failing_rename", [1, 10, 30])
def test_a_disk_failing_half_way_leaves_each_file_whole(
    failing_rename: int,
    small_site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_update: dict[str, bytes],
) -> None:
    before = served(small_site)
    write_records(tmp_path / "records", version=1, count=40)
    real_replace = os.replace
    calls = 0

    def failing_replace(source: Any, target: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > failing_rename:
            disk_full()
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = cli("build", "--records", "records", "--out", "out", "-q")
    monkeypatch.setattr(os, "replace", real_replace)
    assert result.exit_code == 1
    assert result.stderr.endswith(": No space left on device\n")
    assert_complete(small_site, set(before))
    for name, data in served(small_site).items():
        assert data in (before[name], after_update[name]), name
    assert not [name for name in output_files(small_site) if name.endswith(TEMP_SUFFIX)]

    result = cli("build", "--records", "records", "--out", "out", "-q")
    assert result.exit_code == 0, result.stderr
    assert served(small_site) == after_update


def can_run_as(uid: int) -> bool:
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import feedpub.cli"], user=uid, capture_output=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


NOBODY = 65534


def test_a_read_only_output_folder_fails_the_build_and_changes_nothing() -> None:
    """chmod stops writes only for a user other than root: as root, build as nobody."""
    as_user = None
    if os.geteuid() == 0:
        if not can_run_as(NOBODY):
            pytest.skip("root, and user nobody cannot run this Python: see the ENOSPC tests")
        as_user = NOBODY
    root = Path(tempfile.mkdtemp(prefix="feedpub-readonly-"))  # not tmp_path: nobody must enter
    try:
        root.chmod(0o777)
        write_records(root / "records", version=0, count=20)
        result = run_feedpub("build", "--records", "records", "--out", "out", "-q", cwd=root)
        assert result.returncode == 0, result.stderr
        out = root / "out"
        before = output_files(out)
        write_records(root / "records", version=1, count=20)
        for path in [out, *out.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        (root / ".feedpub-cache").chmod(0o777)
        for path in (root / ".feedpub-cache").rglob("*"):
            path.chmod(0o777 if path.is_dir() else 0o666)
        result = subprocess.run(
            feedpub_command("build", "--records", "records", "--out", "out", "-q"),
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            user=as_user,
        )
        assert result.returncode == 1, result.stderr
        [message] = result.stderr.splitlines()
        assert message.startswith("feedpub: error: cannot ")
        assert message.endswith("Permission denied")
        assert output_files(out) == before
    finally:
        for path in [root, *root.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(root)


# -- unusable input: exit 1, nothing changed --------------------------------------------------

BAD_CONFIGS = {
    "unknown key": ("colour: blue\n", "colour: unknown key"),
    "not YAML": ("title: [unclosed\n", "not valid YAML"),
    "wrong type": ("max_items: many\n", "max_items: must be an integer"),
    "bad limit": ("limits:\n  max_topics: 0\n", "limits.max_topics: must be at least 1"),
    "script base URL": ("base_url: 'javascript:alert(1)'\n", "base_url: must be an absolute"),
    "not a mapping": ("- a\n- b\n", "must be a mapping of keys"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_fails_and_changes_nothing(
    case: str, small_site: Path, tmp_path: Path
) -> None:
    text, expected = BAD_CONFIGS[case]
    (tmp_path / "bad.yaml").write_text(text)
    before = output_files(small_site)
    result = cli("build", "--config", "bad.yaml", "--records", "records", "--out", "out")
    assert result.exit_code == 1
    message = result.stderr.splitlines()[0]  # a YAML error goes on to show where it is
    assert message.startswith("feedpub: error: bad.yaml") and expected in message
    assert output_files(small_site) == before


def make_empty(tmp_path: Path) -> str:
    (tmp_path / "empty").mkdir()
    return "empty"


def make_only_bad(tmp_path: Path) -> str:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.md").write_text("---\ntitle: [\n---\n")
    (tmp_path / "bad" / "b.json").write_bytes(b"\x00\x01")
    return "bad"


def make_file(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("not a folder")
    return "a-file"


RECORD_FOLDERS: dict[str, tuple[Callable[[Path], str], str]] = {
    "missing": (lambda tmp_path: "missing", "records folder not found: missing"),
    "a file": (
        make_file,
        "records folder not found: a-file is a file, not a folder (put record files, dumps"
        " too, in a folder and name the folder)",
    ),
    "empty": (make_empty, "no publishable records in empty; nothing written"),
    "only bad records": (make_only_bad, "no publishable records in bad; nothing written"),
}


@pytest.mark.parametrize("case", sorted(RECORD_FOLDERS))
def test_an_unusable_records_folder_fails_and_changes_nothing(
    case: str, small_site: Path, tmp_path: Path
) -> None:
    make, expected = RECORD_FOLDERS[case]
    folder = make(tmp_path)
    before = output_files(small_site)
    result = cli("build", "--records", folder, "--out", "out", "-q")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"feedpub: error: {expected}"
    assert output_files(small_site) == before


def test_an_output_folder_that_is_a_file_fails_cleanly(small_site: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    result = cli("build", "--records", "records", "--out", "taken", "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith("feedpub: error: cannot use output folder taken")
    assert (tmp_path / "taken").read_text() == "a file, not a folder"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--records", "missing"), "feedpub: error: records folder not found: missing"),
        (("--config", "bad.yaml"), "feedpub: error: bad.yaml: colour: unknown key"),
    ],
)
def test_the_real_command_exits_1_and_changes_nothing(
    args: tuple[str, ...], expected: str, small_site: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text("colour: blue\n")
    before = output_files(small_site)
    full = ("build", "--records", "records", "--out", "out", *args)
    result = run_feedpub(*full, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(expected)
    assert output_files(small_site) == before


# -- a build killed while its pool works ----------------------------------------------------

_BUILD_WITH_A_POOL = """
import sys, time
from pathlib import Path
from feedpub.cache import RecordCache
from feedpub.parse_pool import start_pool
cache = RecordCache(Path(sys.argv[1]), "fingerprint").__enter__()
pool = start_pool()
print(" ".join(str(pid) for pid in pool._processes), flush=True)  # the workers' pids
time.sleep(300)
"""


def running(pid: int) -> bool:
    """True while process `pid` runs (a zombie no longer does: it holds no files)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see processes")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: builds make no pool")
def test_a_killed_builds_workers_die_with_it_and_free_the_cache(tmp_path: Path) -> None:
    """kill -9 (or the OOM killer) takes the parent only: its forked workers, which hold the
    cache's lock file open, must not live on and keep every later build waiting."""
    with subprocess.Popen(
        [sys.executable, "-c", _BUILD_WITH_A_POOL, str(tmp_path / "cache")],
        stdout=subprocess.PIPE,
        text=True,
    ) as build:
        assert build.stdout is not None
        workers = [int(pid) for pid in build.stdout.readline().split()]
        assert len(workers) >= 2 and all(running(pid) for pid in workers)
        lock = (tmp_path / "cache" / "lock").open("a")
        with lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while the build runs
        build.kill()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if running(pid)]
    for pid in left:  # a failing test leaves no process behind
        os.kill(pid, signal.SIGKILL)
    assert not left
    with (tmp_path / "cache" / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: the next build goes on


_WORKERS_STARTING = """
import os, signal, sys
from feedpub import parse_pool
original = parse_pool._start_worker
def starting(parent):
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    os.write(int(sys.argv[1]), b"1" if blocked else b"0")
    original(parent)
parse_pool._start_worker = starting
parse_pool.start_pool().shutdown()
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: builds make no pool")
def test_pool_workers_start_with_ctrl_c_held_back(tmp_path: Path) -> None:
    """A Ctrl-C that reached a worker before it set itself to ignore Ctrl-C printed a
    traceback from multiprocessing's start-up code (seen under load, in `build --watch`):
    workers now start with the signal blocked, and unblock it once they ignore it."""
    reader, writer = os.pipe()
    try:
        subprocess.run(
            [sys.executable, "-c", _WORKERS_STARTING, str(writer)],
            pass_fds=(writer,),
            check=True,
            timeout=60,
        )
        os.close(writer)
        writer = -1
        seen = b""
        while chunk := os.read(reader, 64):
            seen += chunk
    finally:
        os.close(reader)
        if writer >= 0:
            os.close(writer)
    assert seen == b"1" * (os.cpu_count() or 1)
