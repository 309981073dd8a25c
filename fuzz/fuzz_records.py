"""atheris fuzz target: record bytes -> raw records -> articles -> every output -> parsed back.

The first input byte picks the record format (front matter, JSON or JSON Lines), the rest
is the file's content. Any exception, any output that is not well-formed XML or JSON, and
any `<script` in an output is a crash. Run (see fuzz/README.md):

    python fuzz/fuzz_records.py -max_total_time=60

`check_record_bytes` needs no atheris: tests/test_hostile.py replays every input kept in
tests/data/fuzz-regressions/ through it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from lxml import etree

from feedpub.config import Limits
from feedpub.convert import convert_record
from feedpub.records import read_record_bytes
from feedpub.render import render_site
from feedpub.select import deduplicate, select_site
from feedpub.yaml_loader import warm_up

SUFFIXES = (".md", ".json", ".jsonl")
LIMITS = Limits()
REPO = Path(__file__).resolve().parent.parent
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def check_record_bytes(data: bytes) -> None:
    """Read, convert and render one input; raise if anything goes wrong."""
    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    result = read_record_bytes(data[1:], suffix, f"fuzz{suffix}")
    articles = []
    for record in result.records:
        conversion = convert_record(record, LIMITS)
        for report in conversion.reports:
            str(report).encode("utf-8")  # a report line must be printable
        if conversion.article is not None:
            articles.append(conversion.article)
    if not articles:
        return
    unique, _ = deduplicate(articles)
    site = select_site(
        unique,
        title="Fuzz",
        description="Fuzzed records",
        base_url="https://feeds.example.com",
        language="en",
        max_items=50,
    )
    for path, output in render_site(site).items():
        if "<script" in output.decode("utf-8").lower():
            raise AssertionError(f"{path}: <script in the output")
        if path.endswith(".json"):
            json.loads(output)
        elif path.endswith((".rss", ".atom", ".opml")):
            etree.fromstring(output, XML_PARSER)


def seed_corpus() -> str:
    """A folder of seeds: the hostile fixtures and sample records, one per format byte."""
    folder = Path(tempfile.mkdtemp(prefix="feedpub-fuzz-corpus-"))
    sources = [
        *sorted((REPO / "tests" / "data" / "hostile").rglob("*")),
        *sorted((REPO / "records").glob("*")),
        *sorted((REPO / "tests" / "data" / "fuzz-regressions").glob("*")),
    ]
    for index, source in enumerate(p for p in sources if p.is_file()):
        content = source.read_bytes()
        if source.parent.name == "fuzz-regressions":
            (folder / f"seed-{index}").write_bytes(content)
            continue
        suffix = source.suffix.lower()
        selector = {".json": 1, ".jsonl": 2}.get(suffix, 0)
        if len(content) < 64_000:
            (folder / f"seed-{index}").write_bytes(bytes([selector]) + content)
    return str(folder)


def main() -> None:
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris")
    atheris.instrument_all()  # coverage feedback from feedpub and the Python libraries it uses
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(seed_corpus())  # no corpus folder given: start from the fixtures
    warm_up()  # the YAML fast path from the first input on, as in big builds
    atheris.Setup(argv, check_record_bytes)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
