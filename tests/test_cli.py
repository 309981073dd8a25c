"""The `feedpub` command as a user runs it: help, exit codes, reports and summary."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from feedpub.cli import main

from .conftest import base_record

Write = Callable[..., Path]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedpub.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_every_command_has_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    assert isinstance(main, click.Group)
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage:" in result.output


def test_build_prints_reports_and_a_summary(
    tmp_path: Path, records_dir: Path, write_record: Write
) -> None:
    write_record("good.md", base_record())
    write_record("bad.md", "---\ntitle: [\n---\n")
    result = run_cli(
        "build", "--records", str(records_dir), "--out", str(tmp_path / "out"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("records/bad.md: front matter: not valid YAML")
    assert lines[-1].startswith("feedpub: read 1 records from 2 files; skipped 1")
    assert "published 1 articles" in lines[-1]
    assert (tmp_path / "out" / "all.rss").is_file()


def test_an_unusable_record_cache_is_a_warning_even_when_quiet(
    tmp_path: Path, records_dir: Path, write_record: Write
) -> None:
    write_record("good.md", base_record())
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    (tmp_path / "config.yaml").write_text(
        "records: records\nout: out\ncache_dir: blocker/cache\n", encoding="utf-8"
    )
    for flags in ((), ("-q",)):
        result = run_cli("build", "--config", "config.yaml", *flags, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert (
            "feedpub: warning: the record cache in blocker/cache cannot be used (Not a directory);"
            " this build read every record" in result.stderr
        )
    assert (tmp_path / "out" / "all.rss").is_file()
    checked = run_cli("check", "--config", "config.yaml", cwd=tmp_path)
    assert "feedpub: warning: the record cache" in checked.stderr


def test_strict_exits_1(tmp_path: Path, records_dir: Path, write_record: Write) -> None:
    write_record("good.md", base_record())
    write_record("bad.md", "---\ntitle: [\n---\n")
    result = run_cli(
        "build", "--strict", "--records", str(records_dir), "--out", str(tmp_path / "out")
    )
    assert result.returncode == 1
    assert "feedpub: error: --strict" in result.stderr
    assert not (tmp_path / "out" / "all.rss").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["build", "--records", "/nonexistent/records"], 1, "records folder not found"),
        (["build", "--base-url", "ftp://x"], 1, "base_url: must be an absolute http(s) URL"),
        (["build", "--config", "/nonexistent.yaml"], 1, "config file not found"),
        (["build", "--no-such-flag"], 2, "No such option"),
        # An empty path (an unset variable: `--out "$OUT"`) was the current folder: the feeds
        # were written among whatever it holds.
        (["build", "--out", ""], 2, "Invalid value for '--out': must not be empty"),
        (["build", "--records", " "], 2, "Invalid value for '--records': must not be empty"),
        (["build", "--config", ""], 2, "Invalid value for '--config': must not be empty"),
        (["check", "--records", ""], 2, "Invalid value for '--records': must not be empty"),
        (["serve", "--records", ""], 2, "Invalid value for '--records': must not be empty"),
        (["serve", "--config", ""], 2, "Invalid value for '--config': must not be empty"),
        (["serve", "--host", ""], 1, "command line: server.host: must be an IP address"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_exit_codes(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = (
        run_cli(*args, "--out", str(tmp_path / "out"))
        if args[0] == "build" and code == 1
        else run_cli(*args)
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr


def test_bad_config_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("max_itemz: 3\n", encoding="utf-8")
    result = run_cli("build", "--config", str(config))
    assert result.returncode == 1
    assert "max_itemz: unknown key" in result.stderr


def test_check_writes_nothing(tmp_path: Path, records_dir: Path, write_record: Write) -> None:
    write_record("good.md", base_record())
    result = run_cli("check", "--records", str(records_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 publishable" in result.stderr
    assert not (tmp_path / "feeds").exists()


def test_the_command_imports_no_server_code_until_it_is_used() -> None:
    """`feedpub build` (every few minutes from cron) starts without the server, watch and
    WebSub code (about 40 ms of imports): they load when `serve`, `--watch` or hubs need them."""
    server_modules = ("feedpub.publish.builder", "feedpub.publish.websub", "flask", "gunicorn")
    probe = f"import sys, feedpub.cli; print([m for m in {server_modules!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
