"""The yaml-rs fast path gives exactly what PyYAML's safe loader gives, or steps aside."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpub import yaml_loader
from feedpub.yaml_loader import load_yaml

pytestmark = pytest.mark.skipif(yaml_loader.yaml_rs is None, reason="yaml-rs not installed")


same = yaml_loader.same_value


def outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", load(text)
    except Exception as exc:
        return "error", type(exc).__name__


def assert_like_pyyaml(text: str) -> None:
    expected = outcome(lambda t: yaml.load(t, Loader=yaml_loader.SafeLoader), text)
    got = outcome(load_yaml, text)
    assert expected[0] == got[0] and same(expected[1], got[1]), (text, expected, got)


SCALARS = [
    # YAML 1.1 (PyYAML) and 1.2 (yaml-rs) type these differently
    "yes", "No", "on", "OFF", "y", "017", "0o17", "09", "0x1F", "0b101", "0B1", "1_000", "_1",
    "1:20", "190:20:30", "1e3", "1.0e3", "+.5", "0.1_0", ".inf", "-.Inf", ".NaN", "=",
    "12345678901234567890123", "-0", "00", "1.", "1.50", "6.8523015e+5",
    # timestamps: plain ones are datetimes for PyYAML, quoted ones text
    "2023-04-30T23:47:00Z", "2020-05-09T21:03:00-07:00", "2020-05-09", "2020-5-9",
    "2001-12-14 21:59:43.10 -5", "2001-12-14t21:59:43.10-05:00", "2020-05-09 10:00:00",
    "2020-02-30", "2020-05-09T25:00:00Z", "2023-04-30T23:47:00.123456789Z", "'2020-05-09'",
    "2016-12-31T23:59:60Z", "2016-12-31 23:59:60.5",
    "'2023-04-30T23:47:00Z'", '"2020-05-09T21:03:00-07:00"',
    # text, null, bools, quoting
    "~", "null", "Null", "", "true", "False", "tRue", "'yes'", '"017"', "'it''s'",
    '"\\u00e9\\x41\\N\\L\\P\\_\\/\\e\\0"', "plain text", "5G", "10 ways to win", "C#", "a #c",
    "http://x.y/a?b=1&c=2#f", "1,000", "x: y", "- x", "é 東京", "'\x85'", "\u2028", "\ufeff",
    # characters outside YAML 1.1's printable set: PyYAML refuses the document, yaml-rs reads it
    "x\x01", "'\x7f'", '"a\x97b"', '"\ufffe"', "\x9f", "\ud800",
    # indicators: tags, anchors, aliases, blocks, flows, merges, directives
    "!!str 12", "!!binary aGk=", "!!python/object:os.system x", "!x y", "&a 1", "*a", "|",
    ">-", "[1, 2]", "{a: 1}", "[[[[", "%x", "@x", "`x", "? x", "<<",
]  # fmt: skip
DOCUMENTS = [
    "a: b\na: c",  # duplicate keys: PyYAML keeps the last
    "a: &x 1\nb: *x",
    "<<: {x: 1}\ny: 2",
    "? [a]\n: 1",
    "a: plain\n  multi\n  line",
    'a: "multi\n  line"',
    "a: |\n  017\nb: 17",
    "a: 2001-12-14\n  21:59:43.10 -5",
    "t: 2020-05-09\nu: '2020-05-09'",
    "t: 2020-05-09T00:00:00Z\nu: x 2020-05-09T00:00:00Z",
    "017: x",
    "yes: x",
    "2020-05-09: x",
    "- - 017",
    "- " * 30_000 + "x",  # yaml-rs overflows its stack on this: it must never see it
    "a: " + "[" * 30_000,
    "".join(" " * i + "k:\n" for i in range(0, 200, 2)) + " " * 200 + "v: 1",
    "a:\t1",
    "--- a\n...",
    "%YAML 1.1\n---\na: 1",
    "a: 1 # yes\nb: yes # 1",
    "a: " + "x" * 100_000,
    "- 1\n" * 5_000,
    "a: \x00",
]


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("shape", ["k: {}", "- {}", "k:\n  - {}", "k:\n  n: {}\n  m: 1"])
def test_hostile_scalars(shape: str, scalar: str) -> None:
    assert_like_pyyaml(shape.format(scalar))


@pytest.mark.parametrize("scalar", SCALARS)
def test_hostile_keys(scalar: str) -> None:
    assert_like_pyyaml(f"{scalar}: v\nk: 1")


@pytest.mark.parametrize("text", DOCUMENTS)
def test_hostile_documents(text: str) -> None:
    assert_like_pyyaml(text)


def test_a_typical_record_takes_the_fast_path() -> None:
    text = (
        'title: "A headline"\npublishedDateTime: 2023-04-30T23:47:00Z\nquality: 87\n'
        "published: true\nprovider:\n  name: NBC News\ntopics:\n  - AI\nimages:\n"
        '  - url: "https://x.example/a.jpg"\n    width: 1920\n    isCached: true\n'
    )
    assert yaml_loader.takes_fast_path(text)
    assert_like_pyyaml(text)


QUOTED_VALUES = [
    # double-quoted values the gate skips: their text is never structure
    '"x: &a *b !c |d >e [f] {g} %h @i `j ?k <<l"', '"- - x"', '"- 017"', '"yes"',
    '"2020-05-09T21:03:00Z"', '"a #b: &c"', '""',
    # and lookalikes it must not skip: an anchor after a quoted key, escapes, junk after quotes
    '"a": &b"', '"a" &b "c"', '"a\\" &b "c"', "'a \"b' &c \"d\"", '"a: "&b"', '"x" # &a',
]  # fmt: skip


_keys = st.sampled_from(["a", "title", "yes", "017", "'q'", "2020-05-09", "null", "é", "_1"])
_values = st.sampled_from(SCALARS + QUOTED_VALUES)


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    lines = []
    indent = "  " * depth
    for _ in range(draw(st.integers(1, 4))):
        key, kind = draw(_keys), draw(st.integers(0, 5 if depth < 2 else 2))
        if kind <= 2:
            lines.append(f"{indent}{key}: {draw(_values)}")
        elif kind <= 4:
            lines.append(f"{indent}{key}:")
            items = draw(st.lists(_values, min_size=1, max_size=3))
            lines += [f"{indent}  - {item}" for item in items]
        else:
            lines.append(f"{indent}{key}:")
            lines.append(draw(documents(depth + 1)))
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_generated_documents(text: str) -> None:
    assert_like_pyyaml(text)


@pytest.mark.parametrize("value", QUOTED_VALUES)
@pytest.mark.parametrize(
    "shape",
    ["k: {}", "- {}", "k:\n  - {}", "k: 'open\n  x: {}\n  y'", 'k: "open\n  x: {}', "{}: v"],
)
def test_quoted_values_and_lookalikes(shape: str, value: str) -> None:
    assert_like_pyyaml(shape.format(value) + "\nz: &q 1\nw: *q")
    assert_like_pyyaml(shape.format(value))


def test_quoted_values_are_skipped_by_the_gate() -> None:
    text = 'title: "Ratio: &amp; 3 - - 4 {x} [y]"\nurl: "https://x.example/a?b=1"\nn: 2'
    assert yaml_loader.takes_fast_path(text)
    assert_like_pyyaml(text)


def test_remembered_tokens_change_no_result() -> None:
    """Keys and values known to mean the same to both parsers are remembered between
    documents; every document still gets PyYAML's values, whatever was remembered."""
    yaml_loader._SAME_KEYS.clear()
    yaml_loader._SAME_VALUES.clear()
    documents = [shape.format(scalar) for scalar in SCALARS for shape in ("k: {}", "- {}")]
    documents += [f"{scalar}: v\nk: 1" for scalar in SCALARS] + DOCUMENTS
    for _ in range(2):  # the second time, with everything the first one taught
        for text in documents:
            assert_like_pyyaml(text)
    assert yaml_loader._SAME_VALUES and yaml_loader._SAME_KEYS
    for number in range(2 * yaml_loader._REMEMBERED):
        load_yaml(f"k{number}: v{number}")
    assert len(yaml_loader._SAME_KEYS) <= yaml_loader._REMEMBERED  # bounded
    assert len(yaml_loader._SAME_VALUES) <= yaml_loader._REMEMBERED


@pytest.mark.parametrize("fast", [True, False])
def test_a_leap_second_reads_as_59_on_both_paths(fast: bool) -> None:
    text = "a: 2016-12-31T23:59:60Z\nb:\n- 2016-12-31 23:59:60.5 -5\n"
    original = yaml_loader.yaml_rs
    if not fast:
        yaml_loader.yaml_rs = None  # PyYAML alone
    try:
        assert yaml_loader.takes_fast_path(text) is fast
        loaded = load_yaml(text)
    finally:
        yaml_loader.yaml_rs = original
    minus_five = timezone(timedelta(hours=-5))
    expected = {
        "a": datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC),
        "b": [datetime(2016, 12, 31, 23, 59, 59, 500000, tzinfo=minus_five)],
    }
    assert same(loaded, expected), loaded
    assert_like_pyyaml(text)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    "stamp",
    [
        "2016-12-31T23:59:61Z",  # a second past the leap second
        "2024-02-30T00:00:00Z",
        "2024-02-30",
        "2023-02-29 10:00:00",
        "2024-01-01T00:00:00+00:60",  # PyYAML read it as +01:00
        "2024-01-01 10:00:00 +5:75",
        "2024-01-01T00:00:00-24:00",
        "2016-12-31T23:59:60+00:60",
    ],
)
def test_a_timestamp_naming_no_moment_is_text_on_both_paths(fast: bool, stamp: str) -> None:
    """PyYAML refused the whole document ("day is out of range for month", naming no
    field), or read minutes past 59 as hours: as text, the field it is in says so."""
    text = f"a: {stamp}\nb:\n- {stamp}\n"
    original = yaml_loader.yaml_rs
    if not fast:
        yaml_loader.yaml_rs = None  # PyYAML alone
    try:
        loaded = load_yaml(text)
    finally:
        yaml_loader.yaml_rs = original
    assert same(loaded, {"a": stamp, "b": [stamp]}), loaded
    assert_like_pyyaml(text)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"title": "\\ud83d\\ude00 grin"}', {"title": "\U0001f600 grin"}),
        ('title: "\\uD83D\\uDE00"\nn: 1', {"title": "\U0001f600", "n": 1}),
        ('{"k\\ud834\\udd1e": ["a\\ud83c\\udff3\\ufe0f"]}', {"k\U0001d11e": ["a\U0001f3f3\ufe0f"]}),
        ('{"t": "\\U0001F600 \\ud83d\\ude00"}', {"t": "\U0001f600 \U0001f600"}),
        ("{\"t\": '\\ud83d\\ude00'}", {"t": "\\ud83d\\ude00"}),  # single quotes: no escapes
    ],
)
def test_a_surrogate_pair_escape_is_one_character_on_both_paths(
    fast: bool, text: str, expected: dict[str, Any]
) -> None:
    """JSON writes a character past U+FFFF as two escapes, a UTF-16 surrogate pair; libyaml
    refused the document ("found invalid Unicode character escape code")."""
    original = yaml_loader.yaml_rs
    if not fast:
        yaml_loader.yaml_rs = None  # PyYAML alone
    try:
        assert same(load_yaml(text), expected)
    finally:
        yaml_loader.yaml_rs = original


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("text", "escape"),
    [
        ('{"title": "\\ud83d grin"}', "\\ud83d"),
        ('title: "grin \\ude00"', "\\ude00"),
        ('{"t": ["ok \\ud83d\\ude00", "\\ude00\\ud83d"]}', "\\ude00"),
        ('{"\\udbff": 1}', "\\udbff"),
    ],
)
def test_a_lone_surrogate_escape_is_still_refused_and_said_so(
    fast: bool, text: str, escape: str
) -> None:
    original = yaml_loader.yaml_rs
    if not fast:
        yaml_loader.yaml_rs = None  # PyYAML alone
    try:
        with pytest.raises(yaml.MarkedYAMLError) as raised:
            load_yaml(text)
    finally:
        yaml_loader.yaml_rs = original
    assert raised.value.problem == (
        f"found a lone surrogate escape '{escape}': half of a UTF-16 pair, not a character"
    )


# The common shapes: one fullmatch of `common_shapes()`, then yaml-rs (see the module's docstring).
COMMON_VALUES = [
    # values `common_shapes()` takes: the same for both parsers, or a timestamp it retypes
    '"A headline: &amp; - - 4 [x] {y} #z"', '"say \\"hi\\" \\\\ now\\n\\r\\t"',
    '"\xa0é 東京 \U0001f600"',
    "'it''s \"quoted\"'", "''", '""', "0", "-0", "17", "-123456789012345678", "true", "True",
    "FALSE", "null", "Null", "~", "plain text", "New York Times", "é 東京", "\U0001f600 x",
    "https://x.example/a?b=1&c=2#f", "a:b", "C#", "Q&A - [video] {x} 'y' \"z\" ! % @ ` ? <",
    "y", "n", "Y", "inf", "nan", "NaN", "infinity", "nULL", "yess", "Nope", "tRue", "onion",
    "_news/2020-05-09-a-title.md", "2minute/x", "1/2", "/assets/a.jpg", "(Want to) know",
    "2 new cases", "15 More in Spain", "2001-12-14 at 10", "_1 x", "x\xa0", "a\xa0#b",
    "2023-04-30T23:47:00Z", "2023-04-30T23:47:00+00:00", "2023-04-30T23:47:00-00:00",
    "2020-05-09T21:03:00-07:00", "2016-12-31T23:59:60Z", "2020-02-30T00:00:00Z",
]  # fmt: skip
NOT_COMMON_VALUES = [
    # values `common_shapes()` must leave to the token checks: YAML 1.1 and 1.2 read them apart,
    # or they are not on one line, or hold characters or escapes it does not vouch for
    "yes", "No", "ON", "off", "017", "0o17", "09", "0x1F", "0b1", "0B1", "1_000", "_1",
    "1:20", "1e3", "1.5", "+1", "1234567890123456789", "=", "<<", ".inf", "-.Inf", ".NaN",
    "2020-05-09", "2020-05-09 10:00:00", "2020-05-09t10:00:00Z", "2020-05-09T10:00:00.5Z",
    "2001-12-14T21:59:43.10-05:00", "2020-05-09T10:00:00+0530", "10 Zs", "_x", "-x",
    "a #c", "a: b: c", "\xa0x", "9to5", "1 Z", "1 2", "1 .5", "2001-12-14 21:59:43.10 Z",
    "a\x85b", "a\u2028b", "\ufeffa", "a\tb", "a\rb",
    '"\\x41"', '"\\u00e9"', '"\\/"', '"\\e"', '"\\0"', '"a" b', "'a' b", "'a", '"a',
    "&a 1", "*a", "!!str 1", "[1]", "{a: 1}", "|", ">", "%x", "@x", "`x", "? x",
]  # fmt: skip


@pytest.mark.parametrize("value", COMMON_VALUES)
@pytest.mark.parametrize("shape", ["k: {}", "k:\n  - a: {}\n    b: 1", "- k: {}\n  n: {}"])
def test_common_values_take_the_one_pass(shape: str, value: str) -> None:
    text = shape.replace("{}", value)
    assert yaml_loader.common_shapes().fullmatch(text), text
    assert_like_pyyaml(text)


@pytest.mark.parametrize("value", [v for v in COMMON_VALUES if not v[0].isdigit()])
def test_common_items_take_the_one_pass(value: str) -> None:
    """Timestamps are taken after a key only; everything else also as a list item."""
    text = f"k:\n- {value}\n- x"
    assert yaml_loader.common_shapes().fullmatch(text), text
    assert_like_pyyaml(text)


@pytest.mark.parametrize("value", NOT_COMMON_VALUES)
@pytest.mark.parametrize("shape", ["k: {}", "- {}", "{}: v", "k:\n  - a: {}\n    b: 1"])
def test_other_values_are_not_common(shape: str, value: str) -> None:
    """A test that fails if `common_shapes()` vouched for what the two parsers may read apart."""
    text = shape.replace("{}", value)
    assert not yaml_loader.common_shapes().fullmatch(text), text
    assert_like_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "yes: 1",  # keys either parser types
        "True: 1",
        "null: 1",
        "_k: 1",
        "1k: 1",
        "k : 1",
        "- - 1",  # nested compact sequences
        "k:\n" + " " * 40 + "n: 1",  # deep nesting
        "k: 1 # comment",
        "# comment\nk: 1",
        "k:   \nn: 1",
        "   \nk: 1",
        "--- \nk: 1",
        "k: x\n  y",  # a plain scalar continued on a second line
        "- 2020-05-09T21:03:00Z",  # a timestamp as a list item
    ],
)
def test_other_shapes_are_not_common(text: str) -> None:
    assert not yaml_loader.common_shapes().fullmatch(text), text
    assert_like_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        # a timestamp written plain and quoted: the quoted one stays text
        "a: 2020-05-09T21:03:00Z\nb: '2020-05-09T21:03:00Z'",
        'a: 2020-05-09T21:03:00Z\nb:\n  - "2020-05-09T21:03:00Z"',
        # quoted alone, or inside other text, or plain elsewhere
        "a: '2020-05-09T21:03:00Z'\nb: x",
        'a: 2020-05-09T21:03:00Z\nb: "at 2020-05-09T21:03:00Z"\nc: at 2020-05-09T21:03:00Z',
        "a: 2020-05-09T21:03:00Z\nb:\n  c: 2020-05-09T21:03:00Z\n  d:\n  - e: 2021-01-01T00:00:00Z",
        # out of range, a leap second, the same key twice
        "a: 2020-13-09T21:03:00Z",
        "a: 2016-12-31T23:59:60+01:00",
        "a: 2020-05-09T21:03:00Z\na: x",
    ],
)
def test_common_timestamps(text: str) -> None:
    assert yaml_loader.common_shapes().fullmatch(text), text
    assert_like_pyyaml(text)


def test_an_escaped_text_equal_to_a_timestamp_stays_text() -> None:
    """The token checks find `2020-...Z` plain once; an escaped double-quoted text that
    reads the same (`\\x5a` is `Z`) must not be retyped with it."""
    text = 'a: 2020-01-01T00:00:00Z\nb: "2020-01-01T00:00:00\\x5a"\n'
    assert not yaml_loader.common_shapes().fullmatch(text)
    assert_like_pyyaml(text)


_common_keys = st.sampled_from(["a", "title", "k-1", "x_2", "yes", "No", "on", "null", "y", "_1"])
_common_values = st.one_of(
    st.sampled_from(COMMON_VALUES + NOT_COMMON_VALUES + SCALARS),
    st.text(alphabet=" -?:[]{},&*!|>'\"%@`#<=~x1._/\\\xa0é\U0001f600aT0Z", max_size=6),
)


@st.composite
def common_documents(draw: st.DrawFn) -> str:
    """Documents of (mostly) the common shapes, with hostile keys, values and indents."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 1, 2, 4]))
        dash = draw(st.sampled_from(["", "", "- "]))
        if draw(st.booleans()):
            lines.append(f"{indent}{dash}{draw(_common_keys)}: {draw(_common_values)}")
        elif draw(st.booleans()):
            lines.append(f"{indent}{dash}{draw(_common_keys)}:")
        else:
            lines.append(f"{indent}- {draw(_common_values)}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=500, deadline=None)
@given(common_documents())
def test_generated_common_documents(text: str) -> None:
    assert_like_pyyaml(text)


def test_the_differential_fuzzer_runs_clean_on_the_sample_records(capsys: Any) -> None:
    """fuzz/yaml_differential.py (run by hand before raising the yaml-rs pin), briefly, on
    the sample records: it runs, mutates, takes the fast path and finds no difference."""
    root = Path(__file__).resolve().parent.parent
    path = root / "fuzz" / "yaml_differential.py"
    spec = importlib.util.spec_from_file_location("yaml_differential", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run(root / "records", 2.0, seed=7) == 0
    words = capsys.readouterr().out.split()
    assert int(words[0]) > 100 and int(words[2]) > 0  # documents tried, on the fast path


_COLD_PROCESS = """
import sys, yaml
import feedpub.cli
from feedpub import yaml_loader
compiled = yaml_loader.common_shapes.cache_info().currsize
text = 'title: "A"\\npublishedDateTime: 2024-05-01T10:00:00Z\\ntopics:\\n- AI\\n'
expected = yaml.load(text, Loader=yaml_loader.SafeLoader)
for number in range(yaml_loader.WARM_AFTER + 1):
    assert yaml_loader.load_yaml(text) == expected
    if number == yaml_loader.WARM_AFTER - 1:
        before = yaml_loader.common_shapes.cache_info().currsize
print(compiled, before, yaml_loader.common_shapes.cache_info().currsize)
"""


def test_a_process_compiles_the_fast_path_only_once_it_reads_many_documents() -> None:
    """Compiling the fast path's pattern costs ~0.15 s: `feedpub` starts without it, reads
    its first `WARM_AFTER` documents with PyYAML, then compiles it and takes the fast path
    (the same values on both sides of that point)."""
    done = subprocess.run(
        [sys.executable, "-c", _COLD_PROCESS], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["0", "0", "1"]


_BIG_BATCH = """
import sys, yaml
from pathlib import Path
from feedpub import yaml_loader
from feedpub.config import Limits
from feedpub.parse_pool import FileJobs, encode_files
calls = []
load = yaml.load
yaml.load = lambda *args, **kwargs: calls.append(1) or load(*args, **kwargs)
folder = sys.argv[1]
names = sorted(p.name for p in Path(folder).iterdir())
outcomes = list(encode_files(FileJobs(folder, "records", names, {}), Limits(), 10**6))
print(len(outcomes), sum(o.records for o in outcomes), len(calls))
"""


def test_an_in_process_batch_of_many_files_takes_the_fast_path_from_the_first(
    tmp_path: Path,
) -> None:
    count = yaml_loader.WARM_AFTER + 1
    for number in range(count):
        (tmp_path / f"{number:04}.md").write_text(
            f'---\ntitle: "Story {number}"\nwebUrl: https://example.com/{number}\n'
            "publishedDateTime: 2024-05-01T10:00:00Z\n---\nBody\n",
            encoding="utf-8",
        )
    done = subprocess.run(
        [sys.executable, "-c", _BIG_BATCH, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [str(count), str(count), "0"]  # no document left to PyYAML


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("NO", "NO"), ("yes", "yes"), ("Off", "Off"), ("y", "y"), ("12:30", "12:30"),
        ("=", "="), ("017", 17), ("0o17", 15), ("0x1F", 31), ("-0", 0), ("+12", 12),
        ("0b101", "0b101"), ("1_000", "1_000"), ("0X1F", "0X1F"), ("1e3", 1000.0),
        (".5", 0.5), ("-.INF", float("-inf")), ("TRUE", True), ("false", False), ("~", None),
        ("1" * 5000, "1" * 5000), ("2024-01-02", datetime(2024, 1, 2).date()),
    ],
)  # fmt: skip
def test_plain_values_are_typed_by_yaml_1_2_core_schema(token: str, value: Any) -> None:
    """YAML 1.2's core schema, with PyYAML's timestamps: `NO` is Norway, not false, on
    both paths; a decimal too long for Python is kept as written."""
    for text in (f"k: {token}\n", f"- {token}\n", f"a: 1\nk:\n  - {token}\n"):
        expected = yaml.load(text, Loader=yaml_loader.SafeLoader)
        got = expected["k"] if isinstance(expected, dict) else expected
        got = got[0] if isinstance(got, list) else got
        assert same(got, value), (text, got)
        assert_like_pyyaml(text)
