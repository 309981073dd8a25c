"""Run the feed server under gunicorn, in-process, with the builder in the arbiter.

The arbiter owns the one `Builder`: it builds before the first worker starts
(`when_ready`), then polls the records from a thread and publishes each new
version into a private handoff folder. Workers are forked afterwards; each
loads the current snapshot and picks up new ones from that folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from feedpub.config import Config
from feedpub.publish.builder import Builder, install_fork_guard
from feedpub.publish.snapshot import DirectorySource, SnapshotDir
from feedpub.publish.web import create_app

log = logging.getLogger("feedpub.serve")

# Chosen by measurement (benchmarks/serve_bench.py): see docs/readme-server.md.
WORKER_CLASS = "gthread"
THREADS = 4


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string (IPv6 hosts in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class FeedServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving `create_app` with one shared builder."""

    def __init__(
        self, config: Config, worker_class: str = WORKER_CLASS, threads: int = THREADS
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
            "loglevel": "info",
            "proc_name": "feedpub",
            "control_socket_disable": True,  # gunicorn >= 25.1: no ~/.gunicorn/gunicorn.ctl
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
