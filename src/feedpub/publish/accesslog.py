"""A cheap access log: one preformatted line per request, written in batches.

gunicorn's own access log formats through `logging` on every request, which
costs a large share of a 304's time. Here a request costs one f-string and a
list append; lines are written to the file descriptor at most once a second (or
when 64 KiB are pending) by whichever thread comes first, by a small flusher
thread when the server is idle, and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

FLUSH_BYTES = 1 << 16
FLUSH_SECONDS = 1.0


def log_escaped(text: str) -> str:
    """`text` with `"` and `\\` written ``\\x22`` and ``\\x5c`` (as nginx writes them), and
    what is not printable escaped too: a quote ended the request's field early, a line
    break forged a line."""
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if char == '"' or char == "\\":
        return f"\\x{ord(char):02x}"
    if char.isprintable():
        return char
    return char.encode("unicode_escape").decode("ascii")


class AccessLog:
    """``host - - [time] "GET /path HTTP/1.1" status bytes 0.12ms`` lines on `fd`."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self._lines: list[bytes] = []
        self._pending = 0
        self._flushed = time.monotonic()
        self._lock = threading.Lock()
        self._second = -1
        self._stamp = ""
        self._flusher_pid = 0
        atexit.register(self.flush)

    def log(self, environ: WSGIEnvironment, status: str, size: int, started: float) -> None:
        """Queue one line for a finished request that began at perf_counter `started`."""
        elapsed = (time.perf_counter() - started) * 1000.0
        now = time.time()
        second = int(now)
        if second != self._second:
            self._stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
            self._second = second
        target = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        if query:
            target = f"{target}?{query}"
        if not target.isprintable() or '"' in target or "\\" in target:
            target = log_escaped(target)  # no field ended early, no forged log lines
        line = (
            f"{environ.get('REMOTE_ADDR', '-')} - - [{self._stamp}] "
            f'"{environ["REQUEST_METHOD"]} {target} {environ.get("SERVER_PROTOCOL", "-")}" '
            f"{status[:3]} {size} {elapsed:.2f}ms\n"
        ).encode("latin-1", "replace")
        with self._lock:
            self._lines.append(line)
            self._pending += len(line)
            due = self._pending >= FLUSH_BYTES or time.monotonic() - self._flushed >= FLUSH_SECONDS
        if self._flusher_pid != os.getpid():
            self._start_flusher()
        if due:
            self.flush()

    def flush(self) -> None:
        """Write every pending line now."""
        with self._lock:
            lines, self._lines = self._lines, []
            self._pending = 0
            self._flushed = time.monotonic()
        if not lines:
            return
        data = memoryview(b"".join(lines))
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(self.fd, data) :]

    def _start_flusher(self) -> None:
        """One idle flusher per process (a forked worker starts its own)."""
        self._flusher_pid = os.getpid()
        thread = threading.Thread(target=self._flush_forever, name="access-log", daemon=True)
        thread.start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            if self._pending:
                self.flush()
