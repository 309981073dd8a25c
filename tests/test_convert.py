"""Record -> Article: the mapping of every field, and recovery from messy values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from feedpub.config import Limits
from feedpub.convert import Conversion, convert_record, image_mime_type
from feedpub.model import Article, Feed, FeedInfo
from feedpub.records import RawRecord, read_record_bytes
from feedpub.render import render_feed
from feedpub.sanitize import clean_html, id_url, plain_text, repair_mojibake

from .conftest import base_record
from .feedcheck import XML_FORBIDDEN


def convert(body: str = "", **fields: Any) -> Conversion:
    return convert_record(RawRecord("r.md", base_record(**fields), body), Limits())


def article(body: str = "", **fields: Any) -> Article:
    result = convert(body, **fields)
    assert result.article is not None, [str(r) for r in result.reports]
    return result.article


def test_every_field_maps() -> None:
    a = article(
        title="Big &amp; small <b>news</b>",
        excerpt="Summary with &#8217;quote&#8217;",
        publishedDateTime="2026-01-02T03:04:05-07:00",
        updatedDateTime="2026-01-03T00:00:00Z",
        provider={"name": "Example News", "domain": "news.example.org"},
        topics=["AI", "Space"],
        tags=["US-TX", "ai"],
        images=[
            {
                "url": "https://i.example.org/a.png",
                "width": 10,
                "height": 20,
                "title": "T",
                "attribution": "A",
            },
            {"url": "https://i.example.org/b", "width": None, "height": "x"},
        ],
        related=[{"title": "Other", "webUrl": "https://o.example.org/", "provider": {"name": "O"}}],
        secured="TOP-SECRET-MARKER",
    )
    assert a.id == a.url == "https://example.org/a"
    assert a.title == "Big & small news"
    assert a.summary == "Summary with \u2019quote\u2019"
    assert a.published == datetime(2026, 1, 2, 10, 4, 5, tzinfo=UTC)
    assert a.updated == datetime(2026, 1, 3, tzinfo=UTC)
    assert a.provider is not None
    assert (a.provider.name, a.provider.url) == ("Example News", "https://news.example.org/")
    assert a.topics == ("AI", "Space")
    assert a.categories == ("AI", "Space", "US-TX")
    assert [(i.url, i.mime_type, i.width, i.height) for i in a.images] == [
        ("https://i.example.org/a.png", "image/png", 10, 20),
        ("https://i.example.org/b", "image/jpeg", None, None),
    ]
    assert (a.images[0].title, a.images[0].attribution) == ("T", "A")
    assert a.related[0].url == "https://o.example.org/"
    assert a.content_html.startswith('<p><img src="https://i.example.org/a.png"')
    assert "Other" in a.content_html
    assert "TOP-SECRET-MARKER" not in repr(a)


def test_unpublished_records_give_nothing() -> None:
    result = convert(published=False)
    assert result.article is None and result.unpublished and result.reports == []


@pytest.mark.parametrize("value", ["yes", "false", 1, None])
def test_published_must_be_a_boolean_or_absent(value: Any) -> None:
    record = base_record()
    record["published"] = value
    result = convert_record(RawRecord("r.md", record), Limits())
    assert result.article is None
    assert result.reports[0].field == "published"


def test_missing_published_field_means_published() -> None:
    assert convert(published=None).article is not None


def test_original_url_is_the_fallback_link() -> None:
    a = article(webUrl=None, originalUrl="https://orig.example.org/x")
    assert a.url == a.id == "https://orig.example.org/x"


def test_unsafe_url_is_ignored_with_a_report() -> None:
    result = convert(webUrl="javascript:alert(1)", originalUrl="https://ok.example.org/")
    assert result.article is not None and result.article.url == "https://ok.example.org/"
    assert result.reports[0].field == "webUrl"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=c#d", "https://example.org/a?b=c#d"),
        ("https://example.org/caf%C3%A9", "https://example.org/caf%C3%A9"),
        ("https://example.org/cafe%CC%81", "https://example.org/caf%C3%A9"),  # NFD: NFC
        ("https://example.org/x?q=e%CC%81#e%CC%81", "https://example.org/x?q=%C3%A9#%C3%A9"),
        ("https://example.org/%3C%CC%B8", "https://example.org/%E2%89%AE"),  # '<' is no delimiter
        ("https://example.org/a=%CC%B8", "https://example.org/a=%CC%B8"),  # '=' ends a run
        ("https://example.org/a%3D%CC%B8", "https://example.org/a%3D%CC%B8"),  # escaped too
        ("https://example.org/e%2F%CC%81", "https://example.org/e%2F%CC%81"),  # not in a path
        ("https://example.org/?%2F%CC%81", "https://example.org/?%2F%CC%81"),  # a query's
        ("https://example.org/caf%E9", None),  # Latin-1: no text
        ("https://example.org/%C3", None),  # a UTF-8 sequence cut short
        ("https://example.org/100%2541", None),  # %41 once decoded: validators decode again
    ],
)
def test_id_url_is_the_form_validators_compare_ids_in(url: str, expected: str | None) -> None:
    """As the W3C validator's `canonicalForm` gives it (checked against it on 200,000
    random URLs while writing `id_url`), so that an Atom id is never 'not canonical'."""
    assert id_url(url) == expected


def test_an_address_whose_escapes_spell_no_text_gets_a_stable_urn_id() -> None:
    first = article(webUrl="https://example.org/caf%E9")
    again = article(webUrl="https://example.org/caf%E9")
    other = article(webUrl="https://example.org/na%EFve")
    assert first.url == "https://example.org/caf%E9" and not first.id_is_url
    assert first.id.startswith("urn:uuid:") and first.id == again.id != other.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CafÃ© owners say donâ€™t panic", "Café owners say don\u2019t panic"),  # Latin-1, cp1252
        ("GrÃ¼ÃŸe, 10Â°C, Â£5", "Grüße, 10°C, £5"),
        ("Ã©tÃ© 東京", "été 東京"),  # mojibake beside text it cannot come from
        ("SÃO PAULO", "SÃO PAULO"),  # genuine: Ã before a letter
        ("A IRMÃ DO PAPA, notÃ­cia", "A IRMÃ DO PAPA, notícia"),  # and before a space
        ("HỌ ĐÃ LÀM ĐƯỢC Â©", "HỌ ĐÃ LÀM ĐƯỢC ©"),  # (Vietnamese), beside mojibake
        ("pâte, âge, Ã", "pâte, âge, Ã"),
        ("Normal café", "Normal café"),
        ("plain ASCII", "plain ASCII"),
    ],
)
def test_double_encoded_utf8_is_decoded(text: str, expected: str) -> None:
    assert repair_mojibake(text) == expected
    assert plain_text(text) == expected
    assert clean_html(f"<p>{text}</p>") == f"<p>{expected}</p>"


@pytest.mark.parametrize("text", ["Caf&Atilde;&copy;", "Caf&#xC3;&#xA9;", "Caf&#195;&#169;"])
def test_double_encoded_utf8_written_as_references_is_decoded(text: str) -> None:
    """Decoded references that spell mojibake are repaired too: plain_text gave `CafÃ©`,
    and `Café` only when given its own output (it was not stable), clean_html `CafÃ©`."""
    assert plain_text(text) == plain_text(plain_text(text)) == "Café"
    assert plain_text(f"<b>{text.replace('&', '&amp;')}</b>") == "Café"
    assert clean_html(f"<p>{text}</p>") == "<p>Café</p>"


def test_no_url_gives_a_stable_urn_id() -> None:
    first = article(webUrl=None)
    second = article(webUrl=None)
    assert first.id == second.id
    assert first.id.startswith("urn:uuid:")
    assert first.url == ""
    assert first.id != article(webUrl=None, title="Another").id


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            False,
        ),
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), False),
        ("2026-01-02T03:04:05.123+02:00", datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC), False),
        ("Fri, 02 Jan 2026 03:04:05 GMT", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), False),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), True),
        (datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), True),
    ],
)
def test_timestamps(value: Any, expected: datetime, note: bool) -> None:
    result = convert(publishedDateTime=value)
    assert result.article is not None and result.article.published == expected
    assert bool(result.reports) is note
    if note:
        assert "read as UTC" in result.reports[0].reason


@pytest.mark.parametrize(
    "value", [None, "", "yesterday", "2026-13-45T99:00:00Z", 12345, ["x"], "0001-01-01T00:00:00Z"]
)
def test_unusable_publication_date_skips_the_record(value: Any) -> None:
    result = convert(publishedDateTime=value)
    assert result.article is None
    assert result.reports[-1].field == "publishedDateTime"
    assert result.reports[-1].skipped


def test_bad_update_date_falls_back_to_publication() -> None:
    result = convert(updatedDateTime="garbage")
    assert result.article is not None
    assert result.article.updated == result.article.published
    assert result.reports[0].field == "updatedDateTime"


def test_title_of_the_wrong_type_skips_the_record() -> None:
    result = convert(title=["a", "list"])
    assert result.article is None
    assert str(result.reports[0]) == "r.md: title: must be text, not list"


def test_empty_title_borrows_from_the_excerpt() -> None:
    result = convert(title="  <b></b> ")
    assert result.article is not None and result.article.title == "A short summary."
    assert result.reports[0].field == "title"


def test_entities_are_decoded_until_none_remain() -> None:
    a = article(title="AT&amp;amp;T &lt;script&gt;alert(1)&lt;/script&gt; R&amp;D a &lt; b")
    assert a.title == "AT&T R&D a < b"


def test_escaped_ampersands_are_decoded_however_deep() -> None:
    deep = "&amp;" + "amp;" * 40
    a = article(title=f"AT{deep}T {deep}lt;script{deep}gt;alert(1){deep}lt;/script{deep}gt; ok")
    assert a.title == "AT&T ok"


W = "\u2060"  # WORD JOINER: shows nothing; after a `<`, no tag can begin there


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("Why std::vector<int> beats arrays", f"Why std::vector<{W}int> beats arrays"),
        ("the <intent> of the API", f"the <{W}intent> of the API"),
        ("List<String> of names", f"List<{W}String> of names"),
        ("Press <Ctrl>+C", f"Press <{W}Ctrl>+C"),
        ("Map<K, V> and </K>", f"Map<{W}K, V> and <{W}/K>"),
        ("&lt;int&gt; written as entities", f"<{W}int> written as entities"),
        ("a < b and c > d, <3", "a < b and c > d, <3"),
        # Markup still goes: known elements, any tag with an attribute value, comments.
        ("<b>bold</b> <svg onload=x>s</svg> <foo onclick=alert(1)>f</foo>", "bold s f"),
        ("<img src=x onerror=alert(1)>a<!-- c -->b <Image src=x>", "ab"),
    ],
)
def test_text_that_only_looks_like_a_tag_is_kept(written: str, published: str) -> None:
    """nh3 read `vector<int> beats arrays` as an unknown element and dropped all of it
    (`List<String> of names` lost `<String>`): the title was published as `Why std::vector`."""
    a = article(title=written, excerpt=written, topics=[written])
    assert a.title == a.summary == a.topics[0] == published


def test_topics_as_a_string_become_one_topic() -> None:
    result = convert(topics="Climate")
    assert result.article is not None and result.article.topics == ("Climate",)
    assert result.reports[0].field == "topics"


def test_topics_are_cleaned_deduplicated_and_limited() -> None:
    result = convert_record(
        RawRecord(
            "r.md", base_record(topics=[" AI ", "ai", "", 5, {"x": 1}, "Space  Race", "c", "d"])
        ),
        Limits(max_topics=6),
    )
    assert result.article is not None
    assert result.article.topics == ("AI", "5", "Space Race")
    fields = [r.field for r in result.reports]
    assert "topics" in fields and "topics[2]" in fields and "topics[4]" in fields


def test_images_with_unsafe_urls_are_left_out() -> None:
    result = convert(
        images=[{"url": "javascript:alert(1)"}, {"url": "data:image/png;base64,AAAA"}, "nope"]
    )
    assert result.article is not None and result.article.images == ()
    assert [r.field for r in result.reports] == ["images[0].url", "images[1].url", "images[2]"]


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        ("https://x/a.JPG", "image/jpeg"),
        ("https://x/a.webp?w=100", "image/webp"),
        ("https://x/a.gif#f", "image/gif"),
        ("https://x/image", "image/jpeg"),
        ("https://x.png/photo", "image/jpeg"),
    ],
)
def test_image_mime_type(url: str, mime: str) -> None:
    assert image_mime_type(url) == mime


def test_markdown_body_is_rendered_and_sanitised() -> None:
    a = article("Hello **world** <script>alert(1)</script> [x](javascript:alert(1)) [y](/rel)\n")
    assert "<strong>world</strong>" in a.content_html
    assert "<script" not in a.content_html and "javascript:" not in a.content_html
    assert 'href="https://example.org/rel"' in a.content_html


def test_html_content_field_is_sanitised() -> None:
    a = article(content='<p onclick="x()">Hi<img src="x" onerror="alert(1)"></p>\r\n')
    assert "onclick" not in a.content_html and "onerror" not in a.content_html
    assert '<img src="https://example.org/x">' in a.content_html


@pytest.mark.parametrize(
    ("where", "markup"),
    [
        ("body", "<&#1"),
        ("body", "<&#X81 and &#0; &#xD800;"),
        ("body", "plain &#1; markdown &#x1F; text"),
        ("content", "<p>a&#1;b&#x7f;c&#X9F;d</p>"),
        ("content", '<a href="https://example.org/&#1;" title="&#2;">x</a>'),
        ("featuredContent", "<b>&#11;</b>"),
    ],
)
def test_character_references_never_make_characters_xml_forbids(where: str, markup: str) -> None:
    a = article(markup) if where == "body" else article(**{where: markup})
    assert not XML_FORBIDDEN.search(a.content_html), repr(a.content_html)
    feed = Feed(
        info=FeedInfo(slug="all", title="T", description="D", path_stem="all"),
        articles=(a,),
        updated=a.updated,
        base_url="https://feeds.example.com",
        site_title="T",
    )
    for suffix in (".rss", ".atom", ".json"):
        render_feed(feed, suffix)  # lxml refuses such characters outright


def test_featured_iframe_becomes_a_link() -> None:
    a = article(featuredContent='<iframe src="https://player.example.org/embed/1"></iframe>')
    assert '<a href="https://player.example.org/embed/1"' in a.content_html
    assert "<iframe" not in a.content_html


@pytest.mark.parametrize(
    "domain", ["cnn.com/world/live", "https://cnn.com/world/live?x=1", "cnn.com%2Fworld%2Flive"]
)
def test_provider_domain_with_a_path_keeps_its_host(domain: str) -> None:
    result = convert(provider={"name": domain, "domain": domain})
    assert result.article is not None and result.reports == []
    provider = result.article.provider
    assert provider is not None
    assert (provider.name, provider.url) == ("cnn.com", "https://cnn.com/")


def test_long_excerpt_is_cut_and_reported() -> None:
    result = convert_record(
        RawRecord("r.md", base_record(excerpt="word " * 100)), Limits(max_text_chars=50)
    )
    assert result.article is not None and len(result.article.summary) <= 50
    assert result.reports[0].field == "excerpt"


def test_block_tags_and_line_breaks_leave_a_word_break_in_plain_text() -> None:
    a = article(
        title="<h1>Top</h1><div>story</div>",
        excerpt="<p>First paragraph.</p><p>Second paragraph.</p>Line<br>break"
        "<li>item</li><li>two</li>",
        provider={"name": "Example<br/>News", "domain": "example.org"},
    )
    assert a.title == "Top story"
    assert a.summary == "First paragraph. Second paragraph. Line break item two"
    assert a.provider is not None and a.provider.name == "Example News"
    # Inline tags join as before: no space is made up inside a word.
    assert article(title="Big<b>ger</b> <i>news</i>").title == "Bigger news"


@pytest.mark.parametrize("invisible", ["\u200b\u00a0\u3000", "\u200b", "\u2028 \u200d\ufeff"])
def test_a_title_with_nothing_visible_is_empty(invisible: str) -> None:
    result = convert(title=invisible)
    assert result.article is not None and result.article.title == "A short summary."
    assert result.reports[0].field == "title"
    assert article(excerpt=invisible).summary == ""
    skipped = convert(title=invisible, excerpt=f"<b>{invisible}</b>")
    assert skipped.article is None and skipped.reports[-1].field == "title"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01 is before 1990: not a plausible date"),
        (datetime(1989, 12, 31, 23, 0, tzinfo=UTC), "1989-12-31 is before 1990"),
        ("1990-01-01T00:30:00+01:00", "1989-12-31 is before 1990"),
    ],
)
def test_a_publication_date_before_1990_skips_the_record(value: Any, expected: str) -> None:
    result = convert(publishedDateTime=value)
    assert result.article is None
    [report] = result.reports
    assert report.field == "publishedDateTime" and report.skipped
    assert report.reason.startswith(expected)


def test_an_update_date_before_1990_falls_back_to_publication() -> None:
    result = convert(updatedDateTime="1970-01-01T00:00:00Z")
    assert result.article is not None
    assert result.article.updated == result.article.published
    [report] = result.reports
    assert report.field == "updatedDateTime" and not report.skipped
    assert report.reason == (
        "1970-01-01 is before 1990: not a plausible date; the publication time stands in"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-07t10:00:00z", datetime(2024, 1, 7, 10, tzinfo=UTC)),
        ("2024-01-07T10:00:00z", datetime(2024, 1, 7, 10, tzinfo=UTC)),
        ("2024-01-07t10:00:00.5+02:00", datetime(2024, 1, 7, 8, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2016-12-31t23:59:60.25-05:00", datetime(2017, 1, 1, 4, 59, 59, tzinfo=UTC)),
    ],
)
def test_rfc3339_forms_fromisoformat_refuses_are_read(value: str, expected: datetime) -> None:
    result = convert(publishedDateTime=value)
    assert result.article is not None and result.article.published == expected
    assert result.reports == []


@pytest.mark.parametrize("value", ["2016-12-31T23:59:61Z", "2016-12-31T24:00:60Z"])
def test_other_out_of_range_seconds_are_still_refused(value: str) -> None:
    assert convert(publishedDateTime=value).article is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 01 Jan 0099 00:00:00 +0000", "year 0099 is before 1990: not a plausible date"),
        ("Mon, 01 Jan 0000 00:00:00 +0000", "year 0000 is before 1990: not a plausible date"),
        ("Mon, 01 Jan 2024 00:00:00 +0060", "not a UTC offset: '+0060' (its minutes run 00-59)"),
        ("Mon, 01 Jan 2024 00:00:00 -0199", "not a UTC offset: '-0199' (its minutes run 00-59)"),
        ("2024-01-01T00:00:00+00:60", "not a UTC offset: '+00:60' (its minutes run 00-59)"),
        ("2024-01-01 00:00:00-05:75", "not a UTC offset: '-05:75' (its minutes run 00-59)"),
        ("2024-01-01T00:00:00+0099", "not a UTC offset: '+0099' (its minutes run 00-59)"),
    ],
)
def test_a_four_digit_year_below_100_or_offset_minutes_over_59_are_refused(
    value: str, expected: str
) -> None:
    """RFC 822 reads a two-digit year `99` as 1999, but `0099` is the year 99; an offset's
    minutes stop at 59 (`+00:60` was read as one hour)."""
    result = convert(publishedDateTime=value)
    assert result.article is None
    [report] = result.reports
    assert (report.field, report.reason, report.skipped) == ("publishedDateTime", expected, True)
    updated = convert(updatedDateTime=value)
    assert updated.article is not None and updated.article.updated == updated.article.published
    [report] = updated.reports
    assert (report.field, report.reason) == (
        "updatedDateTime",
        f"{expected}; the publication time stands in",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 01 Jan 99 00:00:00 +0000", datetime(1999, 1, 1, tzinfo=UTC)),
        ("Mon, 01 Jan 24 00:00:00 +0000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("Mon, 01 Jan 2024 00:00:00 +0059", datetime(2023, 12, 31, 23, 1, tzinfo=UTC)),
        ("Mon, 01 Jan 2024 00:00:00 -2330", datetime(2024, 1, 1, 23, 30, tzinfo=UTC)),
        ("2024-01-01T00:00:00-00:59", datetime(2024, 1, 1, 0, 59, tzinfo=UTC)),
    ],
)
def test_two_digit_years_and_offsets_within_the_hour_still_read(
    value: str, expected: datetime
) -> None:
    assert article(publishedDateTime=value).published == expected


@pytest.mark.parametrize(
    ("header", "field", "reason"),
    [
        ("publishedDateTime: 2024-02-30", "publishedDateTime",
         "not a real date: '2024-02-30' (day is out of range for month)"),
        ("publishedDateTime: 2023-02-29T10:00:00Z", "publishedDateTime",
         "not a real date: '2023-02-29T10:00:00Z' (day is out of range for month)"),
        ("publishedDateTime: '2024-13-01T00:00:00Z'", "publishedDateTime",
         "not a real date: '2024-13-01T00:00:00Z' (month must be in 1..12)"),
        ("publishedDateTime: 2024-01-01T00:00:00+00:60", "publishedDateTime",
         "not a UTC offset: '+00:60' (its minutes run 00-59)"),
        ("publishedDateTime: 2024-01-01T00:00:00Z\nupdatedDateTime: 2024-04-31", "updatedDateTime",
         "not a real date: '2024-04-31' (day is out of range for month); the publication"
         " time stands in"),
    ],
)  # fmt: skip
def test_an_impossible_date_in_front_matter_is_reported_by_its_field(
    header: str, field: str, reason: str
) -> None:
    raw = f"---\ntitle: Dated\nwebUrl: https://e.org/d\n{header}\n---\n".encode()
    read = read_record_bytes(raw, ".md", "r.md")
    assert read.reports == []
    [record] = read.records
    result = convert_record(record, Limits())
    assert (result.article is None) is (field == "publishedDateTime")
    [report] = result.reports
    assert (report.source, report.field, report.reason) == ("r.md", field, reason)


def test_an_rfc822_date_with_an_unknown_zone_name_says_so() -> None:
    result = convert(publishedDateTime="Sun, 07 Jan 2024 10:00:00 CEST")
    assert result.article is not None
    assert result.article.published == datetime(2024, 1, 7, 10, tzinfo=UTC)
    [report] = result.reports
    assert report.reason == "unknown time zone 'CEST'; read as UTC"
    # A known name is read with its offset, and no zone at all is still "no UTC offset".
    est = convert(publishedDateTime="Sun, 07 Jan 2024 10:00:00 EST")
    assert est.article is not None and est.article.published.hour == 15 and not est.reports
    bare = convert(publishedDateTime="Sun, 07 Jan 2024 10:00:00")
    assert bare.reports[0].reason == "no UTC offset; read as UTC"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@example.com:8443/x", "https://example.com:8443/x"),
        ("https://user@example.com/a b", "https://example.com/a%20b"),
        ("http://a@b@example.com/", "http://example.com/"),
        ("HTTPS://:@Example.com/x?y=@z", "https://example.com/x?y=@z"),
        ("https://example.com/@user", "https://example.com/@user"),
    ],
)
def test_user_info_is_never_published(url: str, expected: str) -> None:
    a = article(webUrl=url, images=[{"url": url}])
    assert a.url == a.id == a.images[0].url == expected


def test_user_info_is_dropped_from_relative_links_too() -> None:
    a = article("[x](//user:pass@other.example.org/p)")
    assert 'href="https://other.example.org/p"' in a.content_html
    assert "user" not in a.content_html


@pytest.mark.parametrize(
    ("url", "expected"),
    [  # what browsers and Node's URL read (the WHATWG URL standard): a `\\` is a `/`
        (
            "https://trusted.example\\@evil.example/story",
            "https://trusted.example/@evil.example/story",
        ),
        ("https://ex.org\\evil/", "https://ex.org/evil/"),
        ("https:\\\\ex.org\\a\\b", "https://ex.org/a/b"),
        ("HTTPS://Ex.org\\..\\x", "https://ex.org/x"),
        ("https://user:pw@ex.org\\x", "https://ex.org/x"),
        ("http://a.example\\\\b.example/", "http://a.example//b.example/"),
        ("https://ex.org/a\\b?q=\\x#f\\g", "https://ex.org/a/b?q=%5Cx#f%5Cg"),  # kept after `?`
    ],
)
def test_a_backslash_before_the_query_is_a_slash_as_browsers_read_it(
    url: str, expected: str
) -> None:
    """Python's `urlsplit` took `trusted.example\\` for user info and published the link on
    evil.example, where a reader's browser opens trusted.example."""
    body = f'<p><a href="{url.replace("story", "more")}">more</a></p>'  # HTML: as written
    a = article(body, webUrl=url, images=[{"url": url}])
    assert a.url == a.id == a.images[0].url == expected
    assert f'href="{expected.replace("story", "more")}"' in a.content_html


def test_a_relative_link_with_backslashes_is_read_as_browsers_read_it() -> None:
    body = '<p><a href="\\\\other.example.org/p">a</a> <a href="x\\y">b</a></p>'
    a = article(body, webUrl="https://ex.org/dir/page")
    assert 'href="https://other.example.org/p"' in a.content_html
    assert 'href="https://ex.org/dir/x/y"' in a.content_html


@pytest.mark.parametrize(
    ("size", "expected"),
    [(1200.0, 1200), (640, 640), ("480", 480), (1200.5, None), (float("nan"), None),
     (float("inf"), None), (-3.0, None), (0.0, None), (1e12, None), (True, None)],
)  # fmt: skip
def test_image_sizes_may_be_whole_floats(size: Any, expected: int | None) -> None:
    [image] = article(images=[{"url": "https://i.example.org/a.jpg", "width": size}]).images
    assert image.width == expected


def test_markdown_tables_and_strikethrough_are_rendered() -> None:
    a = article("| a | b |\n|---|--:|\n| 1 | ~~2~~ |\n")
    assert "<table>" in a.content_html and "<th>a</th>" in a.content_html
    assert "<td><del>2</del></td>" in a.content_html
    assert "style" not in a.content_html  # alignment styles are not kept


def test_a_single_tilde_is_text_and_two_strike_through() -> None:
    a = article("~one~ and ~~two~~\n")
    assert "~one~" in a.content_html and "<del>two</del>" in a.content_html


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("![" * 20_000, "![!["),  # markdown-it-py took 9 s for 25 times as many
        ("[\n" * 20_000, "[\n["),
        ("~~a" * 20_000, "<del>a</del>a<del>a</del>"),
        ("a\n=\n" * 20_000, "<h1>a</h1>"),
        ("|" + "a|" * 2_000 + "\n|" + "-|" * 2_000 + "\n|" + "b|" * 2_000 + "\n", "<td>b</td>"),
    ],
)
def test_markdown_that_defeats_backtracking_parsers_is_read_as_commonmark_says(
    body: str, shown: str
) -> None:
    """Bodies that took markdown-it-py seconds (see README, Limits) give cmark-gfm's
    reading of them: text where nothing is markup, the headings and tables that are."""
    assert shown in article(body).content_html


def test_a_lone_surrogate_in_a_markdown_body_is_dropped_not_fatal() -> None:
    """Half a UTF-16 pair (a JSON dump's `"\\udc80"`) has no UTF-8 for the Markdown parser;
    the sanitiser drops it from every other text, so the body publishes without it."""
    html = article("A *body* with \udc80 half a pair\n").content_html
    assert "<em>body</em> with  half a pair" in html


def test_a_body_with_too_many_ampersands_is_cut_before_the_next_one_and_reported() -> None:
    body = "<p>" + "a &amp; " * 20_000 + "b &amp; c</p>"
    result = convert(body)
    assert result.article is not None
    html = result.article.content_html
    assert html.count("&amp;") == 20_000 and html.endswith("a &amp; b</p>")
    [report] = result.reports
    assert report.field == "body" and "20000 ampersands" in report.reason
    assert convert("<p>" + "&amp;" * 20_000 + "</p>").reports == []  # (at the limit: kept)


@pytest.mark.parametrize("lead", ["<!-- generated -->\n", "<!-- a -->\n\n  <!-- b\n c -->  \n"])
def test_a_markdown_body_after_html_comments_is_markdown(lead: str) -> None:
    a = article(f"{lead}# Heading\n\nSome **bold** text.\n")
    assert "<h1>Heading</h1>" in a.content_html
    assert "<strong>bold</strong>" in a.content_html
    assert "<!--" not in a.content_html


def test_an_html_body_after_a_comment_is_still_html() -> None:
    a = article("<!-- generated -->\n<p>Some *starred* text</p>")
    assert "<p>Some *starred* text</p>" in a.content_html


def test_categories_that_are_one_topic_are_listed_once() -> None:
    a = article(topics=["Power Apps", "power-apps"], tags=["POWER APPS", "Other"])
    assert a.topics == ("Power Apps",)
    assert a.categories == ("Power Apps", "Other")


@pytest.mark.parametrize(
    "markup",
    [
        '<p><img src="data:image/png;base64,AAAA" alt="x">text</p>',
        '<p><img src="javascript:alert(1)">text</p>',
        "<p><img>text</p>",
    ],
)
def test_images_whose_address_was_refused_are_dropped(markup: str) -> None:
    a = article(content=markup, images=[])
    assert a.content_html == "<p>text</p>"


@pytest.mark.parametrize(
    "markup",
    [
        '<p><a href="javascript:alert(1)">text</a> and <a href="/ok">ok</a></p>',
        '<p><a href="data:text/html,x" title="t">te<b>x</b>t</a> and <a href="/ok">ok</a></p>',
        '<p><a name="x">text</a> and <a href="/ok">ok</a></p>',
    ],
)
def test_links_whose_address_was_refused_keep_only_their_text(markup: str) -> None:
    a = article(content=markup, images=[])
    assert "<a" not in a.content_html.replace('<a href="https://example.org/ok"', "")
    assert a.content_html.endswith(
        ' and <a href="https://example.org/ok" rel="noopener noreferrer">ok</a></p>'
    )
    assert "te" in a.content_html and "t and" in a.content_html


def test_an_attribute_that_mentions_src_or_href_keeps_nothing_alive() -> None:
    a = article(content="<p><img alt=' src=\"x\"'><a title=' href=\"y\"'>text</a></p>", images=[])
    assert a.content_html == "<p>text</p>"


EMBED = '<p><a href="{}" rel="noopener noreferrer">Watch the embedded media</a></p>'


@pytest.mark.parametrize("where", ["body", "content", "featuredContent"])
def test_every_iframe_becomes_a_link_to_what_it_embeds(where: str) -> None:
    markup = (
        '<p>Intro</p><iframe src="javascript:alert(1)"></iframe>'
        '<iframe width="560" src="https://player.example.org/embed/1?a=1&amp;b=2">'
        "fallback <script>alert(1)</script></iframe>"
        "<IFRAME SRC=//player.example.org/embed/2></IFRAME><iframe data-src=/x></iframe>"
        "<iframe src='/embed/3'><p>Outro</p>"
    )
    a = article(markup, images=[]) if where == "body" else article(**{where: markup}, images=[])
    links = [
        EMBED.format(url)
        for url in (
            "https://player.example.org/embed/1?a=1&amp;b=2",
            "https://player.example.org/embed/2",
            "https://example.org/embed/3",
        )
    ]
    assert a.content_html.count("Watch the embedded media") == 3
    for link in links:
        assert link in a.content_html
    assert "<iframe" not in a.content_html.lower() and "script" not in a.content_html
    assert "fallback" not in a.content_html and "Outro" not in a.content_html  # iframe content
    assert "<p>Intro</p>" in a.content_html


def test_an_iframe_written_inside_an_attribute_value_is_text() -> None:
    a = article(content='<img alt="<iframe src=https://x.example.org/>"><p>After</p>', images=[])
    assert a.content_html == "<p>After</p>"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Markdown \x00 with a NUL\n", "(U+0000)"),  # (which Markdown makes a U+FFFD)
        ("<p>HTML \x01 with a control</p>", "(U+0001)"),
        ("Text \ufeff with a byte-order mark \u202e\n", "(U+202E, U+FEFF)"),
    ],
)
def test_characters_dropped_from_a_body_are_reported_as_written(body: str, named: str) -> None:
    result = convert(body)
    assert result.article is not None and "\x00" not in result.article.content_html
    [report] = result.reports
    assert (report.field, report.skipped) == ("body", False)
    assert report.reason.startswith("removed ") and report.reason.endswith(named)


def test_characters_dropped_from_text_fields_are_counted_and_named() -> None:
    result = convert(title="A\x00B\x00C\x07", excerpt="clean\ttext\n")
    assert result.article is not None and result.article.title == "ABC"
    assert [(r.field, r.reason) for r in result.reports] == [
        ("title", "removed 3 character(s) no feed may carry (U+0000, U+0007)")
    ]


def test_a_name_made_only_of_dropped_characters_gets_one_report() -> None:
    """What was removed and that nothing was left, in one line; a name that keeps some text
    is published, with the removal reported."""
    result = convert(topics=["\x07\u202e", "Sp\x00ace", "\u200b"], tags=["\ufeff"])
    assert result.article is not None and result.article.topics == ("Space",)
    assert [(r.field, r.reason, r.skipped) for r in result.reports] == [
        ("topics[0]", "removed 2 character(s) no feed may carry (U+0007, U+202E),"
         " which left it empty; ignored", False),
        ("topics[1]", "removed 1 character(s) no feed may carry (U+0000)", False),
        ("topics[2]", "empty; ignored", False),
        ("tags[0]", "removed 1 character(s) no feed may carry (U+FEFF), which left it empty;"
         " ignored", False),
    ]  # fmt: skip


def test_a_flood_of_dropped_characters_is_counted_not_listed() -> None:
    """Half a million of them (a hostile body) give one report line with the count."""
    result = convert("\u202e\x01" * 200_000 + "text\n", title="\ud800" * 300 + "Title")
    assert result.article is not None and result.article.title == "Title"
    reasons = {report.field: report.reason for report in result.reports}
    assert reasons["title"] == "removed 300 character(s) no feed may carry (U+D800)"
    assert reasons["body"] == "removed 400000 character(s) no feed may carry (U+0001, U+202E)"
