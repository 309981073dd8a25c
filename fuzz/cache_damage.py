"""Damage a record cache on disk, many times over, and check what the next build publishes.

Each round copies a clean cache of N generated records, damages it one way (bits flipped,
bytes overwritten, a page zeroed, two pages swapped, or a row of its index altered as
another program would), removes the output folder and builds again through the damaged
cache. A round is
- `found` when the build says the cache was damaged and gives exactly the feeds of a
  build from an empty cache,
- `same` when it gives them with nothing to say (the damage missed what the build reads),
- `differs` when it gives other feeds (damage no check saw; the damaged cache is kept as
  `WORK/differs-<round>`),
- `failed` when the build fails or prints a traceback.

With `--outputs kept` each round starts from the clean build's output folder instead of an
empty one, so a build that finds no record changed may keep its outputs without choosing
the feeds (see README, "Nothing changed, nothing chosen"); with `--outputs edited` the
same, and the record of the newest entry is edited too (its title), and the feeds must be
those of a build of the edited records from an empty cache; `--outputs all` takes turns.

    python fuzz/cache_damage.py WORK_DIR [--records 2000] [--rounds 240] [--seed 1]
                                         [--outputs fresh|kept|edited|all]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import feedpub
from feedpub.cache import DB_NAME, PAGE_SIZE

GENERATE = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"

ROW_DAMAGE = (
    "DELETE FROM topics WHERE (file, seq, name) IN"
    " (SELECT file, seq, name FROM topics WHERE winner = 1 ORDER BY random() LIMIT 1)",
    "INSERT OR IGNORE INTO topics SELECT file, seq, 'zz', 'ZZ', published, id, 1"
    " FROM articles WHERE winner = 1 ORDER BY random() LIMIT 1;"
    " INSERT OR IGNORE INTO topic_counts VALUES ('zz', 'ZZ', 1)",
    "UPDATE topic_counts SET count = count + 1 WHERE key ="
    " (SELECT key FROM topic_counts ORDER BY random() LIMIT 1)",
    "UPDATE topics SET key = 'zz' WHERE key = (SELECT key FROM topics ORDER BY random() LIMIT 1)",
    "UPDATE articles SET winner = 1 - winner WHERE (file, seq) IN"
    " (SELECT file, seq FROM articles ORDER BY random() LIMIT 1)",
    "UPDATE articles SET published = published - 86400 WHERE (file, seq) IN"
    " (SELECT file, seq FROM articles WHERE winner = 1 ORDER BY random() LIMIT 1)",
    "DELETE FROM bodies WHERE (file, seq) IN"
    " (SELECT file, seq FROM bodies ORDER BY random() LIMIT 1)",
    "UPDATE outputs SET sha = zeroblob(20)",
    "UPDATE blocks SET digest = randomblob(16) WHERE first ="
    " (SELECT first FROM blocks ORDER BY random() LIMIT 1)",
    "UPDATE files SET mtime_ns = mtime_ns + 1 WHERE name ="
    " (SELECT name FROM files ORDER BY random() LIMIT 1)",
)


OUTCOMES = ("found", "same", "differs", "failed")


def build(records: Path, cache: Path, out: Path) -> tuple[int, str]:
    """Run `feedpub build` through `cache`; its exit status and what it printed."""
    config = cache.parent / f"{cache.name}.yaml"
    config.write_text(f"cache_dir: {cache}\nmax_items: 20\n", encoding="utf-8")
    command = [
        *(sys.executable, "-c", "from feedpub.cli import main; main()"),
        *("build", "-q", "--config", str(config)),
        *("--records", str(records), "--out", str(out), "--base-url", "https://f.example"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, done.stderr


def digests(folder: Path) -> dict[str, str]:
    """Each output file's SHA-256, by its path under `folder`."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def damage_bytes(database: Path, kind: str, rng: random.Random) -> None:
    """Flip bits, overwrite bytes, zero a page or swap two pages of the file."""
    data = bytearray(database.read_bytes())
    pages = len(data) // PAGE_SIZE

    def page(number: int) -> slice:
        return slice(number * PAGE_SIZE, (number + 1) * PAGE_SIZE)

    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "overwrite":
        start = rng.randrange(len(data))
        data[start : start + rng.randint(1, 64)] = rng.randbytes(64)[: len(data) - start]
    elif kind == "zero_page":
        data[page(rng.randrange(1, pages))] = bytes(PAGE_SIZE)
    else:
        one, other = map(page, rng.sample(range(1, pages), 2))
        data[one], data[other] = data[other], data[one]
    database.write_bytes(bytes(data))


class Edit:
    """The title of the record file of the `all` feed's newest entry, changed and put back
    (bytes and mtime) around a round, so the build reads exactly one changed file."""

    def __init__(self, records: Path, out: Path) -> None:
        newest = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"][0]
        self.path = next(
            path for path in sorted(records.iterdir()) if newest["url"] in path.read_text()
        )
        self.before = self.path.read_bytes()
        self.mtime_ns = self.path.stat().st_mtime_ns
        title = newest["title"]
        self.after = self.before.replace(title.encode(), f"{title} (edited)".encode(), 1)
        assert self.after != self.before, f"{self.path}: no title {title!r} to edit"

    def apply(self) -> None:
        """Write the edited record (one second newer: not "racy", and a changed size)."""
        self.path.write_bytes(self.after)
        os.utime(self.path, ns=(self.mtime_ns + 10**9, self.mtime_ns + 10**9))

    def undo(self) -> None:
        """Put back the record as it was, its mtime too."""
        self.path.write_bytes(self.before)
        os.utime(self.path, ns=(self.mtime_ns, self.mtime_ns))


def code_digest() -> str:
    """A digest of feedpub's source: a cache made by other code is rebuilt without a word,
    so an edit during a run would turn every later round into a clean build."""
    package = Path(feedpub.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--outputs", choices=("fresh", "kept", "edited", "all"), default="fresh",
        help="each round builds into an empty output folder (fresh), into the clean build's"
        " outputs (kept), or into them with one record edited (edited); all: each in turn",
    )  # fmt: skip
    args = parser.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    records, clean, cache, damaged, out = (
        work / name for name in ("records", "clean", "cache", "damaged", "out")
    )
    generate = [sys.executable, str(GENERATE), str(records), "--records", str(args.records)]
    subprocess.run(generate, check=True, capture_output=True)
    an_hour_ago = time.time() - 3600  # not "racy": the cache trusts their size and mtime
    for path in records.rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    # Built into `out` through `cache`, the folders of every round: their paths are part of
    # the configuration the cache's outputs were rendered for, so a round can keep them.
    status, printed = build(records, cache, out)
    if status:
        sys.exit(f"the clean build failed: {printed}")
    shutil.copytree(cache, clean)
    shutil.copytree(out, work / "reference")
    references = {"fresh": digests(out), "kept": digests(out)}
    edit = Edit(records, out)
    edit.apply()
    status, printed = build(records, work / "clean-edited", work / "reference-edited")
    edit.undo()
    if status:
        sys.exit(f"the clean build of the edited records failed: {printed}")
    references["edited"] = digests(work / "reference-edited")
    code = code_digest()
    rng = random.Random(args.seed)
    kinds = ("flip", "overwrite", "zero_page", "swap_pages", "rows")
    modes = ("fresh", "kept", "edited") if args.outputs == "all" else (args.outputs,)
    results: Counter[tuple[str, str]] = Counter()
    for round_number in range(args.rounds):
        kind = kinds[round_number % len(kinds)]
        mode = modes[round_number // len(kinds) % len(modes)]  # each kind in each mode
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(clean, cache)
        if kind == "rows":
            statement = rng.choice(ROW_DAMAGE)
            kind = f"rows {ROW_DAMAGE.index(statement)}"
            with sqlite3.connect(cache / DB_NAME) as db:
                db.create_function("random", 0, lambda: rng.getrandbits(63))  # seeded
                db.executescript(statement)
        else:
            damage_bytes(cache / DB_NAME, kind, rng)
        shutil.rmtree(damaged, ignore_errors=True)
        shutil.copytree(cache, damaged)
        shutil.rmtree(out, ignore_errors=True)
        if mode != "fresh":
            shutil.copytree(work / "reference", out)
            kind = f"{kind} {mode}"
        if mode == "edited":
            edit.apply()
        try:
            status, printed = build(records, cache, out)
        finally:
            if mode == "edited":
                edit.undo()
        if status or "Traceback" in printed:
            outcome = "failed"
            print(f"round {round_number} ({kind}) failed: {printed[-400:]}", file=sys.stderr)
        elif digests(out) == references[mode]:
            outcome = "found" if "was damaged" in printed else "same"
        else:
            outcome = "differs"
            shutil.move(damaged, work / f"differs-{round_number}")  # to look into
            print(f"round {round_number} ({kind}) differs", file=sys.stderr)
        results[(kind, outcome)] += 1
    for kind in sorted({kind for kind, _ in results}):
        row = ", ".join(f"{what} {results[(kind, what)]}" for what in OUTCOMES)
        print(f"{kind:>17}: {row}")
    total: Counter[str] = Counter()
    for (_, what), count in results.items():
        total[what] += count
    print(f"{'all':>17}: " + ", ".join(f"{what} {total[what]}" for what in OUTCOMES))
    if code_digest() != code:
        sys.exit("feedpub's source changed during the run: these figures do not count")


if __name__ == "__main__":
    main()
