"""Big dumps read in parts: the parts tile the file, and read back what a whole read gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpub.config import Limits
from feedpub.dumps import part_digest, plan_parts, read_dump_part
from feedpub.records import FileResult, read_record_file

LIMITS = Limits()


def read(path: Path) -> FileResult:
    return read_record_file(path, path.name, LIMITS)


_JSON_LINES = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(["title", "x", "é"]), st.text(max_size=40), max_size=3).map(
            lambda item: json.dumps(item, ensure_ascii=False)
        ),
        st.sampled_from(["", "   ", "not json", "[1, 2]", '{"title": "long ' + "y" * 300 + '"}']),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(lines=_JSON_LINES, part_bytes=st.integers(1, 400), crlf=st.booleans(), end=st.booleans())
def test_a_dump_read_in_parts_gives_what_it_gives_read_whole(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    part_bytes: int,
    crlf: bool,
    end: bool,
) -> None:
    text = ("\r\n" if crlf else "\n").join(lines) + ("\n" if end and lines else "")
    path = tmp_path_factory.mktemp("dump") / "dump.jsonl"
    path.write_bytes(text.encode("utf-8"))
    parts = plan_parts(path, part_bytes, digests=True)
    raw = path.read_bytes()
    # The parts tile the file, each cut after a line break, numbered by line.
    assert [p.start for p in parts] == [0, *(p.stop for p in parts)][: len(parts)]
    assert (parts[-1].stop if parts else 0) == len(raw)
    for part in parts:
        body = raw[part.start : part.stop]
        assert part is parts[-1] or body.endswith(b"\n")
        assert len(body) <= part_bytes or b"\n" not in body[:-1]  # longer: one long line
        assert part.first_line == raw.count(b"\n", 0, part.start) + 1
        assert part.lines == len(body.splitlines()) or b"\r" in body  # (CR ends no line here)
        assert part.digest == part_digest(body)
    assert [p._replace(digest=b"") for p in parts] == plan_parts(path, part_bytes)
    whole = read_record_file(path, "d", LIMITS)
    records, reports = [], []
    for part in parts:
        result, digest = read_dump_part(path, "d", part)
        assert digest == part.digest
        records += result.records
        reports += [r for r in result.reports if r.source != "d" or r not in reports]
    assert records == whole.records
    if text.strip():  # (a whole file of blanks is "empty"; its parts just hold no records)
        assert reports == whole.reports


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.binary(max_size=30), st.sampled_from([b'{"title": "ok"}', b"\r"])), max_size=25
    ),
    part_bytes=st.integers(1, 120),
)
def test_a_dump_of_any_bytes_read_in_parts_reads_each_line_once(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], part_bytes: int
) -> None:
    path = tmp_path_factory.mktemp("dump") / "dump.jsonl"
    path.write_bytes(b"\n".join(lines))
    sources: list[str] = []
    for part in plan_parts(path, part_bytes):
        result, _digest = read_dump_part(path, "d", part)  # never raises
        found = [record.source for record in result.records]
        found += [report.source for report in result.reports if report.source != "d"]
        numbers = [int(source.split(":")[1]) for source in found]
        assert all(part.first_line <= n < part.first_line + part.lines for n in numbers)
        sources += found
    assert len(sources) == len(set(sources))  # no line read twice
    written = b"\n".join(lines).split(b"\n")  # (an item may hold line breaks itself)
    objects = [n for n, line in enumerate(written, 1) if line.strip(b" \t\r\n")]
    assert {int(source.split(":")[1]) for source in sources} <= set(objects)


def test_bad_bytes_in_a_dump_part_cost_only_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_bytes(b'{"title": "a"}\n{"title": "\xff"}\n{"title": "\x00"}\n{"title": "d"}\n')
    (part,) = plan_parts(path, 1000)
    result, _digest = read_dump_part(path, "dump.jsonl", part)
    assert [r.data["title"] for r in result.records] == ["a", "d"]
    assert [str(r) for r in result.reports] == [
        "dump.jsonl:2: line: not UTF-8 text (bad byte at offset 11)",
        "dump.jsonl:3: line: binary data (NUL bytes), not a record",
    ]
    assert read(path).records == []  # read whole, such a file is refused altogether
