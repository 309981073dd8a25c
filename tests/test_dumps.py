"""Big dumps read in parts: the parts tile the file, and read back what a whole read gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpub.config import Limits
from feedpub.dumps import (
    DumpChanged,
    merge_part_reports,
    part_digest,
    plan_parts,
    read_dump_part,
)
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
@given(
    lines=_JSON_LINES,
    part_bytes=st.integers(1, 400),
    crlf_from=st.integers(0, 31),
    end=st.booleans(),
)
def test_a_dump_read_in_parts_gives_what_it_gives_read_whole(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    part_bytes: int,
    crlf_from: int,
    end: bool,
) -> None:
    """`crlf_from`: the lines from that one on end in CRLF (from 0: all of them)."""
    ends = ["\r\n" if number >= crlf_from else "\n" for number in range(len(lines))]
    text = "".join(line + ending for line, ending in zip(lines, ends, strict=True))
    if lines and not end:
        text = text.removesuffix(ends[-1])
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
        assert part.first == raw.count(b"\n", 0, part.start) + 1
        assert (part.last - part.first + 1) == len(
            body.splitlines()
        ) or b"\r" in body  # (CR ends no line here)
        assert part.digest == part_digest(body)
    assert [p._replace(digest=b"") for p in parts] == plan_parts(path, part_bytes)
    whole = read_record_file(path, "d", LIMITS)
    records, reports = [], []
    for part in parts:
        result, digest = read_dump_part(path, "d", part)
        assert digest == part.digest
        records += result.records
        reports = merge_part_reports(reports, result.reports, "d")
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
        assert all(part.first <= n < part.first + (part.last - part.first + 1) for n in numbers)
        sources += found
    assert len(sources) == len(set(sources))  # no line read twice
    written = b"\n".join(lines).split(b"\n")  # (an item may hold line breaks itself)
    objects = [n for n, line in enumerate(written, 1) if line.strip(b" \t\r\n")]
    assert {int(source.split(":")[1]) for source in sources} <= set(objects)
    whole = read_record_file(path, "d", LIMITS)  # read whole: the same records, line reports
    assert (
        sorted(sources)
        == sorted(
            [r.source for r in whole.records] + [r.source for r in whole.reports if r.source != "d"]
        )
        or not path.read_bytes().strip()
    )


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
    whole = read(path)  # read whole, the same: a bad line costs only itself
    assert (whole.records, whole.reports) == (result.records, result.reports)


# -- JSON dumps -------------------------------------------------------------------------------

_ITEMS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"title": st.text(max_size=12)},
            optional={
                "images": st.lists(
                    st.fixed_dictionaries(
                        {"url": st.sampled_from(["https://e.org/a.jpg", '"},{"', "]}"])}
                    ),
                    max_size=2,
                ),
                "n": st.integers(-(10**20), 10**20),
            },
        ),
        st.integers(0, 10**6),  # not records: reported by their index
        st.just("text"),
        st.just([1, [2, {"x": "}"}]]),
    ),
    max_size=12,
)


@st.composite
def _documents(draw: st.DrawFn) -> object:
    items = draw(_ITEMS)
    shape = draw(st.sampled_from(["list", "news", "value", "both", "mixed", "single"]))
    if shape == "list":
        return items
    if shape == "single":
        return {"title": "one record", "publishedDateTime": "2026-01-01T00:00:00Z"}
    if shape == "both":
        return {"value": items[:3], "meta": {"k": [1, 2]}, "news": items}
    if shape == "mixed":  # "news" not a list: a whole read takes "value"
        return {"news": "none", "value": items, "count": len(items)}
    return {"_type": "News", shape: items}


@settings(max_examples=200, deadline=None)
@given(document=_documents(), part_bytes=st.integers(1, 300), indent=st.sampled_from([None, 1]))
def test_a_json_dump_read_in_parts_gives_what_it_gives_read_whole(
    tmp_path_factory: pytest.TempPathFactory, document: object, part_bytes: int, indent: int | None
) -> None:
    path = tmp_path_factory.mktemp("dump") / "dump.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=indent), encoding="utf-8")
    parts = plan_parts(path, part_bytes, digests=True)
    whole = read(path)
    if not parts:  # read whole: a single record, an empty list, items beside "value" ones
        single = isinstance(document, dict) and "title" in document
        both = isinstance(document, dict) and isinstance(document.get("news"), list)
        if both and document.get("value"):
            assert whole.reports[0].field == "value"
            return
        assert single or (not whole.records and not whole.reports)
        return
    raw = path.read_bytes()
    assert [p.first for p in parts] == [1, *(p.last + 1 for p in parts[:-1])]
    records, reports = [], []
    for part in parts:
        assert part.digest == part_digest(raw[part.start : part.stop])
        assert part.stop - part.start <= part_bytes or part.first == part.last
        result, _digest = read_dump_part(path, "dump.json", part)
        records += result.records
        reports += result.reports
    assert records == whole.records and reports == whole.reports


def test_an_item_giving_a_key_twice_is_refused_alike_in_parts_and_whole(tmp_path: Path) -> None:
    item = '{"title": "T%d", "publishedDateTime": "2026-01-01T00:00:00Z"%s}'
    twice = ', "published": false, "published": true'
    path = tmp_path / "dump.json"
    path.write_text("[" + ", ".join(item % (n, twice if n == 2 else "") for n in range(5)) + "]")
    whole = read(path)
    assert [r.data["title"] for r in whole.records] == ["T0", "T1", "T3", "T4"]
    assert [(r.source, r.field) for r in whole.reports] == [("dump.json[2]", "record")]
    parts = plan_parts(path, 60, digests=True)
    assert len(parts) > 1
    records, reports = [], []
    for part in parts:
        result, _digest = read_dump_part(path, "dump.json", part)
        records += result.records
        reports += result.reports
    assert records == whole.records and reports == whole.reports


@pytest.mark.parametrize(
    "content",
    [b"\xef\xbb\xbf[{}, {}]", b'[{"a": "\r"}, {}]', b"[{}, {}]\r\n", b'[{"a": "\xff"}, {}]',
     b"[{}, {}] []", b"[{}, {]", b'{"value": [{}, {}], "value": 3}', b'"just text"', b"[{}, {}",
     b'{"\xff": 1, "value": [{}, {}]}', b'{"value": [{}, {}], "n\xe9ws": 2}',
     b"[{}, " + b"[" * 100_000 + b"]" * 100_000 + b"]"],
)  # fmt: skip
def test_a_json_dump_that_is_not_plain_is_read_whole(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "dump.json"
    path.write_bytes(content)
    assert plan_parts(path, 1) == []  # a byte-order mark, a CR, not UTF-8, not one list...
    assert read(path).reports  # and a whole read says what is wrong


@pytest.mark.parametrize(
    "odd", ['{"title": "T1", "heat": ' + "9" * 5_000 + "}", "[" * 3_000 + "]" * 3_000]
)
def test_a_big_json_dump_with_an_item_too_long_or_deep_is_read_whole_but_that_item(
    tmp_path: Path, odd: str
) -> None:
    """Python cannot read an integer of over 4,300 digits nor nesting 3,000 deep: such a
    dump is not cut in parts, and a whole read leaves out at most that item."""
    items = [f'{{"title": "T{n}"}}' for n in range(5)]
    items[1] = odd
    path = tmp_path / "dump.json"
    path.write_text("[" + ", ".join(items) + "]")
    assert plan_parts(path, 60) == []
    whole = read(path)
    titles = [record.data["title"] for record in whole.records]
    assert titles == (["T0", "T1", "T2", "T3", "T4"] if "heat" in odd else ["T0", "T2", "T3", "T4"])
    assert [report.source for report in whole.reports] == (
        [] if "heat" in odd else ["dump.json[1]"]
    )


def test_a_big_dump_with_items_under_value_beside_news_is_read_whole_and_reports_them(
    tmp_path: Path,
) -> None:
    items = [{"title": f"T{n}"} for n in range(5)]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"news": items, "value": items[:2]}))
    assert plan_parts(path, 60) == []
    whole = read(path)
    assert len(whole.records) == 5
    assert [(r.field, r.reason) for r in whole.reports] == [
        ("value", "2 items not read: a dump's records are those under 'news'")
    ]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_big_utf16_json_lines_dump_is_read_whole_and_reported_once(
    tmp_path: Path, codec: str
) -> None:
    text = "".join(json.dumps({"title": f"T{n}"}) + "\n" for n in range(20))
    path = tmp_path / "dump.jsonl"
    path.write_bytes(("\ufeff" * codec.endswith("-be") + text).encode(codec))
    assert plan_parts(path, 60) == []
    [report] = read(path).reports
    assert report.reason.endswith("text (by its byte-order mark); records must be UTF-8")


def test_a_json_dump_changed_after_it_was_planned_fails_the_build(tmp_path: Path) -> None:
    """Its parts would be read from two versions (it was reported, and the part's records
    left out of that build's feeds)."""
    path = tmp_path / "dump.json"
    path.write_text(json.dumps([{"title": f"t{n}"} for n in range(20)]), encoding="utf-8")
    parts = plan_parts(path, 40)
    path.write_text(json.dumps({"value": "rewritten meanwhile, shorter"}), encoding="utf-8")
    with pytest.raises(DumpChanged, match=r"^dump\.json: changed while it was read"):
        read_dump_part(path, "dump.json", parts[1])


def test_a_json_lines_dump_rewritten_after_it_was_planned_fails_the_build(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text("".join(f'{{"title": "t{n}"}}\n' for n in range(40)), encoding="utf-8")
    parts = plan_parts(path, 60)
    appended = path.read_text(encoding="utf-8") + '{"title": "appended"}\n'
    path.write_text(appended, encoding="utf-8")  # appending changes no planned part
    assert [read_dump_part(path, "d", part)[1] for part in parts] == [
        part_digest(path.read_bytes()[part.start : part.stop]) for part in parts
    ]
    path.write_text(appended.replace('"t', '"title '), encoding="utf-8")  # lines moved
    for part in parts[1:]:
        with pytest.raises(DumpChanged, match=r"^d: changed while it was read"):
            read_dump_part(path, "d", part)
