"""Every shortcut taken for speed gives exactly what the general code gives.

Each fast path is checked against the general function it skips, on inputs built
near the edges of the shortcut (the characters and shapes that decide whether it applies).
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import hypothesis.strategies as st
from hypothesis import given, settings

from feedpub import convert, records, sanitize, timestamps, topics
from feedpub.config import Limits
from feedpub.convert import _IMAGE_TYPES, image_mime_type
from feedpub.records import RawRecord

# Characters on both sides of every decision: markup, entities, spaces of every kind,
# controls (C0, DEL, C1), format and private-use characters, noncharacters, astral ones.
EDGE_CHARS = (
    " \t\n\r\x0b\x0c\x1c\x00\x7f\x85\x9f\xa0\xad\u1680\u2000\u200b\u2028\u2029\u202f"
    "\u3000\ue000\ufeff\ufffd\ufffe\uffff\U0001f600\U000e0001<>&;#/x=\"'aé東:%"
)
edge_text = st.text(st.sampled_from(EDGE_CHARS) | st.characters(), max_size=40)


@settings(max_examples=1500, deadline=None)
@given(edge_text)
def test_plain_text_fast_path_is_the_general_result(text: str) -> None:
    assert sanitize.plain_text(text) == sanitize._plain_text_general(text)


URL_PARTS = st.sampled_from(
    ["http", "https", "HTTP", "ftp", "javascript", "://", ":", "/", "//", "?", "#", "@", "%",
     "%2F", "%zz", "%4", ".", "-", "a", "Z9", "example.com", "[::1]", ":80", ":99999", " ",
     "\t", "\n", "é", "東", "\x00", "\x85", "'", '"', "<", "~", "_", "!$&()*+,;=", "\ufffe",
     "0x7f", "1.2.3", "127.0.0.1", "8.8.8.8", "xn--", "xn--zz", "xn--bcher-kva", "&amp;", "\ufeff"]
)  # fmt: skip
url_like = st.lists(URL_PARTS, max_size=12).map("".join) | st.from_regex(
    r"\Ahttps?://[a-z0-9.\-]{0,12}(/[!-~]{0,20})?\Z"
)


@settings(max_examples=1500, deadline=None)
@given(url_like)
def test_safe_url_fast_path_is_the_general_result(url: str) -> None:
    assert sanitize.safe_url(url) == sanitize._safe_url_general(url, "")


FRONT_CHARS = st.sampled_from(
    ["---", "...", "\n", " ", "\t", "a: b", "- x", "\x00", "\x01", "\x7f", "\x85", "\x9f",
     "\xa0", "\ud7ff", "\ue000", "\ufffe", "\uffff", "é", "\U0001f600", "#", "\r"]
)  # fmt: skip
front_text = st.lists(FRONT_CHARS, max_size=16).map("".join)


@settings(max_examples=1500, deadline=None)
@given(front_text)
def test_front_matter_split_is_the_general_result(text: str) -> None:
    def outcome(split: Callable[[str], tuple[str, str]]) -> object:
        try:
            return split(text)
        except records.NoFrontMatter as missing:
            return str(missing)

    assert outcome(records.split_front_matter) == outcome(records._split_front_matter_general)


@settings(max_examples=1500, deadline=None)
@given(front_text)
def test_yaml_forbidden_check_is_the_general_result(text: str) -> None:
    raw = text.encode("utf-8")
    assert records.may_hold_yaml_forbidden(raw) or not records._YAML_FORBIDDEN.search(text)


@settings(max_examples=1500, deadline=None)
@given(url_like, st.sampled_from(["", ".jpg", ".PNG", ".x/y.gif", ".webp?a.png", "#.svg", "/."]))
def test_image_type_is_read_from_the_url_path(url: str, tail: str) -> None:
    safe = sanitize.safe_url(url + tail)
    if safe:
        path = urlsplit(safe).path
        name = path.rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        assert image_mime_type(safe) == _IMAGE_TYPES.get(extension, "image/jpeg")


@settings(max_examples=500, deadline=None)
@given(edge_text.map(lambda t: t.replace("t", "javaScript:").replace("x", "VBSCRIPT:")))
def test_script_schemes_are_neutralised_with_or_without_the_shortcut(text: str) -> None:
    assert sanitize.neutralize_script_schemes(text) == sanitize._SCRIPT_SCHEME.sub(
        r"\1\2&#58;", text
    )


ESCAPE_PIECES = st.sampled_from(
    ["javascripT", "VBScript", "livescript", "t", "T", ":", "&", "<", ">", '"', "'", " ", "é"]
)
escape_text = st.lists(ESCAPE_PIECES | edge_text, max_size=8).map("".join)


@settings(max_examples=1500, deadline=None)
@given(escape_text, st.booleans())
def test_escape_shortcut_is_the_general_result(text: str, quote: bool) -> None:
    general = sanitize.neutralize_script_schemes(html.escape(text, quote=quote))
    assert sanitize.escape(text, quote=quote) == general


ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(0)), timezone(timedelta(hours=-7)), timezone(timedelta(0), "Z")]
)


class _Datetime(datetime):
    """A datetime subclass: the shortcut takes only datetimes themselves."""


@settings(max_examples=1500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1980, 1, 1), timezones=ZONES, allow_imaginary=True),
    st.booleans(),
    st.booleans(),
)
def test_timestamp_shortcut_is_the_general_result(
    moment: datetime, whole_second: bool, subclass: bool
) -> None:
    if whole_second:
        moment = moment.replace(microsecond=0)
    if subclass:
        moment = _Datetime.fromisoformat(moment.isoformat())

    def outcome(parse: Callable[[object], tuple[datetime, str]]) -> object:
        try:
            parsed, note = parse(moment)
        except timestamps.TimestampError as error:
            return str(error)
        return type(parsed), repr(parsed), parsed.fold, parsed.tzinfo, note

    assert outcome(timestamps.parse_timestamp) == outcome(timestamps._parse_timestamp_general)


@settings(max_examples=1000, deadline=None)
@given(edge_text)
def test_memoised_names_are_the_general_result(text: str) -> None:
    for _ in range(2):  # computed, then from the memo
        cleaned, dropped = convert._clean_name(text)
        assert cleaned == topics.normalize_topic(sanitize.plain_text(text))
        assert dict(dropped) == sanitize.unpublishable(text)
        assert topics.topic_key(cleaned) == topics.topic_key.__wrapped__(cleaned)
    assert convert._clean_name.cache_info().maxsize
    assert topics.topic_key.cache_info().maxsize


name_lists = st.lists(
    st.sampled_from(["AI", "ai", "A-I", " a  i", "Space", "space", "é", "e\u0301"])
)


@settings(max_examples=500, deadline=None)
@given(name_lists, name_lists | st.none())
def test_categories_are_the_unique_topics_and_tags(
    names: list[str], tags: list[str] | None
) -> None:
    data = {"title": "T", "publishedDateTime": "2026-01-02T03:04:05Z", "topics": names}
    if tags is not None:
        data["tags"] = tags
    article = convert.convert_record(RawRecord("r.md", data), Limits()).article
    assert article is not None
    assert article.topics == convert._unique_names([topics.normalize_topic(n) for n in names])
    assert article.categories == convert._unique_names(
        [*article.topics, *convert._unique_names([topics.normalize_topic(t) for t in tags or []])]
    )


DOMAIN_PIECES = st.sampled_from(
    ["cnn.com", "CNN.com", "https://", "http://x.org/a", "/", "%2F", "%zz", " ", "é", "-", ".",
     "<b>", "&amp;", "\x00", "x" * 300, ":80", "@"]
)  # fmt: skip
domain_text = st.lists(DOMAIN_PIECES | edge_text, max_size=6).map("".join)


@settings(max_examples=1000, deadline=None)
@given(domain_text, domain_text)
def test_memoised_provider_is_the_general_result(name: str, domain: str) -> None:
    for _ in range(2):  # computed, then from the memo
        assert convert._memo_provider(name, domain) == convert._provider(name, domain)
    assert convert._memo_provider.cache_info().maxsize


def test_every_letter_and_digit_is_visible() -> None:
    # The proof of is_visible's shortcut, over every code point.
    for code in range(0x110000):
        char = chr(code)
        if char.isalnum() and char not in sanitize._IGNORABLE:
            assert not char.isspace()
            assert unicodedata.category(char) not in sanitize._INVISIBLE_CATEGORIES, hex(code)


@settings(max_examples=1500, deadline=None)
@given(edge_text)
def test_is_visible_shortcut_is_the_general_result(text: str) -> None:
    general = any(
        not char.isspace()
        and char not in sanitize._IGNORABLE
        and unicodedata.category(char) not in sanitize._INVISIBLE_CATEGORIES
        for char in text
    )
    assert sanitize.is_visible(text) == general


@settings(max_examples=300, deadline=None)
@given(st.none() | st.integers(1, 999_999), st.none() | st.integers(1, 999_999))
def test_image_size_attributes(width: int | None, height: int | None) -> None:
    image = {"url": "https://example.com/a.png", "width": width, "height": height}
    data = {"title": "T", "publishedDateTime": "2026-01-02T03:04:05Z", "images": [image]}
    article = convert.convert_record(RawRecord("r.md", data), Limits()).article
    assert article is not None
    size = "".join(f' {n}="{v}"' for n, v in (("width", width), ("height", height)) if v)
    assert f'<img src="https://example.com/a.png" alt=""{size}>' in article.content_html
