"""The `feedpub serve` command: the HTTP feed server (gunicorn + the Flask app)."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import click

from feedpub.config import Config, load_config
from feedpub.errors import ConfigError, FeedpubError


class GivenPath(click.Path):
    """A path given on the command line, as `click.Path` but never empty: `Path("")` is the
    current folder, so `--out "$OUT"` with `OUT` unset wrote the feeds among its files."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("must not be empty (an unset variable?); '.' is this folder", param, ctx)
        return super().convert(value, param, ctx)


LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def effective_config(
    config_path: Path | None,
    records: Path | None = None,
    base_url: str | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> Config:
    """config.yaml (or defaults) with the command-line flags that were given on top."""
    config = load_config(config_path)
    server = config.server
    server_changes = {
        key: value
        for key, value in (("host", host), ("port", port), ("workers", workers))
        if value is not None
    }
    changes: dict[str, object] = {
        key: value for key, value in (("records", records), ("base_url", base_url)) if value
    }
    if server_changes:
        changes["server"] = dataclasses.replace(server, **server_changes)  # type: ignore[arg-type]
    try:
        return config.replace(**changes) if changes else config
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("config: ", "command line: ", 1)) from exc


def configure_logging() -> None:
    """The server's own messages (builds, problems in records) on stderr, gunicorn style."""
    logger = logging.getLogger("feedpub.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@click.command()
@click.option(
    "--config",
    "config_path",
    type=GivenPath(path_type=Path, dir_okay=False),
    help="Config file (default: ./config.yaml when present).",
)
@click.option("--records", type=GivenPath(path_type=Path), help="Records folder to serve.")
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on (default 8000).")
@click.option("--base-url", help="Public URL the feeds are served from (ids and self links).")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes (default 1; gunicorn)."
)
def serve(
    config_path: Path | None,
    records: Path | None,
    host: str | None,
    port: int | None,
    base_url: str | None,
    workers: int | None,
) -> None:
    """Serve the feeds over HTTP, rebuilding them when the records change."""
    try:
        config = effective_config(config_path, records, base_url, host, port, workers)
    except FeedpubError as error:
        click.echo(f"feedpub: error: {error}", err=True)
        sys.exit(1)
    configure_logging()
    from feedpub.publish.gunicorn_app import FeedServer, bind_address

    server = FeedServer(config)
    address = bind_address(config.server.host, config.server.port)
    click.echo(
        f"feedpub: serving {config.records} on http://{address}/ "
        f"({config.server.workers} worker(s)); public URL {config.base_url}",
        err=True,
    )
    try:
        server.run()
    finally:
        server.cleanup()  # a no-op in workers, whose exit also unwinds through here
