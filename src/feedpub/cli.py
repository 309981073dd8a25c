"""The `feedpub` command: build, check (and serve, from publish.web)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from feedpub import __version__
from feedpub.build import BuildStats, build_site, run_build
from feedpub.config import Config, load_config
from feedpub.errors import ConfigError, FeedpubError
from feedpub.report import Report
from feedpub.serve import GivenPath, serve

_config_option = click.option(
    "--config",
    "config_path",
    type=GivenPath(path_type=Path, dir_okay=False),
    help="Config file (default: ./config.yaml when present).",
)
_records_option = click.option(
    "--records", type=GivenPath(path_type=Path), help="Records folder (searched recursively)."
)
_base_url_option = click.option(
    "--base-url", help="Public URL the feeds are served from (absolute ids and self links)."
)
_strict_option = click.option(
    "--strict",
    is_flag=True,
    default=None,
    help="Treat every report, recoveries included, as fatal.",
)


def load_effective_config(config_path: Path | None, **overrides: Any) -> Config:
    """The config file's values with the command-line flags that were given on top."""
    config = load_config(config_path)
    changes = {key: value for key, value in overrides.items() if value is not None}
    try:
        return config.replace(**changes) if changes else config
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("config: ", "command line: ", 1)) from exc


def _print_report(report: Report) -> None:
    click.echo(str(report), err=True)


def _fail(error: FeedpubError) -> None:
    click.echo(f"feedpub: error: {error}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedpub")
def main() -> None:
    """Publish article records as RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds."""


@main.command()
@_config_option
@_records_option
@click.option("--out", type=GivenPath(path_type=Path), help="Output folder (default: feeds/).")
@_base_url_option
@_strict_option
@click.option("--quiet", "-q", is_flag=True, help="Print no progress bar and no summary.")
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: rebuild the changed feeds whenever the records change (Ctrl-C stops).",
)
def build(
    config_path: Path | None,
    records: Path | None,
    out: Path | None,
    base_url: str | None,
    strict: bool | None,
    quiet: bool,
    watch: bool,
) -> None:
    """Build every feed from the records into the output folder."""
    try:
        config = load_effective_config(
            config_path, records=records, out=out, base_url=base_url, strict=strict
        )
        if watch:
            from feedpub.publish.keep_built import keep_built  # (imported when used: 40 ms)

            keep_built(config, quiet)
            return
        stats = run_build(config, _print_report, progress=not quiet and sys.stderr.isatty())
    except FeedpubError as error:
        _fail(error)
        return
    _warn_of_cache(stats)
    if not quiet:
        click.echo(f"feedpub: {stats.summary()}", err=True)
    if config.websub.pings:
        _tell_hubs(config, stats, quiet)


def _warn_of_cache(stats: BuildStats) -> None:
    """Warnings, even with --quiet: a cache that cannot be used makes every build slow until
    fixed; a damaged one may mean a failing disk."""
    for warning in (stats.cache_unusable, stats.cache_damaged):
        if warning:
            click.echo(f"feedpub: warning: {warning}", err=True)


def _tell_hubs(config: Config, stats: BuildStats, quiet: bool) -> None:
    """Ping the WebSub hubs of the feeds the build changed; their problems are warnings."""
    from feedpub.publish.websub import changed_feed_urls, notify_hubs  # (only with hubs)

    changed = changed_feed_urls(config, stats.written_paths)
    problems = notify_hubs(config, changed)
    for problem in problems:
        click.echo(f"feedpub: websub: {problem}", err=True)  # the feeds are written: exit 0
    if not quiet and changed:
        hubs = len(config.websub.hubs)
        click.echo(
            f"feedpub: websub: told {hubs} hub(s) of {len(changed)} changed feed(s)", err=True
        )


@main.command()
@_config_option
@_records_option
@_strict_option
def check(config_path: Path | None, records: Path | None, strict: bool | None) -> None:
    """Read and validate the records, report every problem, write nothing."""
    stats = BuildStats()
    try:
        config = load_effective_config(config_path, records=records, strict=strict)
        build_site(config, _print_report, stats, progress=sys.stderr.isatty())
    except FeedpubError as error:
        _fail(error)
        return
    _warn_of_cache(stats)
    click.echo(
        f"feedpub: {stats.records} records in {stats.files} files: {stats.skipped} skipped, "
        f"{stats.recovered} recovered, {stats.unpublished} unpublished, "
        f"{stats.published} publishable in {stats.feeds} feeds",
        err=True,
    )


main.add_command(serve)

if __name__ == "__main__":  # pragma: no cover
    main()
