"""Build benchmark: cold and incremental builds of N seed-like records, against the parse floor.

    python benchmarks/build_bench.py                      # 10,000 and 100,000 records
    python benchmarks/build_bench.py --records 100000     # one size
    python benchmarks/build_bench.py --records 10000 --no-cache-build
    python benchmarks/build_bench.py --records 100000 --rounds 3   # + 3 floor/first-build pairs
    python benchmarks/build_bench.py --records 100000 --copies-of ../shared/corpus/real
    python benchmarks/build_bench.py --records 100000 --dump   # the same records, one .jsonl
    python benchmarks/build_bench.py --records 100000 --dump json   # ... one JSON document

Records come from benchmarks/generate.py into a temporary folder kept between runs
(one per size and seed), or with --copies-of FOLDER from copies of the front-matter
records in FOLDER (your own archive, say), each copy's webUrl made unique. Every build
runs in its own process: its time is measured inside the process around `run_build`
(interpreter start and imports excluded; the wall time with them is shown too), its
memory as the peak RSS and PSS summed over the whole process tree (pool workers
included), sampled every 50 ms, and its CPU time (user + system) summed over the process
tree, interpreter start included. PSS counts the pages forked workers share with the
parent once: it is the memory the build takes.

The floor is reading every file and parsing its front matter with PyYAML's C loader
in one process, measured before the cold build and again right after it; ratios use the
quicker of the two (on a shared machine whose speed drifts, the conservative one). The
peer is a naive script that does that and renders every topic's newest 50 entries as RSS
and Atom with feedgen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate, record  # noqa: E402

GOAL_COLD_RATIO = 0.4
GOAL_WARM_SECONDS = 1.0
GOAL_WARM_SHARE = 0.03
GOAL_RSS_MB = 500
SAMPLE_SECONDS = 0.05
"""How often memory is sampled. Reading /proc/<pid>/smaps_rollup walks the process's pages:
every 10 ms it took 10-15% of a 100k first build's time on 2 cores, every 50 ms 3-8%."""

_BUILD = """
import json, sys, time
from pathlib import Path
from feedpub.build import run_build
from feedpub.config import Config
records, out, cache, use_cache = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
config = Config(records=Path(records), out=Path(out), cache_dir=Path(cache),
                base_url="https://feeds.example.com")
started = time.perf_counter()
stats = run_build(config, lambda report: None, use_cache=use_cache)
print(json.dumps({"seconds": time.perf_counter() - started, "summary": stats.summary()}))
"""

_SERVER = """
import json, sys, time
from pathlib import Path
from feedpub.config import Config, ServerConfig
from feedpub.publish.builder import Builder
import re
records, out, cache, edited, watch, serving = sys.argv[1:7]
config = Config(records=Path(records), out=Path(out), cache_dir=Path(cache),
                base_url="https://feeds.example.com", server=ServerConfig(poll_seconds=3600))
builder = Builder(config, serving=serving == "1")  # not serving: `feedpub build --watch`
builder.poll()  # the first build (the cache is already there)
how = "by scan"
if watch == "1":
    builder.start()  # file system events; its thread sleeps: this script polls
    how = "by event" if builder._watcher is not None else "by scan (no file system events here)"
    builder.poll()  # the full scan after starting
path = Path(edited)
original = path.read_bytes()
try:
    marked = re.sub(rb"(?m)^title: ([\\"']?)", rb"title: \\1Served edit ", original, count=1)
    path.write_bytes(marked)
    time.sleep(0.5)  # let the event arrive
    started = time.perf_counter()
    rebuilt = builder.poll()  # what the polling thread does: look, rebuild, write (and serve)
    seconds = time.perf_counter() - started
finally:
    path.write_bytes(original)
    builder.stop()
assert rebuilt and b"Served edit" in (Path(out) / "all.rss").read_bytes()
if serving == "1":
    assert b"Served edit" in builder.current().resources["all.rss"].identity.body
who = "server poll" if serving == "1" else "build --watch"
print(json.dumps({"seconds": seconds, "summary": f"{who} picked up 1 edited record {how}"}))
"""

_FLOOR = """
import json, os, sys, time
import yaml
folder = sys.argv[1]
started = time.perf_counter()
count = 0
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    header = text.split("\\n---\\n", 1)[0][4:]
    try:
        yaml.load(header, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        pass  # a broken record costs its parse too
    count += 1
print(json.dumps({"seconds": time.perf_counter() - started, "summary": f"{count} parsed"}))
"""

_PEER = """
import json, os, sys, time
from collections import defaultdict
from datetime import timezone
import yaml
from feedgen.feed import FeedGenerator
folder, out = sys.argv[1], sys.argv[2]
started = time.perf_counter()
by_topic = defaultdict(list)
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    try:
        data = yaml.load(text.split("\\n---\\n", 1)[0][4:], Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        continue
    if not isinstance(data, dict) or not data.get("published", True):
        continue
    when = data.get("publishedDateTime")
    try:
        if isinstance(when, str):
            from datetime import datetime
            when = datetime.fromisoformat(when)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    except (AttributeError, ValueError, TypeError):
        continue  # no usable date: a naive script skips the record
    if not isinstance(data.get("webUrl"), str) or not isinstance(data.get("title"), str):
        continue
    topics = data.get("topics") if isinstance(data.get("topics"), list) else []
    for topic in ["all", *(t for t in topics if isinstance(t, str))]:
        by_topic[topic].append((when, data))
os.makedirs(out, exist_ok=True)
for number, (topic, items) in enumerate(sorted(by_topic.items())):
    items.sort(key=lambda item: item[0], reverse=True)
    feed = FeedGenerator()
    feed.id(f"https://feeds.example.com/{number}")
    feed.title(topic)
    feed.link(href="https://feeds.example.com/")
    feed.description(topic)
    for when, data in items[:50]:
        entry = feed.add_entry(order="append")
        entry.id(data["webUrl"])
        entry.title(data["title"])
        entry.link(href=data["webUrl"])
        entry.description(data.get("excerpt") or "")
        entry.published(when)
    feed.rss_file(os.path.join(out, f"{number}.rss"))
    feed.atom_file(os.path.join(out, f"{number}.atom"))
print(json.dumps({"seconds": time.perf_counter() - started, "summary": f"{len(by_topic)} feeds"}))
"""


_STAGES = """
import json, sys, time
from pathlib import Path
import yaml
from feedpub.config import Limits
from feedpub.convert import convert_record
from feedpub.codec import encode_article
from feedpub.records import read_record_file, scan_stats
from feedpub.yaml_loader import load_yaml, warm_up
warm_up()
limits = Limits()
files = scan_stats(Path(sys.argv[1]))[: int(sys.argv[2])]
def timed(work):
    started = time.perf_counter(); result = work(); return time.perf_counter() - started, result
paths = [str(Path(sys.argv[1]) / name) for name, _size, _mtime in files]
read, texts = timed(lambda: [open(p, "rb").read().decode() for p in paths])
headers = [t.split("\\n---\\n", 1)[0][4:] for t in texts]
c_parse, _ = timed(lambda: [yaml.load(h, Loader=yaml.CSafeLoader) for h in headers])
fast, _ = timed(lambda: [load_yaml(h) for h in headers])
whole, results = timed(lambda: [read_record_file(Path(p), p, limits) for p in paths])
records = [r for result in results for r in result.records]
convert, conversions = timed(lambda: [convert_record(r, limits) for r in records])
articles = [c.article for c in conversions if c.article]
encode, _ = timed(lambda: [encode_article(a, a.source) for a in articles])
per = lambda seconds: round(seconds / len(files) * 1e6, 1)
stages = {"read": read, "PyYAML C parse": c_parse, "load_yaml (fast path)": fast,
          "read_record_file (read+split+load_yaml)": whole, "convert_record": convert,
          "encode for the cache": encode}
print(json.dumps({name: per(value) for name, value in stages.items()}))
"""


@dataclass
class Run:
    """One measured process."""

    name: str
    seconds: float
    wall: float
    rss_mb: float
    pss_mb: float
    summary: str
    cpu: float = 0.0  # CPU seconds (user + system) of the whole process tree, start included


def _tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, in kB.

    PSS shares pages among the processes using them: forked pool workers do not
    count the parent's pages again, so the PSS sum is the memory the build takes.
    """
    rss = pss = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return rss, pss


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (theirs included, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, script: str, *args: str) -> Run:
    """Run `script` in a new interpreter; its own timing, wall time, peak tree RSS and the CPU
    time of its process tree (pool workers and helpers are waited for by the build)."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak_rss = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory_kb(process.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if process.returncode != 0:
        raise SystemExit(f"{name} failed:\n{stderr.decode()}")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    rss, pss = peak_rss / 1024, peak_pss / 1024
    return Run(name, result["seconds"], wall, rss, pss, result["summary"], cpu)


def dataset(count: int, seed: int) -> Path:
    """The generated records for `count` and `seed`, made once and kept between runs."""
    folder = Path(tempfile.gettempdir()) / "feedpub-bench" / f"records-{count}-seed{seed}"
    marker = folder.with_name(folder.name + ".done")
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {count:,} records into {folder} ...", file=sys.stderr)
        generate(folder, count, seed)
        stamp = time.time() - 3600  # as if written an hour ago, like a real records folder
        for path in folder.iterdir():
            os.utime(path, (stamp, stamp))
        marker.touch()
    return folder


_WEB_URL = re.compile(rb"(?m)^(webUrl: *)([\"']?)(https?://[^\"'\s]+)")


def copies(source: Path, count: int) -> Path:
    """`count` records made of copies of the front-matter records in `source`, kept between
    runs; copy k of a record gets `/c<k>` after its webUrl, so copies are not duplicates."""
    originals = sorted(
        path for path in source.iterdir() if path.suffix in (".txt", ".md") and path.is_file()
    )
    if not originals:
        raise SystemExit(f"{source}: no .txt or .md records to copy")
    name = f"copies-of-{source.resolve().name}-{count}"
    folder = Path(tempfile.gettempdir()) / "feedpub-bench" / name
    marker = folder.with_name(folder.name + ".done")
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"copying {len(originals):,} records to {count:,} in {folder} ...", file=sys.stderr)
        for number in range(count):
            copy, original = divmod(number, len(originals))
            data = originals[original].read_bytes()
            if copy:
                data = _WEB_URL.sub(rb"\1\2\3/c%d" % copy, data, count=1)
            (folder / f"c{copy:03d}_{originals[original].name}").write_bytes(data)
        stamp = time.time() - 3600
        for path in folder.iterdir():
            os.utime(path, (stamp, stamp))
        marker.touch()
    return folder


def shown_record(records: Path, out: Path) -> Path:
    """The record file of the newest entry of the `all` feed (so editing it changes feeds)."""
    newest = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"][0]["url"]
    needles = [
        f"{quote}{newest}{end}".encode() for quote, end in (('"', '"'), ("'", "'"), ("", "\n"))
    ]
    for path in sorted(records.iterdir()):
        data = path.read_bytes()
        if any(needle in data for needle in needles):
            return path
    raise SystemExit(f"no record holds {newest}")


def bench(records: Path, count: int, seed: int, no_cache_build: bool, rounds: int = 0) -> list[Run]:
    work = Path(tempfile.mkdtemp(prefix="feedpub-bench-"))
    out, cache = work / "out", work / "cache"
    runs: list[Run] = []

    def build(name: str, use_cache: bool = True, target: tuple[Path, Path] | None = None) -> None:
        if target is None:
            target = (work / "nocache", work / "nocache-cache") if not use_cache else (out, cache)
        runs.append(measure(name, _BUILD, str(records), *map(str, target), "1" * use_cache))
        print(f"  {name}: {runs[-1].seconds:.2f} s", file=sys.stderr)

    edited = sorted(records.iterdir())[
        count // 2
    ]  # replaced by a shown record after the cold build
    original = edited.read_bytes()
    added = records / "zzzzzz_bench_added.txt"
    try:
        runs.append(measure("floor: read + C-parse", _FLOOR, str(records)))
        runs.append(
            measure("peer: naive PyYAML-C + feedgen", _PEER, str(records), str(work / "peer"))
        )
        if no_cache_build:
            build("feedpub, no cache", use_cache=False)
        build("cold build")
        runs.append(measure("floor again, after the cold build", _FLOOR, str(records)))
        # Changes that show: edit the newest article of all.rss, add (then delete) a newer one.
        edited = shown_record(records, out)
        original = edited.read_bytes()
        build("warm, nothing changed")
        text, _url = record(__import__("random").Random(seed + 1), count + 1, None)
        text = re.sub(r"(?m)^publishedDateTime: .*$", f"publishedDateTime: {_newest()}", text)
        added.write_text(text, encoding="utf-8")
        build("warm, 1 record added")
        edited.write_bytes(
            re.sub(rb"(?m)^title: ([\"']?)", rb"title: \1Edited ", original, count=1)
        )
        build("warm, 1 record edited")
        added.unlink()
        build("warm, 1 record deleted")
        # Every file touched (a checkout, a re-export): read again, as in a first build.
        an_hour_ago = time.time_ns() - 3600 * 10**9  # not "racy": the next build trusts it
        for path in records.iterdir():
            os.utime(path, ns=(an_hour_ago, an_hour_ago))
        build("warm, every record touched")
        for name, watch, serving in (
            ("server: 1 edit, by scan", "0", "1"),
            ("server: 1 edit, by event", "1", "1"),
            ("build --watch: 1 edit, by event", "1", "0"),
        ):
            where = (str(records), str(out), str(cache), str(edited), watch, serving)
            runs.append(measure(name, _SERVER, *where))
            print(f"  {name}: {runs[-1].seconds:.2f} s; {runs[-1].summary}", file=sys.stderr)
        for number in range(1, rounds + 1):  # floor and first build side by side, again
            runs.append(measure(f"{ROUND}{number}: floor", _FLOOR, str(records)))
            fresh = (work / f"round{number}-out", work / f"round{number}-cache")
            build(f"{ROUND}{number}: cold build", target=fresh)
    finally:
        edited.write_bytes(original)
        added.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return runs


def dump_of(records: Path, kind: str) -> Path:
    """The front-matter records of `records` as one dump (the front matter as the item, a
    body as its `content`): JSON Lines (`jsonl`), or one JSON document holding the list under
    "value" (`json`, as news APIs send it); made once and kept between runs."""
    import yaml

    path = records.with_name(f"{records.name}-as-{kind}") / f"dump.{kind}"
    marker = path.parent.with_name(path.parent.name + ".done")
    if not marker.exists():
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.mkdir(parents=True)
        print(f"writing {records} as one dump, {path} ...", file=sys.stderr)
        with path.open("w", encoding="utf-8") as handle:
            handle.write('{"_type": "News", "value": [\n' if kind == "json" else "")
            for number, record in enumerate(sorted(records.iterdir())):
                head, _, body = record.read_text(encoding="utf-8")[4:].partition("\n---\n")
                item = yaml.load(head, Loader=yaml.CSafeLoader)
                if body.strip():
                    item["content"] = body
                line = json.dumps(item, default=_iso, ensure_ascii=False)
                handle.write((",\n" if kind == "json" and number else "") + line)
                handle.write("" if kind == "json" else "\n")
            handle.write("\n]}\n" if kind == "json" else "")
        stamp = time.time() - 3600
        os.utime(path, (stamp, stamp))
        marker.touch()
    return path


def _newest() -> str:
    """A publication time newer than every generated record's, so that an added record shows
    on top, but not later than the build (it would be held until then)."""
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(value: object) -> str:
    return value.isoformat()  # type: ignore[attr-defined]  # YAML timestamps


def _with_one_more(dump: Path, original: bytes) -> bytes:
    """The dump with one newer record added at the end."""
    added = {"title": "Added to the dump", "webUrl": "https://example.org/bench-added",
             "publishedDateTime": _newest()}  # fmt: skip
    if dump.suffix == ".jsonl":
        return original + json.dumps(added).encode() + b"\n"
    return (
        original.rstrip().removesuffix(b"]}").rstrip()
        + b",\n"
        + json.dumps(added).encode()
        + b"\n]}\n"
    )


def bench_dump(records: Path, count: int, kind: str) -> list[Run]:
    """The floor on the front-matter records; builds of the same records as one dump."""
    dump = dump_of(records, kind)
    work = Path(tempfile.mkdtemp(prefix="feedpub-bench-"))
    target = (str(work / "out"), str(work / "cache"), "1")
    original = dump.read_bytes()
    runs = [measure("floor: read + C-parse", _FLOOR, str(records))]
    try:
        for name in ("cold build of the dump", "warm, nothing changed"):
            runs.append(measure(name, _BUILD, str(dump.parent), *target))
            print(f"  {name}: {runs[-1].seconds:.2f} s", file=sys.stderr)
        dump.write_bytes(_with_one_more(dump, original))
        runs.append(measure("warm, 1 record added", _BUILD, str(dump.parent), *target))
        runs.append(measure("floor again, after the builds", _FLOOR, str(records)))
    finally:
        dump.write_bytes(original)
        shutil.rmtree(work, ignore_errors=True)
    floor = min(runs[0].seconds, runs[-1].seconds)
    print(f"\n{count:,} records as one {kind} dump ({dump.stat().st_size / 1e6:.0f} MB)")
    columns = ("seconds", "x floor", "wall s", "RSS MB", "PSS MB", "CPU s")
    print(f"{'':34} " + " ".join(f"{column:>8}" for column in columns))
    for run in runs:
        print(
            f"{run.name:34} {run.seconds:8.2f} {run.seconds / floor:8.3f} {run.wall:8.2f} "
            f"{run.rss_mb:8.0f} {run.pss_mb:8.0f} {run.cpu:8.2f}"
        )
    return runs


ROUND = "round "


def report(count: int, runs: list[Run]) -> None:
    paired = [run for run in runs if run.name.startswith(ROUND)]
    runs = [run for run in runs if run not in paired]
    floors = [run for run in runs if run.name.startswith("floor")]
    floor, peer = min(floors, key=lambda run: run.seconds), runs[1]
    cold = next(run for run in runs if run.name == "cold build")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\n{count:,} records ({os.cpu_count()} cores; load average at the end {load})")
    columns = ("seconds", "x floor", "x peer", "x cold", "wall s", "RSS MB", "PSS MB", "CPU s")
    print(f"{'':34} " + " ".join(f"{column:>8}" for column in columns))
    for run in runs:
        print(
            f"{run.name:34} {run.seconds:8.2f} {run.seconds / floor.seconds:8.3f} "
            f"{run.seconds / peer.seconds:8.3f} {run.seconds / cold.seconds:8.3f} "
            f"{run.wall:8.2f} {run.rss_mb:8.0f} {run.pss_mb:8.0f} {_cpu_column(run)}"
        )
    _report_cpu(cold, floor)
    warm = [run for run in runs if run.name.startswith("warm, 1")]
    worst = max(warm, key=lambda run: run.seconds)
    builds = [run for run in runs if run not in (*floors, peer)]
    checks = [
        (f"cold <= {GOAL_COLD_RATIO} x floor", cold.seconds <= GOAL_COLD_RATIO * floor.seconds),
        (
            f"feedpub build after 1 change < {GOAL_WARM_SECONDS} s",
            worst.seconds < GOAL_WARM_SECONDS,
        ),
        (
            f"feedpub build after 1 change < {GOAL_WARM_SHARE:.0%} of cold",
            worst.seconds < GOAL_WARM_SHARE * cold.seconds,
        ),
        (f"peak memory (PSS) < {GOAL_RSS_MB} MB", max(r.pss_mb for r in builds) < GOAL_RSS_MB),
    ]
    served = [run for run in runs if run.name.startswith("server: ")]
    if served:
        fastest = min(run.seconds for run in served)
        checks.append(
            (f"server picks up 1 edit in < {GOAL_WARM_SECONDS} s", fastest < GOAL_WARM_SECONDS)
        )
    watched = [run for run in runs if run.name.startswith("build --watch")]
    for run in watched:
        checks.append(
            (
                f"build --watch after 1 change < {GOAL_WARM_SECONDS} s and "
                f"< {GOAL_WARM_SHARE:.0%} of cold",
                run.seconds < min(GOAL_WARM_SECONDS, GOAL_WARM_SHARE * cold.seconds),
            )
        )
    for name, met in checks:
        print(f"  goal {name}: {'met' if met else 'NOT met'}")
    if paired:
        _report_rounds(paired)


def _cpu_column(run: Run) -> str:
    """The run's CPU seconds; "-" for the server and --watch runs, whose process also made
    the first build and its pool before the poll that is timed."""
    timed_alone = not run.name.startswith(("server: ", "build --watch"))
    return f"{run.cpu:8.2f}" if timed_alone else f"{'-':>8}"


def _report_cpu(cold: Run, floor: Run) -> None:
    """The first build's CPU time against the floor's: on N cores a build can take at best
    its CPU time / N of wall time, so the wall-time goal needs this ratio at most goal x N,
    however well the build spreads its work (CPU time drifts with the machine's speed, as
    wall time does)."""
    cores = os.cpu_count() or 1
    ratio = cold.cpu / floor.cpu
    room = GOAL_COLD_RATIO * cores
    verdict = "within reach" if ratio <= room else "out of reach on this many cores"
    print(
        f"  first build CPU {cold.cpu:.2f} s over its processes = {ratio:.3f} x the floor's "
        f"{floor.cpu:.2f} s (interpreter starts included); the {GOAL_COLD_RATIO} x goal needs "
        f"at most {room:.2f} x on {cores} cores: {verdict}"
    )


def _report_rounds(paired: list[Run]) -> None:
    """Each extra round's first build against the floor measured just before it: on a
    machine whose speed drifts, the ratio of neighbours is steadier than one of minima."""
    print("\nfloor and first build side by side (--rounds):")
    ratios, cpu_ratios = [], []
    for floor, cold in zip(paired[::2], paired[1::2], strict=True):
        ratios.append(cold.seconds / floor.seconds)
        cpu_ratios.append(cold.cpu / floor.cpu)
        name = floor.name.split(":")[0]
        print(
            f"  {name}: floor {floor.seconds:6.2f} s, first build {cold.seconds:6.2f} s, "
            f"{ratios[-1]:.3f} x floor; CPU {floor.cpu:6.2f} / {cold.cpu:6.2f} s, "
            f"{cpu_ratios[-1]:.3f} x"
        )
    median = statistics.median(ratios)
    met = "met" if median <= GOAL_COLD_RATIO else "NOT met"
    print(
        f"  median {median:.3f} x floor (goal {GOAL_COLD_RATIO}: {met}); "
        f"CPU median {statistics.median(cpu_ratios):.3f} x the floor's"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", help="default: 10000 and 100000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-cache-build", action="store_true", help="also build without cache")
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        metavar="N",
        help="then N more rounds of the floor and a first build side by side (median ratio)",
    )
    parser.add_argument(
        "--stages", action="store_true", help="only print each stage's microseconds per record"
    )
    parser.add_argument(
        "--copies-of", type=Path, metavar="FOLDER", help="copies of these records, not generated"
    )
    parser.add_argument(
        "--dump",
        nargs="?",
        const="jsonl",
        choices=("jsonl", "json"),
        help="build the records as one dump instead: JSON Lines (the default) or JSON",
    )
    args = parser.parse_args()

    def records_for(count: int) -> Path:
        return (
            dataset(count, args.seed) if args.copies_of is None else copies(args.copies_of, count)
        )

    if args.stages:
        for count in args.records or [10_000]:
            records = records_for(count)
            sample = str(min(count, 5_000))
            result = subprocess.run(
                [sys.executable, "-c", _STAGES, str(records), sample],
                capture_output=True,
                check=True,
            )
            print(f"{count:,} records, first {sample}: microseconds per record, one process")
            for name, micros in json.loads(result.stdout).items():
                print(f"  {name:42} {micros:8.1f}")
        return
    for count in args.records or [10_000, 100_000]:
        if args.dump:
            bench_dump(records_for(count), count, args.dump)
        else:
            runs = bench(records_for(count), count, args.seed, args.no_cache_build, args.rounds)
            report(count, runs)


if __name__ == "__main__":
    main()
