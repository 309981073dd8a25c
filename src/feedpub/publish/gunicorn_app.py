"""Run the feed server under gunicorn, in-process, with the builder in the arbiter.

The arbiter owns the one `Builder`: it builds before the first worker starts
(`when_ready`), then polls the records from a thread and publishes each new
version into a private handoff folder. Workers are forked afterwards; each
loads the current snapshot and picks up new ones from that folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker

from feedpub.config import Config
from feedpub.publish.builder import Builder, install_fork_guard
from feedpub.publish.snapshot import DirectorySource, SnapshotDir, http_date
from feedpub.publish.web import create_app

log = logging.getLogger("feedpub.serve")

THREADS = 4


def _timeval(seconds: float) -> bytes:
    """`seconds` as a socket timeout (a struct timeval), never 0, which means none."""
    micro = max(int(seconds * 1_000_000), 1)
    return struct.pack("ll", micro // 1_000_000, micro % 1_000_000)


class TimedConnection(TConn):  # type: ignore[misc]
    """A connection whose every read or write gives up after `request_timeout` seconds
    without progress, and whose request head (line and headers) must come in that long.

    gunicorn calls `init()` before each request (new or kept alive), once the socket is
    made blocking. Without a timeout, a client that sends part of a request and stops holds
    one of the worker's threads for ever. The timeout is the kernel's, per call
    (SO_RCVTIMEO, SO_SNDTIMEO): Python's own socket timeout bounds a whole `sendall`, which
    cut off clients reading a big feed steadily. A per-call timeout alone let a client
    sending its headers a byte a second (slowloris) hold a thread as long as it liked, so
    the parser reads through `_HeadReader`, which also bounds the head as a whole.
    """

    request_timeout: float
    head_deadline: float | None = None  # when the head being read must be in
    reading_head = False
    shortened = False  # the read timeout is cut to what is left of the head's time

    def init(self) -> None:
        super().init()
        timeval = _timeval(self.request_timeout)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        self.shortened = False
        self.reading_head, self.head_deadline = True, None  # the clock starts at the first read
        unreader = getattr(self.parser, "unreader", None)
        if unreader is not None and not isinstance(getattr(unreader, "sock", None), _HeadReader):
            unreader.sock = _HeadReader(self)

    def head_read(self) -> None:
        """The head is in: a body is read with the per-read timeout only."""
        self.reading_head, self.head_deadline = False, None
        if self.shortened:
            self.shortened = False
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(self.request_timeout)
            )

    def close(self, graceful: bool = False) -> None:
        """Close without waiting for the client: gunicorn's graceful close (RFC 9112 9.6)
        reads on up to 2 s, on the worker's main thread, until the client closes too, so
        each client that does not (one cut off, or one that sent `Connection: close` and
        stays) stopped the worker accepting anyone for 2 s. What the client sent and was
        not read is drained first, so the kernel does not answer it with a reset that could
        cut the response short."""
        if graceful:
            with contextlib.suppress(OSError):  # BlockingIOError: nothing more to read
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.setblocking(False)
                for _ in range(16):  # at most 1 MiB, from a client that sends on
                    if not self.sock.recv(65536):
                        break
        with contextlib.suppress(OSError):
            self.sock.close()


class _HeadReader:
    """The socket as gunicorn's request parser reads it: a request's head must be in
    `request_timeout` seconds after its first read, however slowly its bytes come."""

    def __init__(self, conn: TimedConnection) -> None:
        self.conn = conn

    def recv(self, size: int) -> bytes:
        conn = self.conn
        if conn.reading_head:
            now = time.monotonic()
            if conn.head_deadline is None:
                conn.head_deadline = now + conn.request_timeout
            else:
                left = conn.head_deadline - now
                if left <= 0:
                    raise TimeoutError("request head not in within the request timeout")
                conn.shortened = True
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(left))
        data: bytes = conn.sock.recv(size)
        return data

    def __getattr__(self, name: str) -> Any:  # settimeout, gettimeout... of the socket
        return getattr(self.conn.sock, name)


class TimedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, with `server.request_timeout_seconds` on every connection.

    Idle kept-alive connections wait in gunicorn's poller, not in a thread (its
    `keepalive` closes them); this bounds a request once a thread serves it.
    """

    def init_process(self) -> None:
        gunicorn_util.write_error = write_error  # in this worker process only
        super().init_process()

    def enqueue_req(self, conn: TConn) -> None:
        # gunicorn makes the TConn in accept(), whose code differs between its versions;
        # every connection passes here, before its init(), on its way to a thread.
        conn.__class__ = TimedConnection
        conn.request_timeout = self.app.feed_config.server.request_timeout_seconds
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: TimedConnection) -> Any:
        conn.head_read()
        if _sends_a_body(req):
            # No request to this server needs a body, and the app never reads one. After
            # the response gunicorn would read it to reuse the connection, a read at a time
            # with no bound but the per-read timeout: a client sending a byte every few
            # seconds held the thread for hours. Closing instead drains only what has come.
            req.must_close = True
        return super().handle_request(req, conn)


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it refuses before the app sees it (a bad request line
    or header, a path too long...), written as the app's errors are: one line of plain text,
    with `Date` (RFC 9110 6.6.1) and nosniff. gunicorn's own is an HTML page without a `Date`;
    what was wrong (`mesg`) is in its error log, not echoed to the client."""
    body = f"{status_int} {reason}\n".encode("latin-1", "replace")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        f"Date: {http_date(int(time.time()))}\r\n"
        "Connection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    ).encode("latin-1", "replace")
    gunicorn_util.write_nonblock(sock, head + body)


def _sends_a_body(req: Any) -> bool:
    """True when a request comes with a body (chunked, or a length that is not 0)."""
    for name, value in req.headers:
        if name == "TRANSFER-ENCODING" or (name == "CONTENT-LENGTH" and value.strip("0 \t")):
            return True
    return False


class ServerLog(Logger):  # type: ignore[misc]
    """gunicorn's log, where a connection cut off by the request timeout is one line."""

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if isinstance(sys.exc_info()[1], TimeoutError | BlockingIOError):  # a stalled socket's
            self.info("closed a connection that stalled (server.request_timeout_seconds)")
        else:
            super().exception(msg, *args, **kwargs)


# Chosen by measurement (benchmarks/serve_bench.py): gthread, with a request timeout.
WORKER_CLASS: type[ThreadWorker] | str = TimedThreadWorker


# No client is a trusted proxy. gunicorn's defaults trust 127.0.0.1 (or $FORWARDED_ALLOW_IPS)
# to set `SCRIPT_NAME` (which cuts the path: a 500, 404 or 308 for any local client, or any
# proxy that passes its clients' headers on) and `X-Forwarded-Proto` and the like (the scheme:
# a 400 when two disagree). feedpub serves only root paths and writes absolute links from
# `base_url`, so it needs neither; a header with `_` in its name is then dropped. The access
# log shows the peer's address, never `X-Forwarded-For`.
UNTRUSTED_FORWARDERS: dict[str, Any] = {
    "forwarded_allow_ips": "",
    "forwarder_headers": "",
    "secure_scheme_headers": {},
}


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string (IPv6 hosts in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class FeedServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving `create_app` with one shared builder."""

    def __init__(
        self,
        config: Config,
        worker_class: type[ThreadWorker] | str = WORKER_CLASS,
        threads: int = THREADS,
    ) -> None:
        self.feed_config = config
        self.worker_class = worker_class
        self.threads = threads
        self.handoff = Path(tempfile.mkdtemp(prefix="feedpub-serve-"))  # mode 0700
        self.builder = Builder(config, SnapshotDir(self.handoff))
        self.owner = os.getpid()
        super().__init__()

    def load_config(self) -> None:
        server = self.feed_config.server
        settings: dict[str, Any] = {
            "bind": [bind_address(server.host, server.port)],
            "workers": server.workers,
            "worker_class": self.worker_class,
            "threads": self.threads,
            "keepalive": 5,
            "timeout": 30,
            "graceful_timeout": 5,
            "accesslog": None,  # our own, cheaper access log (publish.accesslog)
            "errorlog": "-",
            "logger_class": ServerLog,
            "loglevel": "info",
            "proc_name": "feedpub",
            "control_socket_disable": True,  # gunicorn >= 25.1: no ~/.gunicorn/gunicorn.ctl
            **UNTRUSTED_FORWARDERS,
            "when_ready": self._when_ready,
            "on_exit": self._on_exit,
        }
        for key, value in settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Called in each worker: the app, reading snapshots from the handoff folder."""
        interval = min(1.0, self.feed_config.server.poll_seconds)
        return create_app(self.feed_config, DirectorySource(self.handoff, interval))

    def _when_ready(self, arbiter: Any) -> None:
        install_fork_guard()
        self.builder.poll()
        self.builder.start()

    def _on_exit(self, arbiter: Any) -> None:
        self.builder.stop()
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the handoff folder (only ever from the process that made it)."""
        if os.getpid() == self.owner:
            shutil.rmtree(self.handoff, ignore_errors=True)
