"""Check the yaml-rs fast path against PyYAML's safe loader on every record of a folder.

    python benchmarks/verify_yaml.py /path/to/records [more folders]

For each front-matter header: both loads must give equal values of identical types
(or both fail), and the whole converted result (articles and reports) must match.
Prints how many documents took the fast path, and any difference (exit 1 if any).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml

from feedpub import yaml_loader
from feedpub.config import Limits
from feedpub.parse_pool import convert_file
from feedpub.records import _CLOSING, _DELIMITER, _YAML_FORBIDDEN

same = yaml_loader.same_value


def header_of(text: str) -> str | None:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not _DELIMITER.match(text):
        return None
    start = text.index("\n") + 1 if "\n" in text else len(text)
    closing = _CLOSING.search(text, start)
    return None if closing is None else _YAML_FORBIDDEN.sub("", text[start : closing.start()])


def load(function: Any, header: str) -> tuple[str, Any]:
    try:
        return "ok", function(header)
    except Exception as exc:
        return "error", type(exc).__name__


def main() -> int:
    yaml_loader.warm_up()  # the fast path from the first document on
    differences = fast = total = 0
    slow_seconds = fast_seconds = 0.0
    for folder in map(Path, sys.argv[1:]):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            header = header_of(path.read_bytes().decode("utf-8", "replace"))
            if header is None:
                continue
            total += 1
            started = time.perf_counter()
            expected = load(lambda h: yaml.load(h, Loader=yaml_loader.SafeLoader), header)
            slow_seconds += time.perf_counter() - started
            started = time.perf_counter()
            got = load(yaml_loader.load_yaml, header)
            fast_seconds += time.perf_counter() - started
            took_fast = yaml_loader.takes_fast_path(header)
            fast += took_fast
            # Off the fast path both values come from the same PyYAML call: nothing to compare
            # (and walking an alias bomb's billion nodes would never end). The fast path takes
            # no anchors or aliases, so its values are plain trees.
            if took_fast and (expected[0] != got[0] or not same(expected[1], got[1])):
                differences += 1
                print(f"DIFFERENT: {path}: {expected!r:.200} vs {got!r:.200}")
                continue
            display = path.as_posix()
            original = yaml_loader.yaml_rs
            yaml_loader.yaml_rs = None  # the PyYAML-only path
            try:
                reference = convert_file(path, display, Limits())
            finally:
                yaml_loader.yaml_rs = original
            accelerated = convert_file(path, display, Limits())
            if reference != accelerated:
                differences += 1
                print(f"DIFFERENT ARTICLES: {path}")
    print(
        f"{total} documents, {fast} on the fast path, {differences} differences; "
        f"PyYAML {total / max(slow_seconds, 1e-9):,.0f}/s, "
        f"load_yaml {total / max(fast_seconds, 1e-9):,.0f}/s"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
