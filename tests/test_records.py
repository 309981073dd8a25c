"""Reading record files: front matter, JSON, JSON Lines, and every way a file can be unusable."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import pytest

from feedpub import records as records_module
from feedpub.config import Limits
from feedpub.records import (
    RACY_NS,
    FileResult,
    Scan,
    has_racy_entries,
    read_record_file,
    rescan_names,
    scan_folder,
    scan_records,
)

LIMITS = Limits()


def read(path: Path) -> FileResult:
    return read_record_file(path, path.name, LIMITS)


def test_front_matter_and_body(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: Hello\ntopics: [AI]\n---\nBody *text*\n", encoding="utf-8")
    result = read(path)
    assert result.reports == []
    [record] = result.records
    assert record.data == {"title": "Hello", "topics": ["AI"]}
    assert record.body == "Body *text*\n"
    assert record.source == "a.md"


def test_bom_and_crlf_are_recovered_with_a_report(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf---\r\ntitle: Hello\r\n---\r\n")
    result = read(path)
    assert [r.data["title"] for r in result.records] == ["Hello"]
    reasons = [r.reason for r in result.reports]
    assert any("byte-order mark" in reason for reason in reasons)
    assert any("CRLF" in reason for reason in reasons)
    assert not any(r.skipped for r in result.reports)


def test_characters_yaml_forbids_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("---\ntitle: 'mojibake \x97 here'\n---\n", encoding="utf-8")
    result = read(path)
    assert result.records[0].data["title"] == "mojibake  here"
    assert "YAML forbids" in result.reports[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"title: no delimiters\n", "no front matter"),
        (b"---\ntitle: never closed\n", "no closing '---'"),
        (b"---\ntitle: [unclosed\n---\n", "not valid YAML"),
        (b"---\n- a list\n---\n", "must be a mapping"),
        (b"---\n---\n", "must be a mapping of fields, not nothing"),
        (b"---\nt: !!python/object/apply:os.system ['echo hi']\n---\n", "not valid YAML"),
        ("---\ntitle: caf\xe9\n---\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unusable_files_are_reported_not_read(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    result = read(path)
    assert result.records == []
    assert [r.skipped for r in result.reports][-1] is True
    assert reason in result.reports[-1].reason
    assert result.reports[-1].source == "bad.md"


def test_json_front_matter_with_a_surrogate_pair_escape_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text('---\n{"title": "Grin \\ud83d\\ude00", "topics": ["\\ud83d\\ude00"]}\n---\n')
    result = read(path)
    assert result.reports == []
    assert result.records[0].data == {"title": "Grin \U0001f600", "topics": ["\U0001f600"]}


def test_a_lone_surrogate_escape_in_front_matter_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text('---\n{"webUrl": "https://e.org/",\n "title": "Grin \\ud83d"}\n---\n')
    result = read(path)
    assert result.records == []
    [report] = result.reports
    assert (report.source, report.field) == ("a.md", "front matter")
    assert report.reason == (
        "not valid YAML: found a lone surrogate escape '\\ud83d': half of a UTF-16 pair,"
        " not a character at line 3"
    )


@pytest.mark.parametrize("suffix", [".md", ".json", ".jsonl"])
@pytest.mark.parametrize(
    ("codec", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32"), ("utf-32-be", "UTF-32")],
)
def test_a_utf16_or_utf32_file_is_reported_as_such(
    tmp_path: Path, suffix: str, codec: str, name: str
) -> None:
    text = {".md": "---\ntitle: Hello\n---\n", ".json": '[{"title": "Hello"}]'}.get(
        suffix, '{"title": "Hello"}\n{"title": "Again"}\n'
    )
    bom = "\ufeff" if codec.endswith("-be") else ""  # (the plain codecs write their own)
    path = tmp_path / f"a{suffix}"
    path.write_bytes((bom + text).encode(codec))
    result = read(path)
    assert result.records == []
    [report] = result.reports
    assert (report.source, report.field, report.skipped) == (f"a{suffix}", "file", True)
    assert report.reason == f"{name} text (by its byte-order mark); records must be UTF-8"


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: ok\nexcerpt: 'open\nmore: [\n---\n", encoding="utf-8")
    report = read(path).reports[0]
    assert "line" in report.reason


def test_unknown_extension_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04")
    [report] = read(path).reports
    assert "not a record file (.docx)" in report.reason


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text("---\ntitle: x\n---\n" + "x" * 200, encoding="utf-8")
    result = read_record_file(path, "big.md", Limits(max_record_bytes=100))
    assert result.records == []
    assert "100-byte limit" in result.reports[0].reason


def test_a_file_exactly_at_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "edge.md"
    text = "---\ntitle: x\n---\n"
    path.write_text(text + "y" * (100 - len(text)), encoding="utf-8")
    [record] = read_record_file(path, "edge.md", Limits(max_record_bytes=100)).records
    assert record.body == "y" * (100 - len(text))


def test_a_fifo_named_like_a_record_is_skipped_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "pipe.md"
    os.mkfifo(path)  # no writer ever opens it: reading it the usual way blocks for ever
    results: list[FileResult] = []
    reader = threading.Thread(target=lambda: results.append(read(path)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert results, "reading a FIFO blocked"
    [report] = results[0].reports
    assert report.reason == "not a regular file; skipped" and results[0].records == []


def test_short_reads_are_read_on_until_the_count_or_the_end() -> None:
    readable, writable = os.pipe()
    try:
        os.write(writable, b"hello")
        later = threading.Timer(0.2, lambda: os.write(writable, b"world!"))
        later.start()
        assert records_module._read_up_to(readable, 10) == b"helloworld"  # two reads
        later.join()
        os.close(writable)
        assert records_module._read_up_to(readable, 10) == b"!"  # the end came first
    finally:
        os.close(readable)
        with contextlib.suppress(OSError):
            os.close(writable)


@pytest.mark.parametrize(
    "document",
    [
        [{"title": "a"}, {"title": "b"}],
        {"news": [{"title": "a"}, {"title": "b"}]},
        {"page": 1, "value": [{"title": "a"}, {"title": "b"}], "nextPage": None},
    ],
)
def test_json_dump_shapes(tmp_path: Path, document: object) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = read(path)
    assert [r.data["title"] for r in result.records] == ["a", "b"]
    assert [r.source for r in result.records] == ["dump.json[0]", "dump.json[1]"]


@pytest.mark.parametrize(
    "document",
    [
        {"news": [{"title": "a"}], "value": [{"title": "b"}, {"title": "c"}]},
        {"value": [{"title": "b"}, {"title": "c"}], "page": 2, "news": [{"title": "a"}]},
        {"news": [{"title": "a"}], "value": [{"title": "b"}, {"title": "c"}], "x": ["y"]},
    ],
)
def test_items_under_value_beside_news_are_reported(tmp_path: Path, document: object) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = read(path)
    assert [r.data["title"] for r in result.records] == ["a"]
    [report] = result.reports
    assert (report.source, report.field, report.skipped) == ("dump.json", "value", True)
    assert report.reason == "2 items not read: a dump's records are those under 'news'"


def test_an_empty_list_under_news_leaves_the_items_under_value_reported(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"news": [], "value": [{"title": "b"}]}), encoding="utf-8")
    result = read(path)
    assert result.records == []
    assert [(r.field, r.reason) for r in result.reports] == [
        ("value", "1 item not read: a dump's records are those under 'news'")
    ]


def test_json_items_that_are_not_objects_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps([{"title": "a"}, 5, None]), encoding="utf-8")
    result = read(path)
    assert len(result.records) == 1
    assert [r.source for r in result.reports] == ["dump.json[1]", "dump.json[2]"]


def test_json_lines_report_bad_lines_and_keep_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    path.write_text('{"title": "a"}\n{broken\n\n[1]\n{"title": "b"}\n', encoding="utf-8")
    result = read(path)
    assert [r.data["title"] for r in result.records] == ["a", "b"]
    assert [r.source for r in result.records] == ["wire.jsonl:1", "wire.jsonl:5"]
    assert [r.source for r in result.reports] == ["wire.jsonl:2", "wire.jsonl:4"]


def test_invalid_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text("{nope", encoding="utf-8")
    assert "not valid JSON" in read(path).reports[0].reason


HUGE = "9" * 5_000  # over Python's 4,300 digits for an int read from text
DEEP = "[" * 3_000 + "]" * 3_000  # deeper than the JSON reader's recursion goes


@pytest.mark.parametrize(
    ("shape", "middle"),
    [
        ("list", '{"title": "b", "heat": ' + HUGE + "}"),
        ("list", '{"title": "b", "extra": ' + DEEP + "}"),
        ("list", DEEP),
        ("news", '{"title": "b", "images": [{"width": -' + HUGE + "}]}"),
        ("news", '{"title": "b", "extra": {"x": ' + DEEP + "}}"),
        ("value", '{"title": "b", "extra": ' + DEEP + ', "quality": ' + HUGE + "}"),
    ],
)
def test_one_item_too_long_or_deep_for_python_costs_only_itself(
    tmp_path: Path, shape: str, middle: str
) -> None:
    items = '[{"title": "a"}, ' + middle + ', {"title": "c"}]'
    text = items if shape == "list" else f'{{"page": {HUGE}, "{shape}": {items}, "x": {DEEP}}}'
    path = tmp_path / "dump.json"
    path.write_text(text, encoding="utf-8")
    result = read(path)
    titles = [record.data["title"] for record in result.records]
    sources = [record.source for record in result.records]
    if "heat" in middle or "width" in middle:  # read: the field is reported when converted
        assert titles == ["a", "b", "c"] and result.reports == []
    else:
        assert titles == ["a", "c"]
        assert sources == ["dump.json[0]", "dump.json[2]"]
        [report] = result.reports
        assert (report.source, report.field, report.skipped) == ("dump.json[1]", "record", True)
        assert report.reason.startswith("nested too deep to read")


def test_a_huge_json_integer_is_read_as_a_stand_in_the_converter_reports() -> None:
    text = '{"title": ' + HUGE + ', "published": -' + HUGE + "}"
    [record] = records_module.read_record_bytes(text.encode(), ".json", "d.json").records
    title, published = record.data["title"], record.data["published"]
    assert isinstance(title, records_module.HugeInteger) and title.digits == 5_000
    assert isinstance(published, records_module.HugeInteger)


@pytest.mark.parametrize(
    "text",
    [
        '[{"title": "a"}, ' + DEEP + ', {"title": }]',  # deep, and not JSON further on
        '[{"title": "a"}, ' + DEEP + ' {"title": "c"}]',  # no comma
        '[{"title": "a"}, ' + DEEP + ", ",  # cut short
        '[{"title": "a"}, ' + DEEP[:-1] + "]",  # never closed
        '[{"title": "a"}, ' + DEEP + "] trailing",
        '[{"title": "a", "heat": ' + HUGE + "}, {nope}]",
    ],
)
def test_a_dump_that_is_not_json_is_still_refused_whole(tmp_path: Path, text: str) -> None:
    path = tmp_path / "dump.json"
    path.write_text(text, encoding="utf-8")
    result = read(path)
    assert result.records == []
    [report] = result.reports
    assert (report.source, report.field) == ("dump.json", "file")
    assert report.reason.startswith("not valid JSON")


def test_json_lines_too_long_or_deep_for_python_cost_only_their_line(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    lines = [
        '{"title": "a"}',
        '{"title": "b", "x": ' + DEEP + "}",
        '{"title": "c", "heat": ' + HUGE + "}",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    result = read(path)
    assert [r.data["title"] for r in result.records] == ["a", "c"]
    [report] = result.reports
    assert (report.source, report.field) == ("wire.jsonl:2", "line")
    assert report.reason.startswith("nested too deep to read")


def test_scan_is_recursive_sorted_and_skips_hidden_and_backup_files(tmp_path: Path) -> None:
    names = ["b.md", "a/c.md", "a/.hidden.md", ".git/config", "z.json", "b.md~", "#b.md#"]
    names += ["a/.c.md.swp", "old~/d.md", "#tmp#/e.md", "a~b.md", "f#.md"]
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    kept = ["a/c.md", "a~b.md", "b.md", "f#.md", "z.json"]
    assert [f.name for f in scan_records(tmp_path)] == kept


def test_a_link_that_leads_nowhere_is_listed_so_that_reading_it_reports_it(
    tmp_path: Path,
) -> None:
    """A dump replaced by a symbolic link loop, or a link whose target is gone, was left out
    of the scan without a word (and its articles out of the feeds)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "loop.json").symlink_to("loop.json")
    (tmp_path / "sub" / "gone.md").symlink_to("missing.md")
    (tmp_path / "sub" / "linked.md").symlink_to("a.md")
    scan = scan_folder(tmp_path)
    assert [(name, size) for name, size, _ in scan.entries] == [
        ("loop.json", -1), ("sub/a.md", 1), ("sub/gone.md", -1), ("sub/linked.md", 1)
    ]  # fmt: skip
    names = ["loop.json", "sub/gone.md", "sub/a.md", "sub/linked.md", "sub/none.md"]
    assert rescan_names(Scan(0, []), tmp_path, names).entries == scan.entries
    reasons = [str(report) for report in read(tmp_path / "loop.json").reports]
    assert reasons == ["loop.json: file: cannot read: Too many levels of symbolic links"]
    reasons = [str(report) for report in read(tmp_path / "sub" / "gone.md").reports]
    assert reasons == ["gone.md: file: cannot read: No such file or directory"]


@pytest.mark.parametrize(
    ("offsets", "racy"),
    [
        ((), False),  # no files
        ((-3600 * 10**9, -RACY_NS - 1), False),  # all changed well before the scan
        ((-3600 * 10**9, -RACY_NS), True),  # one within a tick before it
        ((-3600 * 10**9, 0), True),
        ((-3600 * 10**9, RACY_NS), True),  # a little after it (clocks differ slightly)
        ((-3600 * 10**9, RACY_NS + 1, 3600 * 10**9), False),  # the future: clock skew
    ],
)
def test_racy_entries_are_those_changed_within_a_tick_of_the_scan(
    offsets: tuple[int, ...], racy: bool
) -> None:
    started = 1_800_000_000 * 10**9
    entries = [(f"{n}.md", 10, started + offset) for n, offset in enumerate(offsets)]
    assert has_racy_entries(Scan(started, entries)) is racy
