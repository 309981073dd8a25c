"""`feedpub serve` as a real server (gunicorn subprocess on 127.0.0.1), talked to over HTTP."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedpub.build import run_build
from feedpub.config import load_config
from feedpub.publish.gunicorn_app import THREADS

from .conftest import base_record, record_text

UPDATE_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running `feedpub serve` subprocess and helpers to talk to it."""

    def __init__(self, root: Path, workers: int, server_settings: str = "") -> None:
        self.root = root
        self.port = free_port()
        self.config = root / "config.yaml"
        self.config.write_text(
            "records: records\nout: out\ncache_dir: cache\nbase_url: https://feeds.example.com\n"
            f"server:\n  poll_seconds: 0.2\n{server_settings}",
            encoding="utf-8",
        )
        self.stdout = root / "stdout.log"
        self.stderr = root / "stderr.log"
        command = [sys.executable, "-m", "feedpub.cli", "serve", "--config", str(self.config)]
        command += ["--port", str(self.port), "--workers", str(workers)]
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                command, cwd=root, stdout=out, stderr=err, start_new_session=True
            )

    def request(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection (so requests spread over the workers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def etag(self, path: str = "/all.rss") -> str:
        return self.request(path)[1]["ETag"]

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            with contextlib.suppress(OSError):
                if self.request("/healthz")[0] == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout} s:\n{self.log()}")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + UPDATE_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if condition():
                    return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> tuple[int, float]:
        """SIGTERM the server; its exit code and how long it took to exit."""
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(15)
        finally:
            self.kill()
        return code, time.monotonic() - started

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def write(records: Path, name: str, title: str, day: int, topics: list[str]) -> None:
    fields = base_record(
        title=title,
        webUrl=f"https://example.org/{name}",
        publishedDateTime=f"2026-02-{day:02d}T08:00:00Z",
        topics=topics,
    )
    (records / name).write_text(record_text(fields, f"About {title}."), encoding="utf-8")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[int], Server]]:
    servers: list[Server] = []
    records = tmp_path / "records"
    records.mkdir()
    for day, topics in enumerate((["AI"], ["AI", "Space"], ["Space"]), start=1):
        write(records, f"r{day}.md", f"Story {day}", day, topics)

    def launch(workers: int, ready: bool = True, server_settings: str = "") -> Server:
        server = Server(tmp_path, workers, server_settings)
        servers.append(server)
        if ready:
            server.wait_ready()
        return server

    yield launch
    for server in servers:
        if server.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.stop()
        server.kill()


def test_two_workers_serve_the_build_bytes_and_one_etag(start, tmp_path: Path):
    server = start(2)
    config = load_config(server.config).replace(out=tmp_path / "static")
    run_build(config, lambda report: None)
    files = json.loads((tmp_path / "static" / ".feedpub-manifest.json").read_text())
    assert {"all.rss", "topics/space.atom", "feeds.opml", "index.html"} <= set(files)
    for relative in files:
        status, headers, body = server.request(f"/{relative}")
        assert status == 200, relative
        assert body == (tmp_path / "static" / relative).read_bytes(), relative
        assert headers["ETag"]
    for path in ("/all.rss", "/topics/ai.atom"):
        etags = {server.etag(path) for _ in range(30)}
        assert len(etags) == 1, etags
        packed = server.request(path, {"Accept-Encoding": "gzip"})
        assert gzip.decompress(packed[2]) == (tmp_path / "static" / path[1:]).read_bytes()
        status, headers, body = server.request(path, {"If-None-Match": etags.pop()})
        assert (status, body) == (304, b"")
    server.wait_for(lambda: server.log().count("Booting worker") == 2, "both workers' log lines")
    assert server.log().count("Booting worker") == 2
    code, seconds = server.stop()
    assert code == 0
    assert seconds < 8
    assert "Shutting down" in server.log()


def test_live_updates_while_serving(start, tmp_path: Path):
    server = start(1)
    records = tmp_path / "records"
    first = server.etag()
    if sys.platform.startswith("linux"):  # inotify: the builder is told what changed
        server.wait_for(
            lambda: json.loads(server.request("/healthz")[2])["changes_by"] == "events",
            "healthz to say changes come by events",
        )

    write(records, "r4.md", "Story four", 4, ["AI"])
    server.wait_for(lambda: server.etag() != first, "an added record")
    second = server.etag()
    assert b"Story four" in server.request("/all.rss")[2]
    assert server.etag("/topics/space.rss") != server.etag("/topics/ai.rss")

    write(records, "r4.md", "Story four, revised", 4, ["AI"])
    server.wait_for(lambda: server.etag() != second, "a changed record")
    third = server.etag()
    assert b"Story four, revised" in server.request("/all.rss")[2]

    (records / "r5.md").write_text("---\ntitle: [never closed\n---\n", encoding="utf-8")
    server.wait_for(lambda: "r5.md" in server.log(), "the broken record to be logged")
    assert server.etag() == third

    (records / "r4.md").unlink()
    server.wait_for(lambda: server.etag() not in (second, third), "a removed record")
    fourth = server.etag()

    shutil.rmtree(records)
    server.wait_for(
        lambda: json.loads(server.request("/healthz")[2])["status"] == "degraded",
        "healthz to report the missing records",
    )
    status, _, body = server.request("/healthz")
    assert status == 200
    assert "records folder not found" in json.loads(body)["last_error"]
    assert server.etag() == fourth
    assert server.request("/all.rss")[0] == 200
    server.wait_for(  # the access log is flushed within a second
        lambda: '"GET /all.rss HTTP/1.1" 200 ' in server.stdout.read_text(), "an access log line"
    )
    code, _ = server.stop()
    assert code == 0


def test_http_errors_over_the_wire(start):
    server = start(1)
    assert server.request("/all.rss", method="HEAD")[2] == b""
    for path in ("/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "//all.rss", "/all.rss%00"):
        status, headers, body = server.request(path)
        assert status in (400, 404), path
        assert b"Traceback" not in body and len(body) < 300
    status, headers, _ = server.request("/all.rss", method="DELETE")
    assert status == 405 and "GET" in headers["Allow"]
    assert server.request("/nope", method="POST")[0] == 404
    assert server.request("/topics/ai.rss")[0] == 200
    assert server.request("/topics%2Fai.rss")[0] == 404  # an encoded slash is no separator
    status, headers, body = server.request("/healthz", method="OPTIONS")
    assert (status, body) == (204, b"") and "Content-Type" not in headers
    assert server.request("/all.rss?limit=abc")[0] == 400
    # The server as a whole (asterisk-form, RFC 9110 9.3.7): what it allows, no content.
    answer = raw_request(server.port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 204 and body == b"", answer
    lines = head.split(b"\r\n")
    assert b"Allow: GET, HEAD, OPTIONS" in lines
    assert not [line for line in lines if line.lower().startswith(b"content-type:")], lines


def test_503_until_the_first_good_build(start, tmp_path: Path):
    records = tmp_path / "records"
    shutil.rmtree(records)
    server = start(1, ready=False)
    server.wait_for(lambda: "records folder not found" in server.log(), "the failed build")
    server.wait_for(lambda: server.request("/healthz")[0] == 503, "the worker to answer")
    status, headers, body = server.request("/all.rss")
    assert status == 503 and headers["Retry-After"] and b"no feeds" in body
    assert headers["X-Content-Type-Options"] == "nosniff"
    records.mkdir()
    write(records, "late.md", "Late story", 9, ["AI"])
    server.wait_for(lambda: server.request("/all.rss")[0] == 200, "the first good build")
    assert json.loads(server.request("/healthz")[2])["status"] == "ok"


# -- hostile requests and bounded load ---------------------------------------------

Start = Callable[..., Server]


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read the whole answer (the server closes or answers one request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                break
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def rss_bytes(server: Server) -> int:
    """Resident memory of the server's whole process group (master and workers), in KiB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            stat = (status.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[2]) != server.process.pid:  # field 5: process group id
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def test_hostile_requests_get_short_4xx_answers_never_500(start: Start) -> None:
    server = start(2)
    port = server.port
    cases: list[tuple[bytes, set[int]]] = [
        (b"GET /" + b"a" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404, 414}),
        (b"GET /all.rss?" + b"q=1&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {200, 400, 414}),
        (b"GET /all.rss?limit=" + b"9" * 500 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
        (b"GET /all.rss?limit=1&limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", {400}),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: yesterday\r\n\r\n", {200}),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: \r\n\r\n", {200}),
        (
            b'GET /all.rss HTTP/1.1\r\nHost: x\r\nIf-None-Match: "a"\r\nIf-None-Match: "b"\r\n\r\n',
            {200},
        ),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10\r\n\r\n", {200, 206}),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nRange: bytes=oops\r\n\r\n", {200, 416}),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=abc, br;q=\r\n\r\n", {200}),
        (
            b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 9000 + b"\r\n\r\n",
            {200, 400, 431},
        ),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", {400}),
        (b"GET /all.rss HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", {200, 400, 431}),
        (b"FOO /all.rss HTTP/1.1\r\nHost: x\r\n\r\n", {400, 405, 501}),
        (b"TRACE /all.rss HTTP/1.1\r\nHost: x\r\n\r\n", {405}),
        (b"PATCH /all.rss HTTP/1.1\r\nHost: x\r\n\r\n", {405}),
        (b"DELETE /topics/ai.rss HTTP/1.1\r\nHost: x\r\n\r\n", {405}),
        (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}),
        (b"GET /topics/..%2f..%2fconfig.yaml HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}),
        (b"GET /topics/%00.rss HTTP/1.1\r\nHost: x\r\n\r\n", {400, 404}),
        (b"GET /config.yaml HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
        (b"GET /.feedpub-manifest.json HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
        (b"GET /all.rss HTTP/9.9\r\nHost: x\r\n\r\n", {400, 505}),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", {400}),
    ]
    for request, allowed in cases:
        answer = raw_request(port, request)
        assert answer.startswith(b"HTTP/1."), (request[:60], answer[:80])
        code = status_of(answer)
        assert code in allowed, (request[:80], answer[:300])
        assert b"Traceback" not in answer and b"root:" not in answer
    # After all that, the server still serves its feeds.
    assert server.request("/all.rss")[0] == 200
    assert "Traceback" not in server.log()


def test_many_concurrent_clients_get_no_errors_and_memory_stays_flat(start: Start) -> None:
    server = start(2)
    etag = server.etag()
    duration, connections = 3.0, 64
    errors: list[str] = []
    counts = [0] * connections

    def client(number: int) -> None:
        import http.client

        deadline = time.monotonic() + duration
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            while time.monotonic() < deadline:
                headers = {"Accept-Encoding": "gzip"}
                if number % 2:
                    headers["If-None-Match"] = etag
                connection.request(
                    "GET", "/all.rss" if number % 3 else "/topics/ai.atom", headers=headers
                )
                response = connection.getresponse()
                response.read()
                if response.status not in (200, 304):
                    errors.append(str(response.status))
                counts[number] += 1
        except OSError as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    def run_round() -> None:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(duration + 30)

    run_round()  # warm up: workers reach their working set
    before = rss_bytes(server)
    run_round()
    after = rss_bytes(server)
    assert errors == []
    assert sum(counts) > connections
    assert before > 0
    assert after < before * 1.25 + 8192, (before, after)


@pytest.mark.parametrize("workers", [2])
def test_records_folder_vanishing_keeps_serving_last_good_feeds(
    start: Start, tmp_path: Path, workers: int
) -> None:
    import json
    import shutil

    server = start(workers)
    body = server.request("/all.rss")[2]
    shutil.rmtree(tmp_path / "records")
    server.wait_for(
        lambda: json.loads(server.request("/healthz")[2])["status"] == "degraded",
        "healthz to report the missing records folder",
    )
    status, _, again = server.request("/all.rss")
    assert status == 200 and again == body


def served_despite(server: Server, holding: list[socket.socket]) -> None:
    """With every worker thread taken by the connections `holding` (each given 1 s), a new
    request is served within two rounds of cut-offs, and each of those was closed
    without an answer."""
    time.sleep(0.3)  # the worker has taken them all
    started = time.monotonic()
    status, _, body = server.request("/all.rss")
    waited = time.monotonic() - started
    assert status == 200 and b"Story 1" in body
    assert waited < 5, waited  # two rounds of 1-s cut-offs on 4 threads, then served
    for sock in holding:
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(100) == b""


def test_stalled_clients_are_cut_off_and_others_still_served(start: Start) -> None:
    """Each connection that sends part of a request and stops holds a worker thread until
    `server.request_timeout_seconds`; more of them than threads must not block other clients."""
    server = start(1, server_settings="  request_timeout_seconds: 1\n")
    stalled = []
    for _ in range(THREADS * 2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"G")  # the first byte of a request line, and then nothing
        stalled.append(sock)
    try:
        served_despite(server, stalled)
    finally:
        for sock in stalled:
            sock.close()
    time.sleep(1.5)  # all cut off by now: closing them must not hold up new connections
    started = time.monotonic()
    assert server.request("/all.rss")[0] == 200
    assert time.monotonic() - started < 1, time.monotonic() - started
    assert "Traceback" not in server.log(), server.log()


@contextlib.contextmanager
def trickling_clients(server: Server, opening: bytes, drop: bytes) -> Iterator[list[socket.socket]]:
    """Twice as many connections as the worker has threads, each sent `opening` and then
    `drop` every 0.2 s (no read ever waits the 1-s timeout) until the block ends."""
    trickling = []
    for _ in range(THREADS * 2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(opening)
        trickling.append(sock)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(0.2):
            for sock in trickling:
                with contextlib.suppress(OSError):
                    sock.send(drop)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield trickling
    finally:
        stop.set()
        dripper.join()
        for sock in trickling:
            sock.close()


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off(start: Start) -> None:
    """Slowloris: a client that sends its request line and headers a byte at a time, never
    pausing as long as `server.request_timeout_seconds`, held a worker thread for as long as
    it kept sending (the timeout was only per read); as many such clients as threads blocked
    every other client. Reading a request's head now gives up that long after it began."""
    server = start(1, server_settings="  request_timeout_seconds: 1\n")
    head = b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Slow: "
    with trickling_clients(server, head, b"a") as trickling:
        served_despite(server, trickling)
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.parametrize(
    "framing", [b"Content-Length: 100000\r\n", b"Transfer-Encoding: chunked\r\n"]
)
def test_a_request_body_sent_a_byte_at_a_time_does_not_hold_a_thread(
    start: Start, framing: bytes
) -> None:
    """A client that sends a body after its request a byte at a time: the answer came at
    once, and then gunicorn read the body to keep the connection for another request, a
    read at a time with no bound but the per-read timeout, so such clients held every
    thread for as long as they kept sending. The connection is now closed after the answer."""
    server = start(1, server_settings="  request_timeout_seconds: 1\n")
    head = b"GET /all.rss HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n"
    drop = b"1\r\na\r\n" if b"chunked" in framing else b"a"
    with trickling_clients(server, head, drop) as trickling:
        time.sleep(0.5)
        started = time.monotonic()
        status, _, body = server.request("/all.rss")
        assert status == 200 and b"Story 1" in body
        assert time.monotonic() - started < 1, time.monotonic() - started
        for sock in trickling:  # each had its answer, then the connection was closed
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer
    assert "Traceback" not in server.log(), server.log()


def test_a_client_reading_a_big_feed_steadily_is_not_cut_off(start: Start, tmp_path: Path) -> None:
    """The request timeout is for a stall: a client that reads a feed of megabytes slower
    than the timeout, but without ever pausing that long, gets all of it."""
    # 50 entries of ~200 KB: 10 MB, more than the kernel's largest send buffer (4 MB here),
    # so the server's write waits on the client for seconds.
    body = "A long paragraph of the article. " * 6_000
    for day in range(4, 54):
        fields = base_record(
            title=f"Long {day}",
            webUrl=f"https://example.org/long{day}",
            publishedDateTime=f"2026-03-{1 + day % 28:02d}T{day % 24:02d}:00:00Z",
        )
        (tmp_path / "records" / f"long{day}.md").write_text(record_text(fields, body))
    # 3 s: under 1 s this reader was cut off about one run in eight (the kernel likely wakes
    # a blocked sender only once much of its buffer, up to 4 MB, is free).
    server = start(1, server_settings="  request_timeout_seconds: 3\n")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a small window: it waits
    sock.settimeout(30)
    sock.connect(("127.0.0.1", server.port))
    try:
        sock.sendall(b"GET /all.rss HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        answer = b""
        started = time.monotonic()
        while chunk := sock.recv(65536):
            answer += chunk
            time.sleep(0.04)  # at most ~1.6 MB/s: 10 MB take 6 s, the timeout is 3 s
            head, _, rest = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                break
        took = time.monotonic() - started
    finally:
        sock.close()
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    assert head.startswith(b"HTTP/1.1 200") and length is not None
    assert int(length.group(1)) > 8_000_000 and took > 4, (length.group(1), took)
    assert len(rest) == int(length.group(1)) and rest.rstrip().endswith(b"</rss>")
    assert "stalled" not in server.log()


def test_clients_that_keep_a_closed_connection_open_do_not_hold_up_others(start: Start) -> None:
    """After `Connection: close` (or HTTP/1.0) gunicorn waited up to 2 s for the client to
    close too, on the worker's main thread: 4 such clients stopped new connections for 8 s."""
    server = start(1)
    held = []
    for _ in range(4):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /all.rss HTTP/1.0\r\n\r\n")  # answered, then left open
        held.append(sock)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert server.request("/all.rss")[0] == 200
        assert time.monotonic() - started < 1, time.monotonic() - started
        for sock in held:  # each got the whole answer
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.0 200 OK") and answer.endswith(b"</rss>\n")
    finally:
        for sock in held:
            sock.close()


# -- headers from the client never change routing ----------------------------------


def answer_without_date(server: Server, request: bytes) -> tuple[int, list[bytes], bytes]:
    """Status, header lines (Date left out: it moves) and body of one raw request."""
    answer = raw_request(server.port, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n")[1:] if not line.lower().startswith(b"date:")]
    return status_of(answer), lines, body


FORWARDER_HEADERS = [
    b"SCRIPT_NAME: /evil",
    b"SCRIPT_NAME: /topics",
    b"SCRIPT_NAME: /all.rss",
    b"Script_Name: /topics",
    b"SCRIPT-NAME: /topics",
    b"PATH_INFO: /feeds.opml",
    b"PATH-INFO: /feeds.opml",
    b"X-Forwarded-Proto: https",
    b"X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off",
    b"X-Forwarded-Protocol: ssl\r\nX-Forwarded-Proto: http",
    b"X-Forwarded-For: 203.0.113.9",
]


def test_forwarder_headers_from_the_client_change_nothing(start: Start) -> None:
    """gunicorn trusts `SCRIPT_NAME` (and `X-Forwarded-Proto`...) from 127.0.0.1 by default,
    so a local client, or a proxy passing its clients' headers on, got a 500 (a path outside
    the script name), a 404 or a 308 (the path cut), or a 400 (scheme headers that disagree).
    Every request gets exactly the answer it gets without such a header."""
    server = start(1)
    for path in (b"/all.rss", b"/topics/ai.rss", b"/", b"/feeds.opml", b"/nope"):
        plain = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        expected = answer_without_date(server, plain + b"\r\n")
        for header in FORWARDER_HEADERS:
            got = answer_without_date(server, plain + header + b"\r\n\r\n")
            assert got == expected, (path, header, got[:2])
    assert "Traceback" not in server.log() and "SCRIPT_NAME" not in server.log()


# -- conditional requests: only well-formed validators count -----------------------


def test_a_malformed_if_none_match_never_gives_a_304(start: Start) -> None:
    """RFC 9110 (5.5, 13.1.2): an If-None-Match that is not `*` or a list of entity-tags is
    ignored. Tags were picked out of any text, so garbage around a tag still gave a 304."""
    server = start(1)
    for path in ("/all.rss", "/all.rss?limit=2"):  # the fast path, and Flask's
        etag = server.request(path)[1]["ETag"]
        well_formed = [etag, f"W/{etag}", f'"x", {etag}', f' , {etag} ,,\t"y" , ', "*", " * "]
        for value in well_formed:
            assert server.request(path, {"If-None-Match": value})[0] == 304, (path, value)
        malformed = [
            etag.strip('"'),  # no quotes
            f"junk{etag}",
            f"{etag}junk",
            f'{etag} "x"',  # no comma between two tags
            f'"x" {etag}',
            f"w/{etag}",  # `W/` is case-sensitive
            f"W/ {etag}",
            f"*, {etag}",  # `*` stands alone
            f"{etag}, *",
            etag[:-1],  # unterminated
            f"{etag};q=1",
            f'{etag}, "a b"',  # a space is no etagc
        ]
        for value in malformed:
            assert server.request(path, {"If-None-Match": value})[0] == 200, (path, value)


# -- content coding: q wherever it stands among the parameters ---------------------


def test_accept_encoding_reads_q_among_other_parameters(start: Start) -> None:
    """`gzip;foo=bar;q=0` refuses gzip: q was read only as the first parameter, so it was
    taken for q=1. A q that is not a qvalue (RFC 9110 12.4.2) makes the member count as
    not given."""
    server = start(1)
    identity = server.request("/all.rss", {"Accept-Encoding": "identity"})[2]

    def coding(accept: str) -> str | None:
        status, headers, body = server.request("/all.rss", {"Accept-Encoding": accept})
        assert status == 200, accept
        if "Content-Encoding" not in headers:
            assert body == identity, accept
        return headers.get("Content-Encoding")

    for refused in (
        "gzip;q=0",
        "gzip;foo=bar;q=0",
        "gzip; foo=bar ; Q=0",
        "gzip;foo=bar;q=0.000",
        "gzip;q=2",  # out of range: not a qvalue
        "gzip;q=-1",
        "gzip;q=nan",
        "gzip;q=0.5000",
        "gzip;q=",
        "gzip;q=1e0",
    ):
        assert coding(refused) is None, refused
    assert coding("br;q=0.5, gzip;q=0.9") == "gzip"
    assert coding("gzip;q=0.5, br;q=0.9") == "br"
    assert coding("br;level=5;q=0.5, gzip;v=1;q=0.9") == "gzip"
    assert coding("gzip;foo=bar") == "gzip"
    assert coding("gzip;q=2, br;q=0.1") == "br"


# -- every response says its type is not to be sniffed ------------------------------


def test_every_response_but_a_304_carries_nosniff(start: Start) -> None:
    """`X-Content-Type-Options: nosniff` on feeds, the index, OPML, health and errors, from
    the fast path, from Flask and from gunicorn itself, so no browser renders a feed or an
    error as HTML."""
    server = start(1)
    requests: list[tuple[str, str, dict[str, str]]] = [
        ("GET", "/all.rss", {}),
        ("GET", "/all.rss", {"Accept-Encoding": "gzip"}),
        ("HEAD", "/all.rss", {}),
        ("GET", "/topics/ai.atom", {}),
        ("GET", "/all.json", {}),
        ("GET", "/all.rss?limit=1", {}),  # a cut, made by Flask
        ("GET", "/all.rss?limit=1", {"Accept-Encoding": "gzip"}),
        ("GET", "/", {}),
        ("GET", "/index.html", {}),
        ("GET", "/feeds.opml", {}),
        ("GET", "/healthz", {}),
        ("GET", "/nope", {}),  # 404
        ("GET", "/all.rss?limit=abc", {}),  # 400
        ("DELETE", "/all.rss", {}),  # 405
        ("OPTIONS", "/all.rss", {}),  # 204
    ]
    for method, path, headers in requests:
        status, got, _ = server.request(path, headers, method)
        assert got.get("X-Content-Type-Options") == "nosniff", (method, path, status, got)
    answer = raw_request(server.port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"\r\nX-Content-Type-Options: nosniff\r\n" in answer, answer


# -- If-Modified-Since: only HTTP's three date forms --------------------------------


def test_only_an_http_date_in_if_modified_since_gives_a_304(start: Start) -> None:
    """RFC 9110 5.6.7 and 13.1.3: If-Modified-Since is an IMF-fixdate, an RFC 850 date or an
    asctime date, case-sensitive; anything else is ignored. Python's e-mail date parser
    took a date without its weekday, with a wrong one, a numeric zone, a 2-digit year, a
    missing zone, lower case or text after it, so all of those gave a 304."""
    server = start(1)
    for path in ("/all.rss", "/all.rss?limit=2"):  # the fast path, and Flask's
        stamp = server.request(path)[1]["Last-Modified"]
        when = datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S GMT")
        other_day = (when + timedelta(days=1)).strftime("%a")
        valid = [
            stamp,
            when.strftime("%A, %d-%b-%y %H:%M:%S GMT"),  # RFC 850
            f"{when:%a %b} {when.day:2d} {when:%H:%M:%S %Y}",  # asctime
        ]
        for value in valid:
            assert server.request(path, {"If-Modified-Since": value})[0] == 304, (path, value)
        malformed = [
            stamp.split(", ", 1)[1],  # no weekday
            stamp.replace(stamp[:3], other_day, 1),  # a wrong weekday
            stamp.replace(stamp[:3], when.strftime("%A"), 1),  # RFC 850's long name in IMF
            stamp.replace("GMT", "+0000"),
            stamp.replace("GMT", "UTC"),
            stamp.replace(" GMT", ""),
            stamp.lower(),
            stamp.upper(),
            stamp + " junk",
            stamp + "; length=12",
            stamp.replace(", ", ",  "),
            stamp.replace(f" {when.year} ", f" {when.year % 100:02d} "),  # 2-digit year
            stamp.replace(when.strftime(" %H:"), f" {when.hour}:") if when.hour < 10 else "x",
            stamp.replace(when.strftime(":%S "), " "),  # no seconds
            when.strftime("%a, %d-%b-%Y %H:%M:%S GMT"),  # RFC 850 with 4 digits
            f"{when:%a %b} {when.day} {when:%H:%M:%S %Y}",  # asctime, one space
        ]
        for value in malformed:
            assert server.request(path, {"If-Modified-Since": value})[0] == 200, (path, value)


# -- If-Match and If-Unmodified-Since: a 412 when they fail -------------------------

# The fast path, Flask (a query with `%` goes there) and a cut, for feeds and pages.
PRECONDITION_PATHS = ["/all.rss", "/all.rss?cb=%41", "/all.rss?limit=2", "/", "/feeds.opml"]
HTTP_DATE = "%a, %d %b %Y %H:%M:%S GMT"
EPOCH_DAY = b"Thu, 01 Jan 1970 00:00:00 GMT"


def test_if_match_and_if_unmodified_since_over_the_wire(start: Start) -> None:
    """RFC 9110 13.1.1, 13.1.4 and 13.2.2: If-Match compares strongly (a `W/` tag never
    matches, a malformed value matches nothing), If-Unmodified-Since counts only without it
    and only as an HTTP date; a failed one gets an empty 412, GET or HEAD. Both were
    ignored: every request got the feed."""
    server = start(1)
    for path in PRECONDITION_PATHS:
        _, headers, body = server.request(path)
        etag, stamp = headers["ETag"], headers["Last-Modified"]
        when = datetime.strptime(stamp, HTTP_DATE)
        earlier = (when - timedelta(seconds=1)).strftime(HTTP_DATE)
        later = (when + timedelta(days=1)).strftime(HTTP_DATE)
        cases: list[tuple[dict[str, str], int]] = [
            ({"If-Match": etag}, 200),
            ({"If-Match": f'"nope", {etag}'}, 200),
            ({"If-Match": "*"}, 200),
            ({"If-Match": f"W/{etag}"}, 412),
            ({"If-Match": '"nope"'}, 412),
            ({"If-Match": f"{etag}junk"}, 412),  # malformed
            ({"If-Match": f"*, {etag}"}, 412),
            ({"If-Unmodified-Since": earlier}, 412),
            ({"If-Unmodified-Since": stamp}, 200),
            ({"If-Unmodified-Since": later}, 200),
            ({"If-Unmodified-Since": earlier.lower()}, 200),  # no HTTP date: ignored
            ({"If-Unmodified-Since": "not a date"}, 200),
            ({"If-Match": etag, "If-Unmodified-Since": earlier}, 200),  # If-Match counts
            ({"If-Match": '"nope"', "If-None-Match": etag}, 412),  # before If-None-Match
        ]
        for method in ("GET", "HEAD"):
            for sent, expected in cases:
                status, got, content = server.request(path, sent, method)
                assert status == expected, (path, method, sent)
                assert got["ETag"] == etag, (path, method, sent)
                if expected == 200:
                    assert content == (body if method == "GET" else b""), (path, method, sent)
                    continue
                assert content == b"", (path, method, sent)
                assert got["Content-Length"] == "0" and "Content-Type" not in got, got
                assert got["Cache-Control"] == "no-store", got
                assert got["Vary"] == "Accept-Encoding" and got["Last-Modified"] == stamp, got
                assert got["X-Content-Type-Options"] == "nosniff", got
        # Each coding has its own tag; If-Match takes any of this version's.
        asks_gzip = {"Accept-Encoding": "gzip"}
        _, got, packed = server.request(path, asks_gzip)
        assert got["Content-Encoding"] == "gzip" and got["ETag"] == etag[:-1] + '-gz"', got
        gz = got["ETag"]
        for tag, extra in ((gz, asks_gzip), (gz, {}), (etag, asks_gzip)):
            status, got, content = server.request(path, {"If-Match": tag, **extra})
            assert status == 200, (path, tag, extra)
            assert content == (packed if extra else body), (path, tag, extra)
        weak_gz = {"If-Match": f"W/{gz}", **asks_gzip}
        for method in ("GET", "HEAD"):
            status, got, content = server.request(path, weak_gz, method)
            assert (status, got["ETag"], content) == (412, gz, b""), (path, method)


def test_a_412_is_the_same_from_the_fast_path_and_from_flask(start: Start) -> None:
    """Status line and headers, GET and HEAD, and a line in the access log for each; a path
    that is not served stays a 404 and another method a 405 (RFC 9110 13.2.1)."""
    server = start(1)
    for method in (b"GET", b"HEAD"):
        for condition in (b'If-Match: "nope"', b"If-Unmodified-Since: " + EPOCH_DAY):
            answers = [
                answer_without_date(
                    server,
                    method
                    + b" "
                    + path
                    + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + condition
                    + b"\r\n\r\n",
                )
                for path in (b"/all.rss", b"/all.rss?cb=%41")
            ]
            assert answers[0][0] == 412, answers[0]
            assert answers[0] == answers[1], (method, condition, answers)
    assert server.request("/nope", {"If-Match": "*"})[0] == 404
    assert server.request("/all.rss", {"If-Match": '"nope"'}, "DELETE")[0] == 405
    logged = [
        '"GET /all.rss HTTP/1.1" 412 0 ',
        '"HEAD /all.rss HTTP/1.1" 412 0 ',
        '"GET /all.rss?cb=%41 HTTP/1.1" 412 0 ',
        '"HEAD /all.rss?cb=%41 HTTP/1.1" 412 0 ',
    ]
    server.wait_for(
        lambda: all(line in server.stdout.read_text() for line in logged), "the access log"
    )


# -- gunicorn's own error answers, and the access log's format ----------------------


def test_gunicorns_own_errors_are_dated_plain_text(start: Start) -> None:
    """A request gunicorn refuses before the app sees it (a bad request line or header, a
    path too long) was answered with an HTML page and no `Date`, which RFC 9110 6.6.1 asks
    of every origin server with a clock."""
    server = start(1)
    for request in (
        b"GET /all.rss HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    ):
        before = time.time()
        answer = raw_request(server.port, request)
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert 400 <= status_of(answer) < 600, answer[:200]
        dates = [line[6:] for line in lines if line.startswith(b"Date: ")]
        assert len(dates) == 1, head
        sent = datetime.strptime(dates[0].decode(), "%a, %d %b %Y %H:%M:%S GMT")
        assert abs(sent.replace(tzinfo=UTC).timestamp() - before) < 60, dates
        assert b"X-Content-Type-Options: nosniff" in lines, head
        assert b"Content-Type: text/plain; charset=utf-8" in lines, head
        assert body.startswith(lines[0].split(b" ", 1)[1]) and body.count(b"\n") == 1, body
        assert body.isascii() and b"<" not in body, body
    assert server.request("/all.rss")[0] == 200


LOG_LINE = re.compile(
    r'\S+ - - \[[^\]]+\] "(?:[^"\\]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\\[tnr])*" \d{3} \d+ [\d.]+ms'
)


def test_access_log_lines_escape_quotes_and_backslashes(start: Start) -> None:
    """The request in a log line is between double quotes: a `"` in the path (sent as %22)
    or the query ended it early, so a log reader took the rest for other fields."""
    server = start(1)
    paths = [
        "/a%22b",
        '/all.rss?x="%20200%200%20"',
        "/all.rss?x=%22",
        "/a%5C%22",
        "/all.rss?q=a\\b",
        "/%09tab%0Aline",
    ]
    for path in paths:
        raw_request(server.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    server.request("/all.rss")  # the last line
    server.wait_for(
        lambda: '"GET /all.rss HTTP/1.1" 200 ' in server.stdout.read_text(), "the access log"
    )
    lines = server.stdout.read_text().splitlines()
    assert len(lines) >= len(paths) + 2, lines  # and /healthz, from wait_ready
    for line in lines:
        assert LOG_LINE.fullmatch(line), line
    logged = "\n".join(lines)
    for request in (
        '/a\\x22b HTTP/1.1" 404',
        '/all.rss?x=\\x22%20200%200%20\\x22 HTTP/1.1" 200',
        '/all.rss?x=%22 HTTP/1.1" 200',
        '/a\\x5c\\x22 HTTP/1.1" 404',
        '/all.rss?q=a\\x5cb HTTP/1.1" 200',
        '/\\ttab\\nline HTTP/1.1" 404',
    ):
        assert f'"GET {request} ' in logged, (request, logged)


def test_a_missing_repeated_or_malformed_host_gets_a_400(start: Start) -> None:
    """RFC 9112 3.2: a 400 for an HTTP/1.1 request without Host, with two, or with one that
    is not a host and port; on the fast path's feeds and Flask's other paths alike."""
    server = start(1)
    refused = [
        b"GET /all.rss HTTP/1.1\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: a.example:80x\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: user@a.example\r\n\r\n",
        b"HEAD /all.rss HTTP/1.1\r\n\r\n",
        b"GET /index.html HTTP/1.1\r\n\r\n",
        b"GET /nowhere.rss HTTP/1.1\r\n\r\n",
        b"GET /all.rss?limit=1 HTTP/1.1\r\n\r\n",
    ]
    for request in refused:
        answer = raw_request(server.port, request[:-2] + b"Connection: close\r\n\r\n")
        assert status_of(answer) == 400, (request, answer[:200])
        if not request.startswith(b"HEAD"):  # (gunicorn refuses some itself: "400 Bad Request")
            assert answer.split(b"\r\n\r\n", 1)[1].startswith(b"400 Bad Request"), answer
    answered = [
        b"GET /all.rss HTTP/1.1\r\nHost: feeds.example.com\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: feeds.example.com:8080\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
        b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /all.rss HTTP/1.0\r\n\r\n",
    ]
    for request in answered:
        assert status_of(raw_request(server.port, request)) == 200, request
    assert server.request("/all.rss")[0] == 200
