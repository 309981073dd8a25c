"""Shared fixtures: record writers, a one-call build, and the repo's sample records."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from feedpub import scan_blocks
from feedpub.build import BuildStats, run_build
from feedpub.config import Config
from feedpub.report import Report
from feedpub.yaml_loader import warm_up

REPO = Path(__file__).resolve().parent.parent
SAMPLE_RECORDS = REPO / "records"


@pytest.fixture(autouse=True, scope="session")
def _yaml_fast_path() -> None:
    """Builds in the tests read YAML as big builds do, through the fast path from the first
    document on (a process otherwise reads its first `WARM_AFTER` documents with PyYAML)."""
    warm_up()


@pytest.fixture(autouse=True)
def _small_scan_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record folders of a few dozen files make many blocks of the cached file list, as
    100,000 files do with the real `BLOCK_FILES` (every cached build goes through them)."""
    monkeypatch.setattr(scan_blocks, "BLOCK_FILES", 4)


def wait_for(condition: Callable[[], Any], seconds: float = 15.0) -> Any:
    """`condition()`'s first true value, asked every 20 ms; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def output_files(folder: Path, *, hidden: bool = False) -> dict[str, bytes]:
    """Every file of an output folder by relative path ({} while there is none), hidden ones
    (the manifest, the lock) only if asked; a file gone between listing and reading (a
    temporary one renamed by a build under way) is left out."""
    found: dict[str, bytes] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and (hidden or not path.name.startswith(".")):
            try:
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
            except FileNotFoundError:
                continue
    return found


def record_text(fields: dict[str, Any], body: str = "") -> str:
    """A front-matter record file's text."""
    header = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n{body}"


def base_record(**overrides: Any) -> dict[str, Any]:
    """A valid record; keyword arguments replace or add fields (None removes one)."""
    fields: dict[str, Any] = {
        "title": "A headline",
        "excerpt": "A short summary.",
        "publishedDateTime": "2026-01-02T03:04:05Z",
        "webUrl": "https://example.org/a",
        "published": True,
        "provider": {"name": "Example", "domain": "example.org"},
        "topics": ["AI"],
        "images": [{"url": "https://img.example.org/a.jpg", "width": 640, "height": 480}],
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


@pytest.fixture
def records_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    folder.mkdir()
    return folder


@pytest.fixture
def write_record(records_dir: Path) -> Callable[..., Path]:
    """Write a record file: `write_record("a.md", fields, body=...)` or raw text/bytes."""

    def write(name: str, content: dict[str, Any] | str | bytes, body: str = "") -> Path:
        path = records_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif name.endswith(".json"):
            path.write_text(json.dumps(content), encoding="utf-8")
        else:
            path.write_text(record_text(content, body), encoding="utf-8")
        return path

    return write


class BuildRun:
    """The result of one in-process build: stats, reports and the output folder."""

    def __init__(self, out: Path, stats: BuildStats, reports: list[Report]) -> None:
        self.out = out
        self.stats = stats
        self.reports = reports

    def read(self, relative: str) -> bytes:
        return (self.out / relative).read_bytes()

    def lines(self) -> list[str]:
        return [str(report) for report in self.reports]


def config_for(tmp_path: Path, records_dir: Path, **changes: Any) -> Config:
    """A Config for `records_dir` writing into tmp_path; keyword arguments change it."""
    settings: dict[str, Any] = {
        "records": records_dir,
        "out": tmp_path / "out",
        "cache_dir": tmp_path / "cache",
        "base_url": "https://feeds.example.com",
    }
    settings.update(changes)
    return Config(**settings)


@pytest.fixture
def build(tmp_path: Path, records_dir: Path) -> Callable[..., BuildRun]:
    """Build `records_dir` into tmp_path/out; keyword arguments change the Config."""

    def run(**changes: Any) -> BuildRun:
        config = config_for(tmp_path, records_dir, **changes)
        reports: list[Report] = []
        stats = run_build(config, reports.append)
        return BuildRun(config.out, stats, reports)

    return run
