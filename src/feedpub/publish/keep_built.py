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
    """Build, then rebuild on every change until interrupted (or `stop` is set).

    The first Ctrl-C or SIGTERM ends it after the build under way, however long that takes
    (its files are then complete); a second Ctrl-C stops at once (every file is still
    either old or new: each is renamed into place whole).
    """
    configure_logging()
    if quiet:
        logging.getLogger("feedpub.serve").setLevel(logging.WARNING)
    stop = stop or threading.Event()
    previous = _stop_on_signals(stop, quiet)  # before the first build: it may take a while
    builder = Builder(config, serving=False)
    try:
        if not quiet:
            click.echo(f"feedpub: building {config.records} into {config.out} ...", err=True)
        builder.poll()  # the first build, in the foreground
        if not stop.is_set():
            builder.start()
            if not quiet:
                how = "file system events" if builder.state.changes_by == "events" else "scanning"
                click.echo(
                    f"feedpub: watching {config.records} ({how}) and keeping {config.out} up"
                    " to date; Ctrl-C stops",
                    err=True,
                )
        stop.wait()
    finally:
        builder.stop(timeout=None)  # the build under way finishes first
        builder.hubs.wait(HUB_WAIT_SECONDS)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop_on_signals(stop: threading.Event, quiet: bool) -> dict[int, Any]:
    """Let Ctrl-C and SIGTERM set `stop` (a second Ctrl-C raises KeyboardInterrupt, as
    usual); the handlers replaced, by signal. Only the main thread can do this."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(number: int, frame: FrameType | None) -> None:
        if stop.is_set() and number == signal.SIGINT:
            raise KeyboardInterrupt
        if not stop.is_set() and not quiet:
            click.echo("feedpub: stopping (a build under way finishes first)", err=True)
        stop.set()

    return {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
