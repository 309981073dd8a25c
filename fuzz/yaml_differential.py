"""Differential fuzz of the YAML fast path: `load_yaml` against PyYAML's safe loader.

Mutates the front matter of the record files in FOLDER (values swapped for scalars that
YAML 1.1 and 1.2 type differently, quoting switched, lines inserted or indented, tricky
characters spliced in) and checks that `yaml_loader.load_yaml` gives exactly what
PyYAML's loader gives (the same values and types, or an error where PyYAML raises one).
Run it before raising the yaml-rs pin in pyproject.toml:

    python fuzz/yaml_differential.py FOLDER [SECONDS] [SEED]

It prints how many documents it tried, how many took the fast path and every difference
(exit status 1 if there was one). Needs no atheris.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from feedpub.records import NoFrontMatter, split_front_matter
from feedpub.yaml_loader import SafeLoader, load_yaml, same_value, takes_fast_path, warm_up

# Scalars the two YAML versions type differently or that must not pass as plain text, and
# characters and shapes the fast path must refuse or read exactly as PyYAML does.
TOKENS = (
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "NULL", "true", "True", "FALSE",
    "017", "0o17", "0x1F", "1_000", "1e3", "1E3", ".5", "-.inf", ".NaN", "+12", "-0", "00",
    "1:20", "1:20:30", "2024-01-01", "2024-01-01 10:00:00", "2024-01-01T10:00:00Z",
    "2024-01-01t10:00:00z", "2024-01-01T10:00:00+05:30", "2024-1-1", "2024-01-01T10:00:00.5Z",
    "12:30", "3.0", "1,000", "0b101", "+.5", "- x", "[a]", "{a: b}", "'q'", '"q"',
    '"a\\x41"', '"a\\u00e9"', "'it''s'", "a #c", "a#c", "a: b", "a:b", "# c", "&a x", "*a",
    "!!str 5", "|", ">", "? x", "@x", "`x", "%x", "x\ty", "\u00a0x", "x\u00a0", "é", "日本",
    "\U0001f600", "\u2028", "\x85", "\ufeff", "\x7f", "5 Z", "9to5", "(x)", "/a/b", "_x",
    "-x", "--x", "x -", "http://a:b", "a: b: c",
)  # fmt: skip


def mutate(rng: random.Random, text: str) -> str:
    """`text` with one to four random edits."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines))
        line, choice = lines[at], rng.random()
        if choice < 0.5 and ": " in line:
            lines[at] = f"{line.partition(': ')[0]}: {rng.choice(TOKENS)}"
        elif choice < 0.6 and line.lstrip().startswith("- "):
            lines[at] = f"{line[: len(line) - len(line.lstrip())]}- {rng.choice(TOKENS)}"
        elif choice < 0.7:
            cut = rng.randrange(len(line) + 1)
            lines[at] = line[:cut] + rng.choice(TOKENS) + line[cut:]
        elif choice < 0.8:
            lines[at] = " " * rng.randint(0, 3) + line
        elif choice < 0.9:
            extra = ("k: ", "- ", "  n: ", "", "x:")
            lines.insert(at, rng.choice(extra) + rng.choice(TOKENS))
        else:
            lines[at] = line.replace('"', "'") if rng.random() < 0.5 else line.replace("'", '"')
    return "\n".join(lines)


def outcome(load: Any, text: str) -> tuple[str, Any]:
    """("ok", value) or ("error", the exception's type)."""
    try:
        return ("ok", load(text))
    except Exception as error:
        return ("error", type(error).__name__)


def headers(folder: Path) -> list[str]:
    """The front matter of every record file in `folder` that has one."""
    found = []
    for path in sorted(folder.iterdir()):
        try:
            found.append(split_front_matter(path.read_text(encoding="utf-8"))[0])
        except (OSError, UnicodeDecodeError, NoFrontMatter):
            continue
    return found


def run(folder: Path, seconds: float, seed: int) -> int:
    """Fuzz for `seconds`; the number of differences found."""
    warm_up()  # the fast path from the first document on
    rng = random.Random(seed)
    seeds = headers(folder)
    if not seeds:
        raise SystemExit(f"no front matter in {folder}")
    tried = fast = differences = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        document = mutate(rng, rng.choice(seeds))
        tried += 1
        ours = outcome(load_yaml, document)
        theirs = outcome(lambda text: yaml.load(text, Loader=SafeLoader), document)
        same = ours[0] == theirs[0] and (ours[0] == "error" or same_value(ours[1], theirs[1]))
        if not same:
            differences += 1
            print(f"difference: {document!r}\n  load_yaml: {ours!r}\n  PyYAML: {theirs!r}")
        elif ours[0] == "ok" and takes_fast_path(document):
            fast += 1
    print(f"{tried} documents, {fast} on the fast path, {differences} differences")
    return differences


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("records")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    sys.exit(1 if run(folder, seconds, seed) else 0)


if __name__ == "__main__":
    main()
