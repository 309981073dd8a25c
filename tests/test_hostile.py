"""Hostile records: nothing bad gets into a feed, nothing published gets lost.

Each case is one fixture under tests/data/hostile/ (a folder for cases that need two
files), built beside one ordinary "anchor" record so that every build has something to
publish. For every case: the build returns (no exception escapes), every output is valid
and harmless (see feedcheck), the private `secured` marker never appears, nothing is
written outside the output folder, and the fixture gives exactly the expected entries
and the expected reports (`path: field: reason`). Big inputs (5 MB, 10,000 topics, deep
nesting) are generated here rather than committed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedpub.config import Limits
from feedpub.topics import topic_key, topic_slug

from .conftest import BuildRun
from .feedcheck import check_outputs, feed_items, output_files

HOSTILE = Path(__file__).parent / "data" / "hostile"
MARKER = "HOSTILE-SECRET-7F3A9C"
ANCHOR_URL = "https://anchor.example.org/a"
ANCHOR = f"""---
title: Anchor article
excerpt: Always published.
publishedDateTime: 2024-04-01T00:00:00Z
webUrl: {ANCHOR_URL}
topics: [Anchor]
secured: "{MARKER}"
---
"""

Build = Callable[..., BuildRun]


@dataclass(frozen=True)
class Case:
    """A fixture and what it must give.

    `published`: titles of the entries it publishes (besides the anchor), newest first.
    `reports`: `field: reason fragment` for each report expected, in any order; with
    `exact`, these are all its reports. `allow`: strict needles the case may hold where
    they are inert (see feedcheck).
    """

    name: str
    published: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    exact: bool = True
    allow: tuple[str, ...] = ()


def skipped(*reports: str) -> tuple[str, ...]:
    return reports


NOT_URL = "not an absolute http(s) URL; ignored"
NO_URL = "no usable URL; the id is derived"
NO_IMAGE = "missing or not an http(s) URL; image left out"
DROPPED, CARRY = "removed", "no feed may carry"
EMPTIED = ", which left it empty; ignored"  # a topic or tag made only of such characters

CASES = [
    # Markup and script in every text field, links and image URLs; also obfuscated.
    Case(
        "script_in_every_field.md",
        ("Budget passes vote",),
        ("topics[1]: empty; ignored",),
    ),
    Case(
        "javascript_links.md",
        ("Links that try to run code",),
        (f"webUrl: {NOT_URL}", "provider.domain: not a domain name", f"images[0].url: {NO_IMAGE}"),
    ),
    Case(
        "obfuscated_schemes.md",
        ("Obfuscated script schemes",),
        (
            f"webUrl: {NOT_URL}",
            f"originalUrl: {NOT_URL}",
            f"webUrl: {NO_URL}",
            *(f"images[{index}].url: {NO_IMAGE}" for index in range(5)),
        ),
    ),
    Case(
        "data_and_vbscript_urls.md",
        ("Data and VBScript URLs",),
        (
            f"webUrl: {NOT_URL}",
            f"originalUrl: {NOT_URL}",
            f"webUrl: {NO_URL}",
            *(f"images[{index}].url: {NO_IMAGE}" for index in range(3)),
        ),
    ),
    Case("markdown_body.md", ("Markdown body with script links",)),
    Case("featured_iframe.md", ("Featured player",)),
    Case("featured_iframe_script.md", ("Featured player with a script source",)),
    Case("nested_raw_text.md", ("Headline",)),
    Case("forbidden_after_entity.md", ("Headline",)),
    # Control characters, characters XML forbids, lone surrogates, `]]>`, entities.
    # Each field they are dropped from is reported, with the code points.
    Case(
        "control_characters.md",
        ("Bell Backspace Escape Delete NEL C1 Nonchar done",),
        (
            f"title: {DROPPED} 8 character(s) {CARRY} (U+0007, U+0008, U+001B, U+007F, ...)",
            f"excerpt: {DROPPED} 2 character(s) {CARRY} (U+000B, U+000C)",
            f"provider.name: {DROPPED} 1 character(s) {CARRY} (U+001B)",
            f"topics[0]: {DROPPED} 1 character(s) {CARRY} (U+0000){EMPTIED}",
            f"topics[2]: {DROPPED} 1 character(s) {CARRY} (U+0002)",
            f"body: {DROPPED} 2 character(s) {CARRY} (U+000C, U+007F)",
        ),
    ),
    Case(
        "control_characters_raw.md",
        ("Raw bell and escape [2J here",),
        (
            "file: removed 3 character(s) YAML forbids",
            f"body: {DROPPED} 2 character(s) {CARRY} (U+0008, U+000C)",
        ),
    ),
    Case(
        "lone_surrogates.json",
        ("Lone high and low",),
        (
            f"[0]: title: {DROPPED} 2 character(s) {CARRY} (U+D800, U+DFFF)",
            f"[0]: excerpt: {DROPPED} 1 character(s) {CARRY} (U+D83D)",
            f"[0]: provider.name: {DROPPED} 1 character(s) {CARRY} (U+D800)",
            f"[0]: topics[0]: {DROPPED} 1 character(s) {CARRY} (U+DC80){EMPTIED}",
            f"[0]: topics[1]: {DROPPED} 1 character(s) {CARRY} (U+DBFF)",
            f"[0]: content: {DROPPED} 1 character(s) {CARRY} (U+DFFF)",
        ),
    ),
    # U+FFFD, written or made by decoding `&#0;`, `&#xD800;`, `&#1114112;`: the W3C
    # validator's BadCharacters (a sign of text decoded with the wrong encoding).
    Case(
        "replacement_character.md",
        ("Caf menu done",),
        (
            f"title: {DROPPED} 1 character(s) {CARRY} (U+FFFD)",
            f"excerpt: {DROPPED} 2 character(s) {CARRY} (U+FFFD)",
            f"provider.name: {DROPPED} 1 character(s) {CARRY} (U+FFFD)",
            f"topics[0]: {DROPPED} 1 character(s) {CARRY} (U+FFFD){EMPTIED}",
            f"topics[1]: {DROPPED} 1 character(s) {CARRY} (U+FFFD)",
            f"body: {DROPPED} 1 character(s) {CARRY} (U+FFFD)",
        ),
    ),
    # Text with an `&` that reads as an entity without its `;` (`&pi`, `&lang=en`, `5&10`):
    # the W3C validator's ContainsHTML unless written `&#x26;` (see feedcheck).
    Case("ampersand_like_entity.md", ("Rock &apos n roll π &pi 5&10 &#xZZ; &mdash end",)),
    Case("cdata_end.md", ("Ends ]]> here",)),
    Case("entity_escaped.md", ("Tom & Jerry show",), ("topics[1]: empty; ignored",)),
    # YAML: malformed, python tags, alias bombs, odd types.
    Case("malformed_yaml.md", reports=skipped("front matter: not valid YAML")),
    Case(
        "python_object_apply.md",
        reports=skipped("front matter: not valid YAML: could not determine a constructor"),
    ),
    Case(
        "python_tags.md",
        reports=skipped("front matter: not valid YAML: could not determine a constructor"),
    ),
    Case(
        "billion_laughs.md",
        ("Laughs everywhere but the title",),
        (
            "updatedDateTime: must be a timestamp, not list",
            "excerpt: must be text, not list",
            "provider: must be a mapping, not list",
            "topics[8]: must be a string, not list",
            "images[8]: must be a mapping, not list",
            "tags[8]: must be a string, not list",
        ),
        exact=False,
    ),
    Case(
        "billion_laughs_published.md",
        reports=skipped("published: must be true or false, got a list; not published"),
    ),
    Case("billion_laughs_title.md", reports=skipped("title: must be text, not list")),
    Case("yaml_binary_title.md", reports=skipped("title: must be text, not bytes")),
    Case(
        "yaml_odd_types.md",
        ("YAML odd types",),
        (
            "updatedDateTime: must be a timestamp, not float",
            "excerpt: must be text, not bytes",
            "topics: must be a list of strings, not set",
            "images[0]: must be a mapping, not tuple",
            "tags: must be a list of strings, not date",
        ),
    ),
    Case("yaml_custom_tag.md", reports=skipped("front matter: not valid YAML")),
    Case(
        "yaml_duplicate_keys.md",
        reports=skipped("front matter: not valid YAML: found duplicate key 'published' at line 7"),
    ),
    Case("yaml_not_mapping.md", reports=skipped("front matter: must be a mapping of fields")),
    Case("no_closing_delimiter.md", reports=skipped("file: front matter has no closing")),
    Case("no_front_matter.md", reports=skipped("file: no front matter")),
    # JSON and JSON Lines.
    # An integer too long for Python (`heat`, `quality`: never published) costs nothing.
    Case("huge_integer.json", ("Fine",)),
    Case("huge_integer.jsonl", ("Line three", "Line one"), (":2: publishedDateTime: missing",)),
    Case("json_wrong_shape.json", reports=skipped("file: JSON must be a list of records")),
    # NaN and the infinities (not JSON, but Python reads them) named no text: "nan", "inf".
    Case(
        "json_nan_infinity.json",
        ("Not a number elsewhere",),
        (
            "[0]: title: must be text, not nan",
            "[1]: excerpt: must be text, not inf; ignored",
            "[1]: topics[0]: must be a string, not nan; ignored",
            "[1]: topics[2]: must be a string, not -inf; ignored",
            "[1]: tags[0]: must be a string, not inf; ignored",
        ),
    ),
    # A key given twice: the record is refused, as in front matter (JSON keeps the last
    # value: `published` false then true published it); in a nested object, the last wins.
    Case(
        "json_duplicate_keys.json",
        ("Kept beside it", "Nested twice"),
        skipped("[1]: record: gives the key 'published' twice; not a valid record"),
    ),
    Case(
        "jsonl_duplicate_keys.jsonl",
        ("Line kept",),
        skipped(":2: record: gives the key 'published' twice; not a valid record"),
    ),
    Case(
        "jsonl_bad_lines.jsonl",
        ("Good two", "Good one"),
        (
            ":2: line: not valid JSON",
            ":3: record: must be a JSON object, not list",
            ":4: record: must be a JSON object, not null",
            ":5: record: must be a JSON object, not str",
        ),
    ),
    # Values of the wrong type.
    Case("title_is_list.md", reports=skipped("title: must be text, not list")),
    Case("title_is_mapping.json", reports=skipped("[0]: title: must be text, not dict")),
    Case("topics_is_string.md", ("Topics is a string",), ("topics: a single string",)),
    Case("images_is_mapping.md", ("Images is a mapping",), ("images: must be a list, not dict",)),
    Case(
        "published_yes_string.md",
        reports=skipped("published: must be true or false, got 'yes'; not published"),
    ),
    Case("published_false.md"),
    Case(
        "numbers_where_strings_belong.md",
        ("42",),
        (
            f"webUrl: {NOT_URL}",
            "provider.domain: not a domain name",
            "topics[2]: must be a string, not bool",
            "topics[3]: must be a string, not NoneType",
            "topics[4]: must be a string, not dict",
            f"images[0].url: {NO_IMAGE}",
            "tags[0]: must be a string, not bool",
        ),
    ),
    Case("superscript_sizes.md", ("Image sizes that are not ASCII numbers",)),
    Case(
        "provider_wrong_types.md",
        ("Provider, related and tags of the wrong type",),
        ("provider: must be a mapping, not str", "tags: must be a list of strings, not dict"),
    ),
    # Dates.
    Case("date_missing.md", reports=skipped("publishedDateTime: missing")),
    Case("date_unreadable.md", reports=skipped("publishedDateTime: not an RFC 3339")),
    Case("date_with_offset.md", ("Date with an offset",)),
    Case(
        "date_without_offset.md",
        ("Date without an offset",),
        ("publishedDateTime: no UTC offset; read as UTC",),
    ),
    Case("date_only.md", ("Date only",), ("publishedDateTime: a date without a time",)),
    Case("date_rfc822.md", ("RFC 822 date",)),
    Case(
        "date_absurd_year.md",
        reports=skipped("publishedDateTime: 0001-01-01 is before 1990: not a plausible date"),
    ),
    Case("date_far_future.md", reports=skipped("publishedDateTime: not an RFC 3339")),
    Case("date_scheduled.md"),  # held until 2999: neither published nor reported
    Case(
        "bidi_controls.md",
        ("Invoice gpj.exe attached",),
        (
            f"title: {DROPPED} 2 character(s) {CARRY} (U+202C, U+202E)",
            f"excerpt: {DROPPED} 4 character(s) {CARRY} (U+202B, U+202C, U+2067, U+2069)",
            f"provider.name: {DROPPED} 1 character(s) {CARRY} (U+202D)",
            f"topics[0]: {DROPPED} 1 character(s) {CARRY} (U+202E)",
            f"body: {DROPPED} 1 character(s) {CARRY} (U+202E)",
        ),
    ),
    Case("date_overflow.md", reports=skipped("publishedDateTime: out of range")),
    Case("date_is_number.md", reports=skipped("publishedDateTime: must be a timestamp, not int")),
    Case(
        "updated_unreadable.md",
        ("Unreadable update time",),
        ("updatedDateTime: not an RFC 3339 or RFC 822 timestamp: 'soon'; the publication",),
    ),
    # URLs: none, duplicates, markup and spaces inside.
    Case("no_url.md", ("An article without any address",), (f"webUrl: {NO_URL}",)),
    Case("duplicate_urls", ("Newer copy",)),
    # The `"` and `<` of the image URL are percent-encoded; "onerror" stays, inert, in its path.
    Case("url_with_markup.md", ("Address with markup in it",), allow=("onerror",)),
    Case("url_with_spaces_and_unicode.md", ("Address with spaces and non-ASCII",)),
    Case(
        "url_hosts_and_normal_form.md",
        ("Hosts that are not names, addresses not in normal form",),
        tuple(f"images[{index}].url: {NO_IMAGE}" for index in range(6)),
    ),
    Case(
        "url_hosts_readers_rewrite.md",
        ("Hosts that browsers read as other addresses",),
        (
            "webUrl: not an absolute http(s) URL; ignored",
            f"title: {DROPPED} 2 character(s) {CARRY} (U+FEFF)",
            f"excerpt: {DROPPED} 1 character(s) {CARRY} (U+FEFF)",
            *(f"images[{index}].url: {NO_IMAGE}" for index in range(8)),
        ),
    ),
    # Files: empty, binary, not UTF-8, BOM, CRLF, not records at all.
    Case("empty.md", reports=skipped("file: empty file")),
    Case("whitespace_only.txt", reports=skipped("file: empty file")),
    Case("binary.txt", reports=skipped("file: binary file")),
    Case("utf16.json", reports=skipped("file: UTF-16 text (by its byte-order mark); records must")),
    Case("latin1.txt", reports=skipped("file: not UTF-8 text (bad byte at offset 14)")),
    Case("bom.md", ("Starts with a byte-order mark",), ("file: byte-order mark removed",)),
    Case("crlf.md", ("Windows line ends",), ("file: CR/CRLF line ends read as LF",)),
    Case("old_mac_cr.md", ("Old Mac line ends",), ("file: CR/CRLF line ends read as LF",)),
    Case("not_a_record.png", reports=skipped("file: not a record file (.png)")),
    Case("no_extension", reports=skipped("file: not a record file (no extension)")),
    # Topic names that try to escape the output folder or to collide.
    Case(
        "topic_names_hostile.md",
        ("Topic names that try to escape or collide",),
        (
            "topics[10]: empty; ignored",
            "topics[11]: empty; ignored",
            f"topics[14]: {DROPPED} 1 character(s) {CARRY} (U+0000){EMPTIED}",
            "topics[22]: longer than 100 characters; cut",
            "topics[24]: empty; ignored",
        ),
    ),
    Case("topic_hash_lookalike.md", ("A topic named like another topic's hashed slug",)),
    Case("topic_hyphen_space", ("Spelled Model-driven apps", "Spelled Model driven apps")),
    Case(
        "topic_invisible.md",
        ("Topics made of invisible characters",),
        (
            "topics[0]: empty; ignored",
            "topics[1]: empty; ignored",
            "topics[3]: empty; ignored",
            "topics[4]: empty; ignored",  # a Hangul filler (a letter to Python) and VS16
            "topics[5]: empty; ignored",  # another filler and a tag character
            "topics[6]: empty; ignored",  # braille pattern blanks (a symbol to Unicode)
            f"tags[0]: {DROPPED} 1 character(s) {CARRY} (U+FEFF){EMPTIED}",
        ),
    ),
    Case(
        "title_hangul_filler.md",
        ("The excerpt stands in",),
        ("title: missing or empty; the start of the excerpt stands in",),
    ),
    # Private values in nested places.
    Case("secured_nested.md", ("Private values in nested places",)),
    # Double-encoded UTF-8 ("CafÃ©"), written and as JSON escapes: decoded (see below).
    Case("mojibake.md", ("Café owners say don\u2019t panic",)),
    Case("mojibake_escapes.json", ("Café escapes in JSON",)),
    # Addresses whose escapes are not UTF-8 (`%E9`, `%FF`) or not in NFC (`e%CC%81`), escaped
    # and written: the id is the NFC form or a `urn:uuid:` (see below), never "not canonical".
    Case(
        "url_escapes_not_utf8_nfc.json",
        ("Latin-1 escape", "Decomposed escape", "Decomposed text", "Composed text"),
    ),
    # Addresses whose escapes a validator will not take as an Atom id as they are.
    Case(
        "url_escapes_validators_refuse",
        (
            "Decomposed accent in the address",
            "Latin-1 escape in the address",
            "Escape escaped twice in the address",
        ),
    ),
]
SKIPPED_CASES = {case.name for case in CASES if not case.published and case.reports}


def test_every_fixture_has_a_case() -> None:
    assert sorted(path.name for path in HOSTILE.iterdir()) == sorted(c.name for c in CASES)


def install(case: str, records: Path) -> None:
    """Copy a case's fixture (file or folder) and the anchor record into `records`."""
    source = HOSTILE / case
    if source.is_dir():
        shutil.copytree(source, records / case)
    else:
        shutil.copy(source, records / case)
    (records / "anchor.md").write_text(ANCHOR, encoding="utf-8")


def files_outside(root: Path, out: Path) -> list[str]:
    """Files under `root` that a build wrote outside its output, records and cache folders."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and path.relative_to(root).parts[0] not in ("out", "records", "cache", ".feedpub-cache")
    )


def report_lines(reports: list[str], case: str) -> list[str]:
    """Report lines about one case, each cut to what follows the case's name.

    `records/x.md: file: empty file` gives `: file: empty file`; a JSON entry's
    `records/x.json[0]: title: ...` gives `[0]: title: ...`.
    """
    lines = []
    for line in reports:
        assert "/anchor.md" not in line, f"the anchor was reported: {line}"
        assert f"/{case}" in line, f"report names no file of {case}: {line}"
        lines.append(line.split(f"/{case}", 1)[1])
    return lines


def reported(expected: str, lines: list[str]) -> bool:
    """Whether `expected` (`field: reason start`, or `[0]: ...` / `:2: ...`) was reported."""
    prefix = expected if expected.startswith(("[", ":", "/")) else f": {expected}"
    return any(line.startswith(prefix) for line in lines)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_record(case: Case, build: Build, records_dir: Path, tmp_path: Path) -> None:
    install(case.name, records_dir)
    started = time.perf_counter()
    run = build()
    assert time.perf_counter() - started < 10, "a hostile record must not cost the build"
    check_outputs(run.out, markers=[MARKER], strict=True, allow=case.allow)
    assert files_outside(tmp_path, run.out) == []
    assert not Path("feedpub-hostile-pwned.txt").exists()

    items = feed_items(run.out)
    assert items[-1]["id"] == ANCHOR_URL, "the anchor (oldest) must be published"
    assert tuple(item["title"] for item in items[:-1]) == case.published

    for report in run.reports:
        assert str(report) == f"{report.source}: {report.field}: {report.reason}"
    lines = report_lines([str(report) for report in run.reports], case.name)
    for expected in case.reports:
        assert reported(expected, lines), (expected, lines)
    if case.exact:
        assert len(lines) == len(case.reports), lines
    if case.name in SKIPPED_CASES:
        assert all(report.skipped for report in run.reports)
        assert run.stats.published == 1


# -- what the general test cannot say: exact values of cleaned fields -----------------------


def built(case: str, build: Build, records_dir: Path) -> tuple[BuildRun, dict[str, object]]:
    install(case, records_dir)
    run = build()
    [item] = [item for item in feed_items(run.out) if item["id"] != ANCHOR_URL]
    return run, item


def test_script_in_every_field_keeps_only_the_text(build: Build, records_dir: Path) -> None:
    _, item = built("script_in_every_field.md", build, records_dir)
    assert item["summary"] == "Lawmakers approved it."
    assert item["authors"] == [{"name": "Example News", "url": "https://news.example.org/"}]
    assert item["tags"] == ["Politics", "Budget"]
    content = str(item["content_html"])
    assert '<a href="https://news.example.org/x" rel="noopener noreferrer">link</a>' in content
    assert "Earlier vote</a> (Other)" in content and 'alt="Chamber"' in content
    for gone in ("alert", "<object", "<embed", "<form", "<svg", "<math", "<base", "<meta"):
        assert gone not in content


def test_entities_are_decoded_until_none_remain(build: Build, records_dir: Path) -> None:
    _, item = built("entity_escaped.md", build, records_dir)
    assert item["title"] == "Tom & Jerry show"
    assert item["summary"] == "Café bold — — end"
    assert item["authors"] == [{"name": "AT&T", "url": "https://news.example.org/"}]
    assert item["tags"] == ["R&D"]
    assert "&lt;script&gt;alert(3)&lt;/script&gt; shown as text" in str(item["content_html"])


def test_forbidden_characters_are_dropped(build: Build, records_dir: Path) -> None:
    _, item = built("control_characters.md", build, records_dir)
    assert item["summary"] == "Tab here, verticaltab, formfeed, zero\u200bwidth."
    assert item["url"] == "https://news.example.org/controlcharacters"
    assert item["tags"] == ["ZeroWidth", "CtrlTopic"]  # a topic name without U+200B
    assert item["authors"] == [{"name": "Name[31m red", "url": "https://news.example.org/"}]


def test_bidirectional_controls_are_dropped_and_marks_kept(build: Build, records_dir: Path) -> None:
    run, item = built("bidi_controls.md", build, records_dir)
    assert item["title"] == "Invoice gpj.exe attached"
    assert (
        item["summary"]
        == "Isolated \u05e9\u05dc\u05d5\u05dd and embedded text; marks stay: \u05d0\u200f1."
    )
    assert item["tags"] == ["Bidi"]
    assert item["authors"] == [{"name": "Overridden News", "url": "https://news.example.org/"}]
    assert "open override  that never closes" in str(item["content_html"])
    assert "topics/bidi.rss" in run.stats.written_paths


def test_lone_surrogates_are_dropped(build: Build, records_dir: Path) -> None:
    _, item = built("lone_surrogates.json", build, records_dir)
    assert item["summary"] == "Pair \U0001f600 ok, lone"
    assert item["url"] == "https://news.example.org/lone-surrogate"
    assert item["tags"] == ["Surrogate"] and item["authors"] == [{"name": "Name"}]


def test_cdata_terminator_survives_as_text(build: Build, records_dir: Path) -> None:
    run, item = built("cdata_end.md", build, records_dir)
    assert item["summary"] == "x ]]> y ]]]]>> z" and item["tags"] == ["]]>"]
    rss = run.read("all.rss").decode()
    assert "<title>Ends ]]&gt; here</title>" in rss


def test_featured_player_link_is_entity_decoded(build: Build, records_dir: Path) -> None:
    _, item = built("featured_iframe.md", build, records_dir)
    href = '<a href="https://www.youtube.com/embed/abc?a=1&amp;b=2" rel="noopener noreferrer">'
    assert f"<p>{href}Watch the embedded media</a></p>" == str(item["content_html"]).split("\n")[-1]


def test_featured_player_with_an_encoded_script_source_is_dropped(
    build: Build, records_dir: Path
) -> None:
    _, item = built("featured_iframe_script.md", build, records_dir)
    assert "Watch the embedded media" not in str(item["content_html"])
    assert "avascript" not in str(item["content_html"])


def test_markdown_links_to_scripts_stay_text(build: Build, records_dir: Path) -> None:
    _, item = built("markdown_body.md", build, records_dir)
    content = str(item["content_html"])
    assert '<a href="https://news.example.org/fine" rel="noopener noreferrer">fine</a>' in content
    assert 'href="https://news.example.org/relative/path"' in content
    assert "<img" not in content.replace('<img src="https://news.example.org/x">', "")
    assert "data:" not in content  # the image whose address was refused is gone, not a shell


def test_wrong_types_keep_what_is_usable(build: Build, records_dir: Path) -> None:
    _, item = built("numbers_where_strings_belong.md", build, records_dir)
    assert (item["title"], item["summary"]) == ("42", "3.5")
    assert item["url"] == "https://news.example.org/numbers"
    assert item["tags"] == ["1", "2.5"] and "authors" not in item


def test_image_sizes_that_are_not_ascii_numbers_are_left_out(
    build: Build, records_dir: Path
) -> None:
    run, _ = built("superscript_sizes.md", build, records_dir)
    rss = run.read("all.rss").decode()
    assert 'url="https://img.example.org/a.jpg" type="image/jpeg" medium="image"/>' in rss
    assert 'url="https://img.example.org/b.jpg" type="image/jpeg" medium="image"/>' in rss


@pytest.mark.parametrize(
    ("case", "published"),
    [
        ("date_with_offset.md", "2024-05-01T10:00:00+00:00"),
        ("date_without_offset.md", "2024-05-01T10:00:00+00:00"),
        ("date_only.md", "2024-05-01T00:00:00+00:00"),
        ("date_rfc822.md", "2024-05-01T10:00:00+00:00"),
        ("updated_unreadable.md", "2024-05-01T10:00:00+00:00"),
    ],
)
def test_dates_are_read_as_utc(case: str, published: str, build: Build, records_dir: Path) -> None:
    _, item = built(case, build, records_dir)
    assert item["date_published"] == published
    assert item["date_modified"] >= published  # type: ignore[operator]


def test_urls_are_percent_encoded_never_raw(build: Build, records_dir: Path) -> None:
    _, item = built("url_with_markup.md", build, records_dir)
    assert item["url"] == "https://news.example.org/a%22%3E%3Cscript%3Ealert(1)%3C/script%3E"
    assert item["image"] == "https://img.example.org/x.jpg%22%20onerror=%22alert(2)"


def test_urls_with_spaces_and_non_ascii_become_valid_uris(build: Build, records_dir: Path) -> None:
    _, item = built("url_with_spaces_and_unicode.md", build, records_dir)
    assert item["url"] == "https://news.example.org/Business%20Wire/%C3%A9?q=%C3%A4%20b"
    attachments = [a["url"] for a in item["attachments"]]  # type: ignore[attr-defined]
    assert attachments == [
        "https://img.example.org/photo.jpg",
        "https://xn--bcher-kva.example/%C3%BC.png",
    ]


def test_urls_are_published_in_normal_form_on_dns_hosts(build: Build, records_dir: Path) -> None:
    _, item = built("url_hosts_and_normal_form.md", build, records_dir)
    assert item["url"] == "https://news.example.org/a/~user?q=%C3%A4"
    attachments = [a["url"] for a in item["attachments"]]  # type: ignore[attr-defined]
    assert attachments == ["https://img.example.org/"]
    content = str(item["content_html"])
    assert "[" not in content and "loopback" in content
    assert '<a href="https://example.org/b/%2Fc" rel="noopener noreferrer">odd</a>' in content


def test_hosts_readers_would_read_as_other_addresses_are_refused(
    build: Build, records_dir: Path
) -> None:
    """JavaScript readers and browsers (the WHATWG URL standard) read a host ending in a
    number as an IPv4 address: `0x7f.1` is 127.0.0.1, `1.2.3` is 1.2.0.3, `999.1.1.1`
    fails; they refuse bad punycode. Loopback and private addresses are never published.
    International names are encoded as browsers encode them (IDNA 2008, UTS 46): `faß` is
    `xn--fa-hia`, where Python's own codec (IDNA 2003) gives `fass`, another domain."""
    _, item = built("url_hosts_readers_rewrite.md", build, records_dir)
    assert item["url"] == "https://news.example.org/story?utm=1&page=2"  # webUrl refused
    attachments = [a["url"] for a in item["attachments"]]  # type: ignore[attr-defined]
    assert attachments == [
        "https://93.184.216.34/public.png",
        "https://xn--bcher-kva.example/ok.png",
        "https://xn--fa-hia.example/ok.png",
        "https://xn--ls8h.example/ok.png",
    ]
    content = str(item["content_html"])
    assert "0x7f" not in content and "192.168" not in content
    assert 'href="https://example.org/q?a=1&amp;b=2"' in content
    assert item["title"] == "Hosts that browsers read as other addresses"
    assert item["summary"] == "A byte-order mark left in text"


def test_no_url_gives_a_stable_urn_id(build: Build, records_dir: Path, tmp_path: Path) -> None:
    _, first = built("no_url.md", build, records_dir)
    assert str(first["id"]).startswith("urn:uuid:") and "url" not in first
    again = build(out=tmp_path / "again", cache_dir=tmp_path / "again-cache")
    assert [i["id"] for i in feed_items(again.out)] == [first["id"], ANCHOR_URL]


def test_ids_are_in_the_form_validators_compare(
    build: Build, records_dir: Path, tmp_path: Path
) -> None:
    """The link is the address as given; the id is what the W3C validator takes as an
    Atom id: its escaped text in NFC, or a `urn:uuid:` where the escapes spell no text."""
    install("url_escapes_validators_refuse", records_dir)
    run = build()
    nfd, latin1, twice, _anchor = feed_items(run.out)
    assert nfd["url"] == "https://news.example.org/cafe%CC%81"
    assert nfd["id"] == "https://news.example.org/caf%C3%A9"
    assert latin1["url"] == "https://news.example.org/caf%E9"
    assert twice["url"] == "https://news.example.org/100%2541"
    assert str(latin1["id"]).startswith("urn:uuid:") and str(twice["id"]).startswith("urn:uuid:")
    assert latin1["id"] != twice["id"]
    rss = feedparser.parse((run.out / "all.rss").read_bytes())
    guids = {entry.link: (entry.id, entry.guidislink) for entry in rss.entries}
    assert guids["https://news.example.org/cafe%CC%81"] == (nfd["id"], False)
    atom = feedparser.parse((run.out / "all.atom").read_bytes())
    assert [entry.id for entry in atom.entries] == [item["id"] for item in feed_items(run.out)]
    again = build(out=tmp_path / "again", cache_dir=tmp_path / "again-cache")
    assert [item["id"] for item in feed_items(again.out)][:3] == [
        nfd["id"], latin1["id"], twice["id"]
    ]  # fmt: skip


def test_plain_yaml_values_are_typed_by_the_core_schema(build: Build, records_dir: Path) -> None:
    """YAML 1.1 reads `NO` and `off` as false and `12:30` as 750 (base 60): a record titled
    `No` was skipped, the topics `Yes` and `Off` left out, Norway's tag dropped and a time
    published as a number. YAML 1.2's core schema (yaml-rs, js-yaml, go-yaml) keeps them
    text, on the fast path and on PyYAML's alike (the second record has an anchor, which
    only PyYAML reads)."""
    for name, extra in (("plain.md", ""), ("anchored.md", "ref: &a x\nalso: *a\n")):
        (records_dir / name).write_text(
            f"---\ntitle: No\nexcerpt: 12:30\nwebUrl: https://e.org/{name}\n{extra}"
            "publishedDateTime: 2024-04-01T00:00:00Z\ntopics: [Yes, Off, 017]\n"
            "tags:\n  - NO\n  - on\nquality: 017\n---\n"
        )
    run = build()
    assert run.reports == []
    for item in feed_items(run.out):
        assert (item["title"], item["summary"]) == ("No", "12:30")
        assert item["tags"] == ["Yes", "Off", "17", "NO", "on"]
    rss = feedparser.parse((run.out / "all.rss").read_bytes())
    for entry in rss.entries:
        assert entry.title == "No"
        assert [tag.term for tag in entry.tags] == ["Yes", "Off", "17", "NO", "on"]
    assert {"yes.rss", "off.rss", "17.rss"} <= {p.name for p in (run.out / "topics").iterdir()}


def test_double_encoded_utf8_is_decoded_in_every_text(build: Build, records_dir: Path) -> None:
    """Mojibake (UTF-8 read as Latin-1 or cp1252 and encoded again) shows as "CafÃ©" in every
    reader, and the W3C validator flags it (BadCharacters); genuine text stays as it is."""
    _, item = built("mojibake.md", build, records_dir)
    assert item["title"] == "Café owners say don\u2019t panic"
    assert item["summary"] == "A cup costs £5; über-popular naïve lattes sell out at 10°C."
    assert item["tags"] == ["München", "SÃO PAULO"]  # "SÃO": a real Ã, kept
    assert item["authors"] == [{"name": "Zürich Post", "url": "https://zuerich.example.org/"}]
    assert item["attachments"][0]["title"] == "Köln at night"  # type: ignore[index]
    assert "Schöne Grüße aus Köln, says the café owner." in str(item["content_html"])


def test_duplicate_urls_are_one_entry(build: Build, records_dir: Path) -> None:
    run, item = built("duplicate_urls", build, records_dir)
    assert item["title"] == "Newer copy"
    assert run.stats.duplicates == 1 and run.stats.published == 2


def test_unpublished_records_appear_nowhere(build: Build, records_dir: Path) -> None:
    install("published_false.md", records_dir)
    run = build()
    for name, data in output_files(run.out).items():
        assert b"Unpublished draft" not in data and b"unpublished-draft" not in data, name
    assert run.stats.unpublished == 1


def test_bom_and_crlf_bodies_read_cleanly(build: Build, records_dir: Path) -> None:
    _, item = built("crlf.md", build, records_dir)
    assert item["summary"] == "Two lines"
    assert item["content_html"] == "<p>First paragraph.</p>\n<p>Second paragraph.</p>"


# -- topics ------------------------------------------------------------------------------------

SAFE_SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def topic_slugs(out: Path) -> list[str]:
    return sorted(path.name.removesuffix(".json") for path in (out / "topics").glob("*.json"))


def test_hostile_topic_names_stay_inside_and_never_share_a_file(
    build: Build, records_dir: Path
) -> None:
    run, item = built("topic_names_hostile.md", build, records_dir)
    names = item["tags"]
    assert isinstance(names, list)
    keys = {topic_key(name) for name in names}
    slugs = topic_slugs(run.out)
    # One feed per distinct topic (`AI`, `ai` and ` AI ` are one), plus the anchor's.
    assert len(slugs) == len(keys) + 1 == len({topic_slug(key) for key in keys}) + 1
    assert "ai" in slugs
    for slug in slugs:
        assert __import__("re").match(SAFE_SLUG, slug), slug
        assert len(slug) <= 100 and slug not in ("con", "nul")
    for name in output_files(run.out):
        parts = name.split("/")
        assert len(parts) == 1 or (len(parts) == 2 and parts[0] == "topics"), name
    assert max(len(str(name)) for name in names) == 100  # the 301-character name, cut


def test_a_topic_named_like_a_hashed_slug_gets_its_own_feed(
    build: Build, records_dir: Path
) -> None:
    run, _ = built("topic_hash_lookalike.md", build, records_dir)
    slugs = topic_slugs(run.out)
    assert len(slugs) == 3, slugs  # "x!", "x <its hash>" and the anchor's topic
    for slug in slugs:
        assert len(feed_items(run.out, f"topics/{slug}")) == 1


def test_hyphen_and_space_spellings_are_one_topic(build: Build, records_dir: Path) -> None:
    install("topic_hyphen_space", records_dir)
    run = build()
    assert topic_slugs(run.out) == ["anchor", "model-driven-apps"]
    assert len(feed_items(run.out, "topics/model-driven-apps")) == 2


# -- big inputs, generated ----------------------------------------------------------------------


def record(**fields: object) -> str:
    header = json.dumps(
        {"publishedDateTime": "2024-05-01T10:00:00Z", "secured": MARKER, **fields},
        ensure_ascii=False,
    )
    return f"---\n{header}\n---\n"  # JSON is YAML: a one-line front matter


def test_five_megabyte_excerpt_in_a_text_record_is_skipped_as_too_large(
    build: Build, records_dir: Path
) -> None:
    (records_dir / "big.md").write_text(
        record(title="Big", webUrl="https://news.example.org/big", excerpt="word " * 1_000_000)
    )
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    [report] = run.reports
    assert report.source.endswith("/big.md") and report.field == "file"
    assert report.reason == "larger than the 2000000-byte limit; skipped"
    check_outputs(run.out, markers=[MARKER], strict=True)


def test_five_megabyte_excerpt_in_json_is_cut_and_reported(build: Build, records_dir: Path) -> None:
    item = {
        "title": "Big",
        "webUrl": "https://news.example.org/big",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "excerpt": "word " * 1_000_000,
        "secured": MARKER,
    }
    (records_dir / "big.json").write_text(json.dumps([item]))
    (records_dir / "anchor.md").write_text(ANCHOR)
    started = time.perf_counter()
    run = build()
    assert time.perf_counter() - started < 10
    assert [str(r).rsplit("/", 1)[1] for r in run.reports] == [
        "big.json[0]: excerpt: longer than 20000 characters; cut"
    ]
    [big] = [i for i in feed_items(run.out) if i["id"] != ANCHOR_URL]
    assert len(big["summary"]) <= 20_000 and big["summary"].endswith("word…")
    check_outputs(run.out, markers=[MARKER], strict=True)


def test_ten_thousand_topics_are_cut_and_reported(build: Build, records_dir: Path) -> None:
    topics = [f"Topic {index}" for index in range(10_000)]
    (records_dir / "many.md").write_text(
        record(title="Many topics", webUrl="https://news.example.org/many", topics=topics)
    )
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    assert [str(r).rsplit("/", 1)[1] for r in run.reports] == [
        "many.md: topics: 10000 topics; only the first 50 are kept"
    ]
    slugs = topic_slugs(run.out)
    assert len(slugs) == 51 and "topic-49" in slugs and "topic-50" not in slugs


def test_config_limits_cut_and_report_what_they_cut(build: Build, records_dir: Path) -> None:
    limits = Limits(
        max_record_bytes=3_000,
        max_dump_bytes=5_000,
        max_text_chars=40,
        max_title_chars=20,
        max_content_chars=100,
        max_topics=3,
        max_images=1,
        max_related=1,
    )
    (records_dir / "anchor.md").write_text(ANCHOR)
    (records_dir / "too-big.md").write_text(record(title="x" * 3_000))
    (records_dir / "too-big.json").write_text(json.dumps([{"title": "x" * 5_000}]))
    (records_dir / "cut.md").write_text(
        record(
            title="A title well over twenty characters",
            excerpt="An excerpt that is clearly longer than forty characters in all",
            webUrl="https://news.example.org/cut",
            topics=["One", "Two", "Three", "Four", "Five"],
            tags=["T1", "T2", "T3", "T4"],
            images=[
                {"url": "https://img.example.org/1.jpg"},
                {"url": "https://img.example.org/2.jpg"},
            ],
            related=[
                {"title": "R1", "webUrl": "https://news.example.org/r1"},
                {"title": "R2", "webUrl": "https://news.example.org/r2"},
            ],
        )
        + "Body text " * 50
    )
    run = build(limits=limits)
    lines = sorted(str(r).rsplit("/", 1)[1] for r in run.reports)
    assert lines == [
        "cut.md: body: longer than 100 characters; cut",
        "cut.md: excerpt: longer than 40 characters; cut",
        "cut.md: images: 2 images; only the first 1 kept",
        "cut.md: tags: 4 tags; only the first 3 are kept",
        "cut.md: title: longer than 20 characters; cut",
        "cut.md: topics: 5 topics; only the first 3 are kept",
        "too-big.json: file: larger than the 5000-byte limit; skipped",
        "too-big.md: file: larger than the 3000-byte limit; skipped",
    ]
    [item] = [i for i in feed_items(run.out) if i["id"] != ANCHOR_URL]
    assert len(item["title"]) <= 20 and len(item["summary"]) <= 40
    assert item["tags"] == ["One", "Two", "Three", "T1", "T2", "T3"]
    assert len(item["attachments"]) == 1
    assert item["content_html"].count("<li>") == 1  # one related article
    check_outputs(run.out, markers=[MARKER], strict=True)


@pytest.mark.parametrize("tag", ["div", "blockquote", "ul", "rt", "optgroup"])
def test_deeply_nested_markup_costs_no_more_than_flat_markup(
    tag: str, build: Build, records_dir: Path
) -> None:
    bomb = f"<{tag}>x" * 150_000
    item = {
        "title": bomb[:2_000] + "Nested title",
        "excerpt": bomb[:80_000],
        "webUrl": "https://news.example.org/nested",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "provider": {"name": bomb},
        "topics": [bomb],
        "content": bomb,
        "featuredContent": bomb,
    }
    (records_dir / "nested.json").write_text(json.dumps(item))
    (records_dir / "entities.md").write_text(
        record(title="Escaped", excerpt="&lt;div&gt;" * 50_000, webUrl="https://news.example.org/e")
    )
    (records_dir / "anchor.md").write_text(ANCHOR)
    started = time.perf_counter()
    run = build()
    assert time.perf_counter() - started < 8, "nested markup must not be quadratic"
    titles = {i["title"] for i in feed_items(run.out)}
    assert "Escaped" in titles
    check_outputs(run.out, markers=[MARKER], strict=True)


@pytest.mark.parametrize(
    "unit",
    ["<iframe src=x ", "<div ", "<iframe src=https://p.example.org/>x", "<a>x", "<img src=data:x>",
     '<a href="javascript:x">y</a>', "<!--"],
)  # fmt: skip
def test_markup_that_is_rewritten_costs_no_more_than_flat_markup(
    unit: str, build: Build, records_dir: Path
) -> None:
    """Iframes made links, shells dropped, unclosed tags flattened: each in one pass."""
    bomb = (unit * (500_000 // len(unit) + 1))[:499_000]
    item = {
        "title": bomb[:2_000] + "Rewritten",
        "excerpt": bomb[:80_000],
        "webUrl": "https://news.example.org/rewritten",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "content": bomb,
        "featuredContent": bomb,
    }
    (records_dir / "rewritten.json").write_text(json.dumps(item))
    (records_dir / "markdown.md").write_text(
        record(title="Markdown", webUrl="https://news.example.org/m") + bomb
    )
    (records_dir / "anchor.md").write_text(ANCHOR)
    started = time.perf_counter()
    run = build()
    assert time.perf_counter() - started < 8, "rewriting markup must not be quadratic"
    assert "Markdown" in {i["title"] for i in feed_items(run.out)}
    check_outputs(run.out, markers=[MARKER], strict=True)


def test_deeply_nested_json_and_yaml_are_reported(build: Build, records_dir: Path) -> None:
    (records_dir / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (records_dir / "deep.jsonl").write_text("{}\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    (records_dir / "deep.md").write_text("---\ntitle: " + "[" * 5_000 + "]" * 5_000 + "\n---\n")
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    lines = sorted(str(r).rsplit("/", 1)[1] for r in run.reports)
    assert lines[0].startswith("deep.json[0]: record: nested too deep to read")
    assert lines[1].startswith("deep.jsonl:1: publishedDateTime: missing")
    assert lines[2].startswith("deep.jsonl:2: line: nested too deep to read")
    assert lines[3].startswith("deep.md: front matter: not valid YAML")


def test_records_with_any_file_name_are_read_or_reported(build: Build, records_dir: Path) -> None:
    """A record's file name is only a name: quotes, spaces and unicode do not matter."""
    for index, name in enumerate(["a b.md", "quote'\".md", "日本.md", "-dash.md", "~tilde.md"]):
        (records_dir / name).write_text(
            record(title=f"Named {index}", webUrl=f"https://news.example.org/n{index}")
        )
    run = build()
    assert run.reports == []
    assert len(feed_items(run.out)) == 5
    check_outputs(run.out, strict=True)


def test_a_file_name_that_is_not_utf8_does_not_stop_the_build(
    build: Build, records_dir: Path
) -> None:
    name = os.fsdecode(b"caf\xe9-latin1-name.md")
    (records_dir / name).write_text(record(title="Odd name", webUrl="https://news.example.org/o"))
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    assert [item["title"] for item in feed_items(run.out)] == ["Odd name", "Anchor article"]
    for report in run.reports:
        str(report).encode("utf-8", "backslashreplace")


# -- inputs the fuzzer found (fuzz/README.md): replayed through the fuzz target itself ---------

FUZZ_REGRESSIONS = Path(__file__).parent / "data" / "fuzz-regressions"


def fuzz_target() -> Callable[[bytes], None]:
    path = Path(__file__).parent.parent / "fuzz" / "fuzz_records.py"
    spec = importlib.util.spec_from_file_location("fuzz_records", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check: Callable[[bytes], None] = module.check_record_bytes
    return check


@pytest.mark.parametrize(
    "path", sorted(FUZZ_REGRESSIONS.iterdir()), ids=lambda path: str(path.name)
)
def test_fuzz_regressions_stay_fixed(path: Path) -> None:
    fuzz_target()(path.read_bytes())


# -- the real command -------------------------------------------------------------------------


def feedpub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedpub.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_builds_every_hostile_fixture_at_once(tmp_path: Path) -> None:
    """All cases in one folder through the real command: exit 0, one stderr line per report."""
    records = tmp_path / "records"
    records.mkdir()
    for case in CASES:
        install(case.name, records)
    result = feedpub("build", "--records", "records", "--out", "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("records/") for line in lines), lines
    for case in CASES:
        about = [line for line in lines if line.startswith(f"records/{case.name}")]
        for expected in case.reports:
            assert reported(expected, report_lines(about, case.name)), (case.name, expected)
    check_outputs(tmp_path / "out", markers=[MARKER], strict=True, allow=("onerror",))
    assert files_outside(tmp_path, tmp_path / "out") == []
    assert not (tmp_path / "feedpub-hostile-pwned.txt").exists()
    published = sum(len(case.published) for case in CASES) + 1  # and the anchor
    index = json.loads((tmp_path / "out" / "all.json").read_text())
    assert len(index["items"]) == min(published, 50)


@pytest.mark.parametrize("case", ["python_object_apply.md", "billion_laughs_published.md"])
def test_cli_skips_a_hostile_record_and_publishes_the_rest(case: str, tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    install(case, records)
    result = feedpub("build", "--records", "records", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [report, summary] = result.stderr.splitlines()
    assert report.startswith(f"records/{case}: ")
    assert summary.startswith("feedpub: read ") and " from 2 files; skipped 1," in summary
    assert not (tmp_path / "feedpub-hostile-pwned.txt").exists()
    check_outputs(tmp_path / "out", markers=[MARKER], strict=True)


def test_cli_fails_when_only_hostile_records_are_given(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for case in sorted(SKIPPED_CASES):
        install(case, records)
    (records / "anchor.md").unlink()
    result = feedpub("build", "--records", "records", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "feedpub: error: no publishable records in records; nothing written"
    )
    assert not (tmp_path / "out" / "all.rss").exists()


@pytest.mark.parametrize("number", ["0x" + "f" * 4000, "0o" + "7" * 5000])
def test_a_huge_yaml_integer_in_a_text_field_is_reported_never_fatal(
    number: str, build: Build, records_dir: Path
) -> None:
    """YAML reads `0x...` and `0o...` of any length as an int, which Python refuses to
    write in decimal past 4,300 digits: each text field reports it, the others publish."""
    head = "---\npublishedDateTime: 2024-04-01T00:00:00Z\n"
    (records_dir / "title.md").write_text(f"{head}title: {number}\nwebUrl: https://e.org/1\n---\n")
    for field in ("excerpt", "topics", "tags"):
        value = f"[{number}]" if field != "excerpt" else number
        text = f"{head}title: In {field}\nwebUrl: https://e.org/{field}\n{field}: {value}\n---\n"
        (records_dir / f"{field}.md").write_text(text)
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    reasons = sorted((Path(r.source).name, r.field, r.reason) for r in run.reports)
    assert reasons == [
        ("excerpt.md", "excerpt", "must be text, not a huge integer; ignored"),
        ("tags.md", "tags[0]", "must be a string, not a huge integer; ignored"),
        ("title.md", "title", "must be text, not a huge integer"),
        ("topics.md", "topics[0]", "must be a string, not a huge integer; ignored"),
    ]
    titles = [item["title"] for item in feed_items(run.out)]
    assert len(titles) == 4 and {"In excerpt", "In tags", "In topics"} <= set(titles)
    check_outputs(run.out, markers=[MARKER], strict=True)


def test_a_huge_json_integer_is_reported_by_field_and_the_dump_publishes(
    build: Build, records_dir: Path
) -> None:
    """JSON has integers of any length, which Python refuses to read past 4,300 digits:
    the dump's other items publish, each field holding one is reported."""
    huge = "9" * 5_000
    items = [
        '{"title": ' + huge + ', "webUrl": "https://e.org/1"}',
        '{"title": "Huge topic", "webUrl": "https://e.org/2", "topics": [-' + huge + ', "AI"]}',
        '{"title": "Huge flag", "webUrl": "https://e.org/3", "published": ' + huge + "}",
        '{"title": "Huge list", "webUrl": "https://e.org/4", "tags": ' + huge + "}",
        '{"title": "Huge date", "webUrl": "https://e.org/6", "updatedDateTime": ' + huge + "}",
        '{"title": "Huge width", "webUrl": "https://e.org/5",'
        ' "images": [{"url": "https://e.org/i.png", "width": ' + huge + "}]}",
    ]
    stamp = '"publishedDateTime": "2024-05-01T10:00:00Z", '
    text = "[" + ", ".join(item.replace("{", "{" + stamp, 1) for item in items) + "]"
    (records_dir / "dump.json").write_text(text)
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    assert sorted(str(r).rsplit("/", 1)[1] for r in run.reports) == [
        "dump.json[0]: title: must be text, not a huge integer",
        "dump.json[1]: topics[0]: must be a string, not a huge integer; ignored",
        "dump.json[2]: published: must be true or false, got a huge integer; not published",
        "dump.json[3]: tags: must be a list of strings, not a huge integer; ignored",
        "dump.json[4]: updatedDateTime: must be a timestamp, not a huge integer;"
        " the publication time stands in",
    ]
    published = {item["title"]: item for item in feed_items(run.out)}
    assert sorted(published) == [
        "Anchor article", "Huge date", "Huge list", "Huge topic", "Huge width",
    ]  # fmt: skip
    assert published["Huge topic"]["tags"] == ["AI"]
    assert published["Huge width"]["attachments"][0]["url"] == "https://e.org/i.png"
    check_outputs(run.out, markers=[MARKER], strict=True)


def test_a_record_that_fails_to_convert_unforeseen_is_skipped_alone(
    build: Build, records_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error no check foresaw, in one record's conversion, is that record's report:
    the build goes on and publishes the others."""
    from feedpub import convert

    text = convert._Converter.text

    def failing(self: Any, key: str, limit: int) -> str:
        if key == "title" and self.data.get("title") == "Boom":
            raise ValueError("unforeseen")
        return text(self, key, limit)

    monkeypatch.setattr(convert._Converter, "text", failing)
    (records_dir / "boom.md").write_text(record(title="Boom", webUrl="https://e.org/boom"))
    (records_dir / "anchor.md").write_text(ANCHOR)
    run = build()
    [report] = run.reports
    assert report.source.endswith("/boom.md") and report.field == "record"
    assert report.reason == "cannot be converted (ValueError: unforeseen); skipped"
    assert len(feed_items(run.out)) == 1
