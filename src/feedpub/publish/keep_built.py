"""`feedpub build --watch`: keep the files in the output folder in step with the records.

The server's builder without the server: told of changed records by file system
events (or a scan every `server.poll_seconds` where there are none), it re-reads only
those files and rewrites only the feeds they change, until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

import click

from feedpub.config import Config
from feedpub.publish.builder import Builder
from feedpub.serve import configure_logging

HUB_WAIT_SECONDS = 10.0
"""On exit, how long pings of hubs still under way may take."""


def keep_built(config: Config, quiet: bool = False, stop: threading.Event | None = None) -> None:
    """Build, then rebuild on every change until interrupted (or `stop` is set)."""
    configure_logging()
    if quiet:
        logging.getLogger("feedpub.serve").setLevel(logging.WARNING)
    stop = stop or threading.Event()
    previous = _stop_on_sigterm(stop)  # before the first build: it may take a while
    builder = Builder(config, serving=False)
    try:
        if not quiet:
            click.echo(f"feedpub: building {config.records} into {config.out} ...", err=True)
        builder.poll()  # the first build, in the foreground
        builder.start()
        if not quiet:
            how = "file system events" if builder.state.changes_by == "events" else "scanning"
            click.echo(
                f"feedpub: watching {config.records} ({how}) and keeping {config.out} up to"
                " date; Ctrl-C stops",
                err=True,
            )
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        builder.stop()  # a build under way finishes first: no file is left half-written
        builder.hubs.wait(HUB_WAIT_SECONDS)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm(stop: threading.Event) -> Any:
    """Let SIGTERM end the watch like Ctrl-C (main thread only); the handler it replaces."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(number: int, frame: FrameType | None) -> None:
        stop.set()

    return signal.signal(signal.SIGTERM, handle)
