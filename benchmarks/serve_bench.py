"""Benchmark `feedpub serve --workers 2` against a peer: the same files served by Flask's
`send_from_directory` under gunicorn gthread (2 workers x 4 threads).

Both run on 127.0.0.1 at the same time, on the same generated records, and are
loaded in turn (rounds interleave the two, so a busy machine hurts both alike)
with 304s (If-None-Match) and gzip 200s on /all.rss, by `wrk` when installed,
else by a Python keep-alive load generator. Printed: medians over the rounds of
requests/s, p50/p99 latency, and server CPU time per request (all processes of
the server, from /proc: the figure least disturbed by other load).

    python benchmarks/serve_bench.py [--records 200] [--duration 3] [--rounds 3]

Bounded: rounds x 4 x duration seconds of load plus startup. Not run by the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
PATH = "/all.rss"
WORDS = (
    "feed", "reader", "server", "cache", "bytes", "version", "build", "record", "topic",
    "article", "news", "climate", "space", "health", "science", "economy", "music", "sports",
    "policy", "energy", "transport", "city", "data",
)  # fmt: skip
TOPICS = ["AI", "Climate", "Space", "Health", "Economy", "Sports", "Music", "Science"]

PEER_APP = """
import os
from flask import Flask, send_from_directory

app = Flask(__name__)
ROOT = os.environ["PEER_ROOT"]


@app.route("/<path:path>")
def files(path):
    return send_from_directory(ROOT, path)
"""


@dataclass
class Result:
    """One load run: throughput, latency percentiles (ms) and failures."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float = float("nan")


def write_records(folder: Path, count: int) -> None:
    """`count` front-matter records with bodies of a few paragraphs."""
    rnd = random.Random(7)
    folder.mkdir(parents=True)
    for i in range(count):
        body = "\n\n".join(" ".join(rnd.choices(WORDS, k=80)) for _ in range(4))
        first, second = rnd.sample(TOPICS, 2)
        (folder / f"article-{i:04d}.md").write_text(
            "---\n"
            f"title: Article {i} about {' '.join(rnd.choices(WORDS, k=6))}\n"
            f"webUrl: https://example.org/articles/{i}\n"
            f"publishedDateTime: 2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z\n"
            f"topics: [{first}, {second}]\n"
            "provider: {name: Example News, domain: example.org}\n"
            f"excerpt: {' '.join(rnd.choices(WORDS, k=25))}\n"
            f"---\n{body}\n",
            encoding="utf-8",
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def fetch(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if fetch(port, {})[0] == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer within {timeout} s")


@contextlib.contextmanager
def running(
    command: list[str], port: int, cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    with (cwd / f"server-{port}.log").open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        wait_until_serving(port, process)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_wrk(port: int, headers: dict[str, str], args: argparse.Namespace) -> Result:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += ["--latency", f"http://{HOST}:{port}{PATH}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(bad.group(1)) if bad else 0
    done = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return Result(rate, _wrk_ms(output, "50%"), _wrk_ms(output, "99%"), errors, done)


def _wrk_ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if not match:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def _python_client(
    port: int, headers: dict[str, str], expect: int, seconds: float, threads: int
) -> tuple[int, int, list[float]]:
    """One load process: `threads` keep-alive connections until the deadline."""
    done = [0] * threads
    errors = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    deadline = time.monotonic() + seconds

    def loop(index: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", PATH, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == expect
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=10)
            latencies[index].append(time.perf_counter() - started)
            done[index] += 1
            errors[index] += not ok
        connection.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done), sum(errors), [x for part in latencies for x in part]


def run_python(port: int, headers: dict[str, str], expect: int, args: argparse.Namespace) -> Result:
    processes = max(1, args.threads)
    per_process = max(1, args.connections // processes)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(
            _python_client, [(port, headers, expect, args.duration, per_process)] * processes
        )
    total = sum(p[0] for p in parts)
    errors = sum(p[1] for p in parts)
    latencies = sorted(x for p in parts for x in p[2])
    if not latencies:
        return Result(0.0, float("nan"), float("nan"), errors)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Result(total / args.duration, pick(0.50), pick(0.99), errors, total)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc; just `pid` elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = entry.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (nan without /proc)."""
    total, seen = 0, False
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            seen = True
    return total / os.sysconf("SC_CLK_TCK") if seen else float("nan")


def scenarios(port: int) -> dict[str, tuple[dict[str, str], int]]:
    """The two request kinds, with this server's ETag, checked once by hand."""
    _, headers, _ = fetch(port, {})
    etag = headers.get("ETag") or headers.get("Etag") or ""
    found = {
        "304 If-None-Match": ({"If-None-Match": etag}, 304),
        "200 gzip": ({"Accept-Encoding": "gzip"}, 200),
    }
    for name, (request_headers, expect) in found.items():
        got, response_headers, body = fetch(port, request_headers)
        coding = response_headers.get("Content-Encoding", "identity")
        print(f"  port {port} {name}: status {got}, {coding}, {len(body)} bytes", flush=True)
        if got != expect:
            raise SystemExit(f"expected {expect} for {name} on port {port}, got {got}")
    return found


def load(
    process: subprocess.Popen[bytes],
    port: int,
    request: tuple[dict[str, str], int],
    args: argparse.Namespace,
) -> Result:
    """One load run, with the server's CPU time per request."""
    pids = process_tree(process.pid)
    before = cpu_seconds(pids)
    headers, expect = request
    result = run_wrk(port, headers, args) if args.wrk else run_python(port, headers, expect, args)
    used = cpu_seconds(pids) - before
    result.cpu_us = used / max(result.requests, 1) * 1e6
    return result


def median(results: list[Result]) -> Result:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    return Result(
        mid([r.requests_per_second for r in results]),
        mid([r.p50_ms for r in results]),
        mid([r.p99_ms for r in results]),
        sum(r.errors for r in results),
        sum(r.requests for r in results),
        mid([r.cpu_us for r in results]),
    )


def report(results: dict[str, dict[str, list[Result]]]) -> None:
    print(
        f"\n{'scenario':<18} {'server':<8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu us/req':>10} {'errors':>6}"
    )
    for scenario in results["feedpub"]:
        summary = {server: median(results[server][scenario]) for server in results}
        for server, r in summary.items():
            print(
                f"{scenario:<18} {server:<8} {r.requests_per_second:>7.0f} {r.p50_ms:>7.2f} "
                f"{r.p99_ms:>7.2f} {r.cpu_us:>10.0f} {r.errors:>6}"
            )
        ours, peer = summary["feedpub"], summary["peer"]
        print(
            f"{'':<18} feedpub/peer: {ours.requests_per_second / peer.requests_per_second:.2f}x "
            f"req/s, {peer.cpu_us / ours.cpu_us:.2f}x less CPU per request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--duration", type=int, default=3, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    args = parser.parse_args()
    args.wrk = shutil.which("wrk") is not None and not args.no_wrk
    print(f"load generator: {'wrk' if args.wrk else 'python http.client'}", flush=True)

    with tempfile.TemporaryDirectory(prefix="feedpub-bench-") as temp:
        root = Path(temp)
        write_records(root / "records", args.records)
        ours_port, peer_port = free_port(), free_port()
        (root / "config.yaml").write_text(
            f"records: records\nout: feeds\ncache_dir: cache\nbase_url: http://{HOST}:{ours_port}\n",
            encoding="utf-8",
        )
        env = {**os.environ, "PEER_ROOT": str(root / "feeds")}
        build = [sys.executable, "-m", "feedpub.cli", "build", "-q", "--config", "config.yaml"]
        subprocess.run(build, cwd=root, check=True)
        (root / "peer_app.py").write_text(textwrap.dedent(PEER_APP), encoding="utf-8")

        ours = [sys.executable, "-m", "feedpub.cli", "serve", "--config", "config.yaml"]
        ours += ["--workers", "2", "--port", str(ours_port)]
        peer = [sys.executable, "-m", "gunicorn", "--chdir", str(root), "-w", "2", "-k"]
        peer += ["gthread", "--threads", "4", "-b", f"{HOST}:{peer_port}", "--no-control-socket"]
        peer += ["peer_app:app"]

        with (
            running(ours, ours_port, root, env) as ours_process,
            running(peer, peer_port, root, env) as peer_process,
        ):
            servers = {
                "feedpub": (ours_process, ours_port, scenarios(ours_port)),
                "peer": (peer_process, peer_port, scenarios(peer_port)),
            }
            results: dict[str, dict[str, list[Result]]] = {name: {} for name in servers}
            for round_number in range(1, args.rounds + 1):
                for scenario in servers["feedpub"][2]:
                    for name, (process, port, requests) in servers.items():
                        result = load(process, port, requests[scenario], args)
                        results[name].setdefault(scenario, []).append(result)
                        print(
                            f"  round {round_number} {scenario:<18} {name:<8} "
                            f"{result.requests_per_second:>7.0f} req/s",
                            flush=True,
                        )
    report(results)


if __name__ == "__main__":
    main()
