"""`feedpub build --watch` attacked the way a hostile or unlucky user would.

Every test runs the real command as a subprocess on local files. Where the watcher must
have caught up, its output folder is compared byte for byte with a one-shot `feedpub
build` of the same records into another folder (with its own cache).

The tests under "Bugs found and fixed" each failed before its fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedpub.publish.files import TEMP_SUFFIX

from .conftest import base_record, output_files, record_text, wait_for
from .feedcheck import check_outputs
from .test_keep_built import Watching, titles

CONFIG = "server:\n  poll_seconds: 0.2\n"
MISSING = "records folder not found"
DEADLINE = 10.0
"""How long a watcher may take to publish a change (it polls every 0.2 s): far less than the
60 s after which its full scan would find the change anyway, with room for a busy machine."""


class Watcher(Watching):
    """A `Watching` with its own folder for config, cache and log, and a choice of output
    folder (two watchers can share one) and of process group (a terminal's Ctrl-C)."""

    def __init__(
        self,
        folder: Path,
        records: Path,
        out: Path | None = None,
        *,
        new_session: bool = False,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.out = out or folder / "out"
        self.log = folder / "watch.log"
        config = folder / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        command = [sys.executable, "-m", "feedpub.cli", "build", "--watch", "--config", str(config)]
        command += ["--records", str(records), "--out", str(self.out)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=folder, stderr=log, start_new_session=new_session
            )

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def watching(self) -> None:
        wait_for(lambda: "watching" in self.stderr() or self.process.poll() is not None, 30)
        assert self.process.poll() is None, self.stderr()

    def stopped_cleanly(self) -> None:
        """SIGTERM ends it with exit 0, and nothing went wrong on the way."""
        assert self.stop() == 0
        assert "Traceback" not in self.stderr()

    def settled(self) -> None:
        """Past the full scan the builder makes on its first polls: events alone from here."""
        self.watching()
        time.sleep(0.5)  # the first poll, 0.2 s after the line, scans the folder


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.process.send_signal(signal.SIGCONT)
            watcher.process.kill()
            watcher.process.wait()


@pytest.fixture
def start(tmp_path: Path, records_dir: Path, watchers: list[Watcher]) -> Any:
    def run(
        folder: Path | None = None,
        records: Path | None = None,
        out: Path | None = None,
        **options: bool,
    ) -> Watcher:
        watcher = Watcher(folder or tmp_path, records or records_dir, out, **options)
        watchers.append(watcher)
        return watcher

    return run


# -- helpers ------------------------------------------------------------------------------


def put(folder: Path, name: str, title: str, body: str = "", **fields: object) -> Path:
    """A valid record named `name` whose title (and URL) is `title`."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fields.setdefault("webUrl", f"https://example.org/{name}")
    path.write_text(record_text(base_record(title=title, **fields), body), encoding="utf-8")
    return path


def start_on_one_record(records_dir: Path, start: Any, settled: bool = False) -> Watcher:
    """A watcher of a records folder holding one record ("One"), past its first build (and
    past its first full scans, when `settled`)."""
    put(records_dir, "a.md", "One")
    run: Watcher = start()
    if settled:
        run.settled()
    else:
        run.watching()
    return run


def fresh_build(tmp_path: Path, records: Path, name: str = "fresh") -> dict[str, bytes]:
    """A one-shot `feedpub build` of `records` into a new folder with its own cache."""
    folder = tmp_path / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    command = [sys.executable, "-m", "feedpub.cli", "build", "-q", "--config", str(config)]
    command += ["--records", str(records), "--out", str(folder / "out")]
    subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=120)
    built = output_files(folder / "out", hidden=True)
    assert built, "the one-shot build wrote nothing"
    return built


def caught_up(out: Path, expected: dict[str, bytes], seconds: float = 15.0) -> None:
    """Wait until `out` holds exactly the files of `expected`, byte for byte."""
    try:
        wait_for(lambda: output_files(out, hidden=True) == expected, seconds)
    except AssertionError:
        found = output_files(out, hidden=True)
        differ = sorted(name for name in found.keys() | expected.keys()
                        if found.get(name) != expected.get(name))  # fmt: skip
        raise AssertionError(f"the watcher never caught up; differing files: {differ}") from None


def temporaries(out: Path) -> list[Path]:
    return sorted(out.rglob(f"*{TEMP_SUFFIX}")) if out.is_dir() else []


def write_dump(folder: Path, count: int, tag: str) -> None:
    """One JSON Lines dump of `count` records (a long build: ~0.12 ms a record)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        fields = base_record(
            title=f"{tag} {index}",
            webUrl=f"https://example.org/{index}",
            topics=[f"Topic {index % 7}"],
            publishedDateTime=f"2026-01-{1 + index % 28:02d}T03:04:{index % 60:02d}Z",
        )
        lines.append(json.dumps(fields))
    (folder / "dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def pool_workers(pgid: int) -> set[int]:
    """The live processes of group `pgid` (Linux /proc) whose parent is neither in the group
    nor its leader: a process pool's workers, children of its fork server."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            parents[int(entry)] = int(fields[1])
    return {pid for pid, parent in parents.items() if parent in parents and parent != pgid}


# -- what a user would expect, and gets ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("server:\n  poll_seconds: 0\n", "server.poll_seconds: must be 0.1..3600"),
        ("server:\n  poll_seconds: .nan\n", "server.poll_seconds: must be 0.1..3600"),
        ("server:\n  poll_seconds: fast\n", "server.poll_seconds: must be a number, not str"),
        ("poll_seconds: 1\n", "poll_seconds: unknown key"),
        ("server: [\n", "not valid YAML"),
    ],
)
def test_a_bad_config_value_fails_at_start_with_exit_1(
    tmp_path: Path, records_dir: Path, text: str, says: str
) -> None:
    put(records_dir, "a.md", "One")
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "feedpub.cli", "build", "--watch", "--config", str(config)]
    command += ["--records", str(records_dir), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr.startswith(f"feedpub: error: {config}: ")
    assert says in done.stderr
    assert len(done.stderr.splitlines()) == 1  # one line, no traceback
    assert not (tmp_path / "out").exists()


def test_records_folder_deleted_or_replaced_by_a_file_keeps_the_files_then_follows_it(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start, settled=True)
    kept = output_files(run.out, hidden=True)

    def failed_again() -> None:
        count = run.stderr().count(MISSING)
        wait_for(lambda: run.stderr().count(MISSING) > count)
        assert output_files(run.out, hidden=True) == kept  # a failed build changes nothing

    shutil.rmtree(records_dir)  # deleted ...
    failed_again()
    put(records_dir, "b.md", "Two")  # ... and made again with other records
    kept = fresh_build(tmp_path, records_dir)
    caught_up(run.out, kept)
    put(records_dir, "c.md", "Three")  # watched again
    kept = fresh_build(tmp_path, records_dir)
    caught_up(run.out, kept)

    shutil.rmtree(records_dir)  # replaced by a file, then by a folder again
    records_dir.write_text("not a folder\n", encoding="utf-8")
    failed_again()
    failed_again()  # tried again, though nothing changed
    records_dir.unlink()
    put(records_dir, "d.md", "Four")
    caught_up(run.out, fresh_build(tmp_path, records_dir))
    run.stopped_cleanly()


def test_output_folder_deleted_or_replaced_by_a_file_is_written_again(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    put(records_dir, "a.md", "One", topics=["AI"])
    put(records_dir, "b.md", "Two", topics=["Climate"])
    run = start()
    run.watching()

    shutil.rmtree(run.out)  # deleted: the next change writes every file, not only its feed
    put(records_dir, "c.md", "Three", topics=["AI"])
    caught_up(run.out, fresh_build(tmp_path, records_dir))

    shutil.rmtree(run.out)  # a file where the folder was: never touched, tried again
    run.out.write_bytes(b"the user's own file\n")
    put(records_dir, "d.md", "Four", topics=["AI"])
    wait_for(lambda: "cannot use output folder" in run.stderr() and "trying again" in run.stderr())
    assert run.out.read_bytes() == b"the user's own file\n"
    run.out.unlink()  # no record changes: the retry alone writes the files
    caught_up(run.out, fresh_build(tmp_path, records_dir))
    run.stopped_cleanly()


def test_an_output_folder_that_refuses_writes_keeps_its_files_until_it_accepts_them(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    # chmod does not stop root; the immutable attribute does (where it is supported).
    run = start_on_one_record(records_dir, start)
    folders = [run.out, run.out / "topics"]
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", *map(str, folders)]).returncode:
        pytest.skip("no immutable attribute here")
    try:
        kept = output_files(run.out, hidden=True)
        put(records_dir, "b.md", "Two")
        wait_for(lambda: "Operation not permitted; trying again" in run.stderr())
        assert output_files(run.out, hidden=True) == kept
    finally:
        subprocess.run([chattr, "-i", *map(str, folders)], check=True)
    caught_up(run.out, fresh_build(tmp_path, records_dir))  # the retry writes them
    assert run.stop() == 0


def test_a_record_rewritten_hundreds_of_times_ends_as_its_last_version(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    in_place = put(records_dir, "in-place.md", "In place 0")
    renamed = put(records_dir, "renamed.md", "Renamed 0")
    run = start()
    run.settled()
    for version in range(1, 201):
        # Truncate and write (a plain `open(..., "w")`) ...
        text = record_text(base_record(title=f"In place {version}", webUrl="https://e.org/i"))
        with in_place.open("w", encoding="utf-8") as handle:
            handle.write(text)
        # ... and an editor's save: a temporary file renamed over the record.
        temporary = records_dir / f".renamed.md.{version}.tmp"
        text = record_text(base_record(title=f"Renamed {version}", webUrl="https://e.org/r"))
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, renamed)
    # The last versions differ in size from every earlier one (same sizes: see below).
    put(records_dir, "in-place.md", "In place: the last version", webUrl="https://e.org/i")
    put(records_dir, "renamed.md", "Renamed: the last version", webUrl="https://e.org/r")
    caught_up(run.out, fresh_build(tmp_path, records_dir))
    assert sorted(titles(run.out)) == ["In place: the last version", "Renamed: the last version"]
    assert run.stop() == 0


def test_a_burst_of_files_a_fifo_and_huge_files_are_all_handled(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start, settled=True)
    for index in range(500):
        put(records_dir, f"burst/n{index:03d}.md", f"Burst {index}", topics=[f"T{index % 5}"])
    os.mkfifo(records_dir / "pipe.md")  # opening it would wait for a writer forever
    (records_dir / "big.md").write_bytes(b"---\ntitle: big\n---\n" + b"x" * 3_000_000)
    with (records_dir / "sparse.md").open("wb") as handle:
        handle.truncate(10**10)  # 10 GB that take no disk
    (records_dir / "dump.jsonl").write_text(
        json.dumps(base_record(title="Dumped", webUrl="https://example.org/d")) + "\n{\n"
    )
    caught_up(run.out, fresh_build(tmp_path, records_dir), 30)
    assert len(titles(run.out)) == 50  # max_items
    text = run.stderr()
    assert text.count("big.md: file: larger than the 2000000-byte limit; skipped") == 1
    assert text.count("sparse.md: file: larger than the 2000000-byte limit; skipped") == 1
    assert text.count("dump.jsonl:2: line: not valid JSON") == 1
    assert "pipe.md" not in text
    run.stopped_cleanly()


def test_a_half_written_record_is_reported_once_then_published_when_complete(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start)
    whole = record_text(base_record(title="Slowly written", webUrl="https://example.org/s"))
    third = len(whole) // 3
    with (records_dir / "slow.md").open("w", encoding="utf-8") as handle:
        handle.write(whole[:third])
        handle.flush()
        wait_for(lambda: "slow.md: file: front matter has no closing '---' line" in run.stderr())
        handle.write(whole[third : 2 * third])  # still incomplete: the same report, not again
        handle.flush()
        time.sleep(0.5)  # a few polls: the watcher reads it again
        handle.write(whole[2 * third :])
    caught_up(run.out, fresh_build(tmp_path, records_dir))
    assert sorted(titles(run.out)) == ["One", "Slowly written"]
    assert run.stderr().count("slow.md: file: front matter has no closing") == 1

    broken = records_dir / "bad.md"  # a broken record is reported once, whatever happens
    broken.write_text("---\ntitle: [\n---\n", encoding="utf-8")
    wait_for(lambda: "bad.md: front matter: not valid YAML" in run.stderr())
    for version in range(4):
        put(records_dir, "a.md", f"One, edit {version}")
        wait_for(lambda version=version: f"One, edit {version}" in titles(run.out))
    os.utime(broken)  # touched, and rewritten with the same text
    broken.write_text("---\ntitle: [\n---\n", encoding="utf-8")
    put(records_dir, "a.md", "One, last edit")
    caught_up(run.out, fresh_build(tmp_path, records_dir))
    assert run.stderr().count("bad.md: front matter: not valid YAML") == 1
    assert run.stop() == 0


def test_sigterm_during_a_long_first_build_finishes_it_and_exits_0(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    write_dump(records_dir, 10_000, "First")  # about 1.2 s to build
    run = start()
    wait_for(lambda: "building" in run.stderr())
    time.sleep(0.3)
    assert run.stop(signal.SIGTERM) == 0
    assert "wrote 26 file(s)" in run.stderr()
    assert output_files(run.out, hidden=True) == fresh_build(tmp_path, records_dir)
    assert not temporaries(run.out)


def test_sigkill_during_a_rebuild_then_a_restart_leaves_a_complete_folder(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    write_dump(records_dir, 6_000, "Old")
    run = start()
    run.watching()
    write_dump(records_dir, 6_000, "New")  # every feed changes: about 0.8 s of rebuild
    time.sleep(0.5)  # mid-rebuild
    run.process.kill()
    run.process.wait()
    check_outputs(run.out)  # whatever the moment, every file there is a complete feed

    again = start()
    again.watching()
    expected = fresh_build(tmp_path, records_dir)
    caught_up(again.out, expected)
    assert again.stop() == 0
    assert not temporaries(again.out)
    assert titles(again.out)[0].startswith("New ")


def test_two_watchers_on_one_output_folder_agree_with_a_fresh_build(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    for index in range(20):
        put(records_dir, f"a{index}.md", f"One {index}", topics=[f"T{index % 3}"])
    shared = tmp_path / "shared"
    first = start(tmp_path / "first", out=shared)
    second = start(tmp_path / "second", out=shared)
    first.watching()
    second.watching()
    for index in range(30):
        put(records_dir, f"b{index}.md", f"Two {index}", topics=[f"T{index % 4}"])
        if index % 3 == 0:
            (records_dir / f"a{index % 20}.md").unlink(missing_ok=True)
        time.sleep(0.03)
    caught_up(shared, fresh_build(tmp_path, records_dir))
    assert first.stop() == 0
    assert second.stop() == 0
    assert not temporaries(shared)
    assert "Traceback" not in first.stderr() + second.stderr()


# -- bugs found and fixed -------------------------------------------------------------------------


def test_a_records_folder_swapped_by_renames_is_followed_at_once(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    put(records_dir, "a.md", "One")
    release = tmp_path / "records.new"
    put(release, "a.md", "One, next release")
    put(release, "b.md", "Two")
    run = start()
    run.settled()
    records_dir.rename(tmp_path / "records.old")
    release.rename(records_dir)
    wait_for(lambda: sorted(titles(run.out)) == ["One, next release", "Two"], DEADLINE)
    caught_up(run.out, fresh_build(tmp_path, records_dir))


def test_a_symlinked_records_folder_is_followed_by_events(tmp_path: Path, start: Any) -> None:
    real = tmp_path / "real-records"
    put(real, "a.md", "One")
    link = tmp_path / "records-link"
    link.symlink_to(real, target_is_directory=True)
    run = start(records=link)
    run.settled()
    assert "(file system events)" in run.stderr()
    put(real, "b.md", "Two")
    wait_for(lambda: sorted(titles(run.out)) == ["One", "Two"], DEADLINE)
    caught_up(run.out, fresh_build(tmp_path, link))


def test_a_same_size_rewrite_within_one_mtime_tick_is_published(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    record = put(records_dir, "a.md", "Version AAAA", webUrl="https://example.org/a")
    run = start()
    run.settled()
    put(records_dir, "b.md", "Other")
    wait_for(lambda: sorted(titles(run.out)) == ["Other", "Version AAAA"])
    before = record.stat()
    put(records_dir, "a.md", "Version BBBB", webUrl="https://example.org/a")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick
    assert record.stat().st_size == before.st_size
    wait_for(lambda: sorted(titles(run.out)) == ["Other", "Version BBBB"], DEADLINE)
    caught_up(run.out, fresh_build(tmp_path, records_dir))


def test_ctrl_c_during_a_long_first_build_finishes_it_and_exits_0(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    write_dump(records_dir, 10_000, "First")
    run = start()
    wait_for(lambda: "building" in run.stderr())
    time.sleep(0.3)
    assert run.stop(signal.SIGINT) == 0
    assert output_files(run.out, hidden=True) == fresh_build(tmp_path, records_dir)


def test_sigterm_during_a_long_rebuild_waits_for_it(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start)
    staging = records_dir / ".staging"  # hidden: not read until moved in
    staging.mkdir()
    # A dump of 60,000 records: reading them takes 2-3 s (Markdown bodies no longer can).
    lines = (
        json.dumps(
            base_record(
                title=f"Slow {number}",
                webUrl=f"https://example.org/slow/{number}",
                publishedDateTime="2026-02-01T00:00:00Z",
            )
        )
        for number in range(60_000)
    )
    (staging / "slow.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.rename(staging / "slow.jsonl", records_dir / "slow.jsonl")
    time.sleep(0.6)  # the rebuild is under way (it starts within 0.2 s)
    assert run.stop(signal.SIGTERM) == 0
    shown = titles(run.out)
    assert len(shown) == 50, "exited before the build under way was written"
    assert all(title.startswith("Slow ") for title in shown)


def test_a_failed_write_is_not_logged_as_every_feed_unchanged(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start)
    shutil.rmtree(run.out)
    run.out.write_bytes(b"a file\n")
    put(records_dir, "b.md", "Two")
    wait_for(lambda: "trying again" in run.stderr())
    time.sleep(0.3)
    after = run.stderr().split("trying again", 1)[1]
    assert "every feed is unchanged" not in after


def test_changes_lost_to_an_inotify_queue_overflow_are_found_at_once(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify only")
    put(records_dir, "a.md", "One")
    noisy = [records_dir / ".noise-0", records_dir / ".noise-1"]  # hidden: never records
    for path in noisy:
        path.write_bytes(b"")
    run = start()
    run.settled()
    put(records_dir, "b.md", "Two")
    wait_for(lambda: sorted(titles(run.out)) == ["One", "Two"])
    run.process.send_signal(signal.SIGSTOP)  # Ctrl-Z, or a machine too busy to read events
    try:
        descriptors = [os.open(path, os.O_WRONLY | os.O_APPEND) for path in noisy]
        for count in range(40_000):  # more events than the kernel queues (16384)
            os.write(descriptors[count & 1], b"x")  # alternating: the kernel merges no two
        for descriptor in descriptors:
            os.close(descriptor)
        put(records_dir, "c.md", "Three")
    finally:
        run.process.send_signal(signal.SIGCONT)
    wait_for(lambda: sorted(titles(run.out)) == ["One", "Three", "Two"], DEADLINE)
    caught_up(run.out, fresh_build(tmp_path, records_dir))


def test_a_record_with_a_non_utf8_file_name_stays_published(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    run = start_on_one_record(records_dir, start)
    latin1 = os.path.join(os.fsencode(records_dir), b"caf\xe9.md")  # from an old archive
    try:
        with open(latin1, "wb") as handle:
            handle.write(record_text(base_record(title="Cafe", webUrl="https://e.org/c")).encode())
    except OSError:
        pytest.skip("this file system holds UTF-8 names only")
    wait_for(lambda: sorted(titles(run.out)) == ["Cafe", "One"])
    put(records_dir, "a.md", "One, edited")
    wait_for(lambda: "One, edited" in titles(run.out))
    assert sorted(titles(run.out)) == ["Cafe", "One, edited"]
    caught_up(run.out, fresh_build(tmp_path, records_dir))


def test_ctrl_c_in_a_terminal_during_a_pool_rebuild_finishes_it_quietly(
    tmp_path: Path, records_dir: Path, start: Any
) -> None:
    if not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2:
        pytest.skip("needs /proc and a process pool")
    put(records_dir, "a.md", "One")
    batch = tmp_path / "batch"
    for index in range(2_100):
        put(batch, f"n{index:04d}.md", f"Batch {index}", body="*a* b " * 60)
    run = start(new_session=True)
    run.watching()
    os.rename(batch, records_dir / "batch")  # one folder event: a full scan finds 2,100 files
    pgid = run.process.pid
    wait_for(lambda: pool_workers(pgid))
    time.sleep(0.2)  # the workers are converting files (for about 1.5 s)
    os.killpg(pgid, signal.SIGINT)
    assert run.process.wait(timeout=60) == 0
    assert "Traceback" not in run.stderr()
    assert output_files(run.out, hidden=True) == fresh_build(tmp_path, records_dir)
