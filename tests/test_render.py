"""The feeds as real clients see them: feedparser, the JSON Feed schema, Atom and RSS rules."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import feedparser
import jsonschema
import lxml.html
import pytest
from lxml import etree

from feedpub.build import BuildStats, build_site
from feedpub.config import Config
from feedpub.render import render_site

from .conftest import SAMPLE_RECORDS, BuildRun, output_files

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text())


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    config = Config(records=SAMPLE_RECORDS, base_url="https://feeds.example.com")
    site = build_site(config, lambda report: None, BuildStats(), use_cache=False)
    return render_site(site)


def feed_paths(outputs: dict[str, bytes], suffix: str) -> list[str]:
    return sorted(path for path in outputs if path.endswith(suffix))


def test_every_format_of_every_feed_exists(sample: dict[str, bytes]) -> None:
    stems = {path.rsplit(".", 1)[0] for path in sample if path.endswith((".rss", ".atom", ".json"))}
    assert "all" in stems and "topics/ai" in stems
    for stem in stems:
        for suffix in (".rss", ".atom", ".json"):
            assert f"{stem}{suffix}" in sample
    assert "feeds.opml" in sample and "index.html" in sample


@pytest.mark.parametrize("suffix", [".rss", ".atom", ".json"])
def test_feedparser_reads_every_feed_cleanly(sample: dict[str, bytes], suffix: str) -> None:
    for path in feed_paths(sample, suffix):
        parsed = feedparser.parse(sample[path])
        if suffix != ".json":
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))
            assert parsed.entries, path
            for entry in parsed.entries:
                assert entry.title and entry.id
                assert entry.published_parsed is not None
                assert entry.tags, "categories are published"


def test_feedparser_sees_enclosures_media_and_categories(sample: dict[str, bytes]) -> None:
    rss = feedparser.parse(sample["topics/space.rss"])
    webb = next(e for e in rss.entries if "Webb" in e.title)
    assert webb.link == "https://news.example.org/space/webb-water-vapour-gj486b"
    assert [e.href for e in webb.enclosures] == [
        "https://images.example.org/space/gj486b-artist.jpg"
    ]
    assert webb.enclosures[0].type == "image/jpeg"
    assert [m["url"] for m in webb.media_content] == [
        "https://images.example.org/space/gj486b-artist.jpg",
        "https://images.example.org/space/webb-spectrum.png",
    ]
    assert webb.media_content[0]["width"] == "1600"
    assert webb.media_thumbnail[0]["url"].endswith("gj486b-artist.jpg")
    assert {t.term for t in webb.tags} == {"Space", "Science"}
    assert webb.author == "Example Science Desk"

    atom = feedparser.parse(sample["topics/space.atom"])
    webb = next(e for e in atom.entries if "Webb" in e.title)
    enclosures = [link for link in webb.links if link.rel == "enclosure"]
    assert [(link.href, link.type, link.length) for link in enclosures] == [
        ("https://images.example.org/space/gj486b-artist.jpg", "image/jpeg", "0"),
        ("https://images.example.org/space/webb-spectrum.png", "image/png", "0"),
    ]
    assert webb.link == "https://news.example.org/space/webb-water-vapour-gj486b"
    assert {t.term for t in webb.tags} == {"Space", "Science"}
    assert webb.author_detail.name == "Example Science Desk"


def test_atom_feeds_and_entries_have_one_alternate_link_first_and_required_elements(
    sample: dict[str, bytes],
) -> None:
    for path in feed_paths(sample, ".atom"):
        root = etree.fromstring(sample[path])
        assert (
            root.find(f"{ATOM}link[@rel='self']").get("href") == f"https://feeds.example.com/{path}"
        )
        # Readers that take a feed's first <link> as its site must not get the feed itself.
        feed_links = root.findall(f"{ATOM}link")
        assert feed_links[0].get("rel") == "alternate", path
        assert feed_links[0].get("href") == "https://feeds.example.com/"
        for entry in root.iter(f"{ATOM}entry"):
            links = entry.findall(f"{ATOM}link")
            alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
            assert len(alternates) == 1, path
            assert links[0] is alternates[0]
            for link in links:
                assert link.get("rel") in {"alternate", "enclosure", "related"}
                if link.get("rel") == "enclosure":
                    assert link.get("type", "").startswith("image/") and link.get("length") == "0"
            for required in ("id", "title", "updated", "author"):
                assert entry.find(f"{ATOM}{required}") is not None, required


def test_rss_items_have_one_enclosure_and_media_per_image(sample: dict[str, bytes]) -> None:
    root = etree.fromstring(sample["all.rss"])
    channel = root.find("channel")
    assert channel.findtext("link") == "https://feeds.example.com/"
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert (
        self_link.get("rel") == "self"
        and self_link.get("href") == "https://feeds.example.com/all.rss"
    )
    for item in channel.iter("item"):
        enclosures = item.findall("enclosure")
        media = item.findall(f"{MEDIA}content")
        assert len(enclosures) <= 1
        assert item.find(f"{MEDIA}group") is None
        if enclosures:
            assert enclosures[0].get("length") == "0"
            assert enclosures[0].get("url") == media[0].get("url")
            assert item.find(f"{MEDIA}thumbnail") is not None
        assert item.find("guid").get("isPermaLink") == "true"


def test_rss_dates_are_rfc822_with_numeric_offsets(sample: dict[str, bytes]) -> None:
    root = etree.fromstring(sample["all.rss"])
    for date in [root.findtext("channel/lastBuildDate")] + [d.text for d in root.iter("pubDate")]:
        assert date is not None and date.endswith("+0000"), date


@pytest.mark.parametrize("strict", [True])
def test_json_feeds_match_the_schema(sample: dict[str, bytes], strict: bool) -> None:
    checker = jsonschema.FormatChecker()
    for path in feed_paths(sample, ".json"):
        document = json.loads(sample[path])
        jsonschema.validate(document, SCHEMA, format_checker=checker)
        ids = [item["id"] for item in document["items"]]
        assert len(ids) == len(set(ids))
        assert document["feed_url"] == f"https://feeds.example.com/{path}"
        for item in document["items"]:
            if "attachments" in item:
                assert item["image"] == item["attachments"][0]["url"]


def test_feeds_are_newest_first(sample: dict[str, bytes]) -> None:
    items = json.loads(sample["all.json"])["items"]
    dates = [item["date_published"] for item in items]
    assert dates == sorted(dates, reverse=True)


def test_private_and_unpublished_records_appear_nowhere(sample: dict[str, bytes]) -> None:
    everything = b"".join(sample.values())
    assert b"never-published" not in everything and b"c2VjcmV0" not in everything
    assert b"xS95Mrfz4UHX" not in everything
    assert b"embargoed" not in everything.lower()


def test_opml_lists_every_feed(sample: dict[str, bytes]) -> None:
    root = etree.fromstring(sample["feeds.opml"])
    urls = {outline.get("xmlUrl") for outline in root.iter("outline")}
    expected = {f"https://feeds.example.com/{path}" for path in feed_paths(sample, ".rss")}
    assert urls == expected


# In OPML 2.0 `text` and `title` may hold HTML: a `<`, or an `&` that HTML would take for a
# reference but that is not a whole one, is what the W3C validator reports as NotHtml.
HTML_MARKUP_START = re.compile(r"&(?=[A-Za-z0-9#])|<")
HTML_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


@pytest.mark.parametrize(
    "topic", ["R&D", "Arts & Culture", "a <b> c", "&copy x", "AT&T <3", "5&10"]
)
def test_opml_titles_read_as_html_give_the_feed_titles(
    topic: str, build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    write_record("a.md", base_record(topics=[topic], webUrl="https://e.org/1"))
    run = build(title="News & <Views>")
    root = etree.fromstring(run.read("feeds.opml"))
    shown = [root.findtext("head/title")]
    outlines = list(root.iter("outline"))
    shown += [value for o in outlines for value in (o.get("text"), o.get("title"))]
    for value in shown:
        assert value is not None
        for match in HTML_MARKUP_START.finditer(value):
            assert HTML_REFERENCE.match(value, match.start()), (value, match.start())
    feed_titles = set()
    for outline in outlines:
        path = outline.get("xmlUrl", "").removeprefix("https://feeds.example.com/")
        feed_titles.add(feedparser.parse(run.read(path)).feed.title)
    assert {html.unescape(o.get("text", "")) for o in outlines} == feed_titles
    assert len(outlines) == 2
    assert html.unescape(shown[0] or "") == "News & <Views>"


def test_index_has_autodiscovery_for_every_feed(sample: dict[str, bytes]) -> None:
    page = etree.HTML(sample["index.html"])
    hrefs = {link.get("href") for link in page.iter("link") if link.get("rel") == "alternate"}
    feeds = [p for p in sample if p.endswith((".rss", ".atom", ".json"))]
    assert hrefs == {f"https://feeds.example.com/{path}" for path in feeds}


def test_topic_variants_are_one_feed(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    write_record("a.md", base_record(topics=["Climate"], webUrl="https://e.org/1"))
    write_record("b.md", base_record(topics=["climate "], webUrl="https://e.org/2"))
    write_record("c.md", base_record(topics=["  CLIMATE"], webUrl="https://e.org/3"))
    run = build()
    parsed = feedparser.parse(run.read("topics/climate.rss"))
    assert len(parsed.entries) == 3
    assert parsed.feed.title.endswith(": Climate")
    assert sorted(p.name for p in (run.out / "topics").iterdir()) == [
        "climate.atom",
        "climate.json",
        "climate.rss",
    ]


def test_a_bare_record_still_gives_valid_entries(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    write_record(
        "bare.md",
        {"title": "Only a title", "publishedDateTime": "2026-05-06T07:08:09Z"},
    )
    run = build()
    rss = feedparser.parse(run.read("all.rss"))
    atom = feedparser.parse(run.read("all.atom"))
    assert not rss.bozo and not atom.bozo
    [item] = rss.entries
    assert item.title == "Only a title" and item.id.startswith("urn:uuid:")
    assert item.guidislink is False
    [entry] = atom.entries
    assert entry.id == item.id and entry.author == "feedpub"
    assert entry.content[0].value
    assert [p.name for p in (run.out / "topics").glob("*")] == []
    item_json = json.loads(run.read("all.json"))["items"][0]
    assert "url" not in item_json and item_json["content_html"]
    root = etree.fromstring(run.read("all.rss"))
    assert root.find("channel/item/description").text


def test_plain_text_keeps_its_word_breaks_in_every_format(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    excerpt = (
        "<p>First paragraph.</p><p>Second paragraph.</p>Line<br>break<li>item</li><li>two</li>"
    )
    write_record("a.md", base_record(title="<div>Top</div><div>story</div>", excerpt=excerpt))
    run = build()
    expected = "First paragraph. Second paragraph. Line break item two"
    for suffix in (".rss", ".atom"):
        [entry] = feedparser.parse(run.read(f"all{suffix}")).entries
        assert (entry.title, entry.summary) == ("Top story", expected), suffix
    [item] = json.loads(run.read("all.json"))["items"]
    assert (item["title"], item["summary"]) == ("Top story", expected)


def test_an_entry_without_a_url_has_no_link_in_any_format(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    related = [{"title": "Other", "webUrl": "https://o.example.org/other"}]
    write_record("a.md", base_record(webUrl=None, related=related))
    run = build()
    image = "https://img.example.org/a.jpg"
    [atom] = feedparser.parse(run.read("all.atom")).entries
    assert atom.id.startswith("urn:uuid:")
    assert atom.get("links", []) == [] and atom.get("link") in (None, atom.id)
    root = etree.fromstring(run.read("all.atom"))
    assert root.find(f"{ATOM}entry/{ATOM}link") is None
    assert f'src="{image}"' in atom.content[0].value  # the image and related list stay
    assert "https://o.example.org/other" in atom.content[0].value
    [rss] = feedparser.parse(run.read("all.rss")).entries
    assert "link" not in rss and rss.id == atom.id and rss.guidislink is False
    assert [e.href for e in rss.enclosures] == [image]  # RSS keeps its own enclosure element
    assert [m["url"] for m in rss.media_content] == [image]
    [item] = json.loads(run.read("all.json"))["items"]
    assert "url" not in item and "external_url" not in item
    assert item["image"] == image and [a["url"] for a in item["attachments"]] == [image]


def test_user_info_never_reaches_a_feed(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    write_record("a.md", base_record(webUrl="https://user:pass@example.com:8443/x"))
    run = build()
    for suffix in (".rss", ".atom"):
        [entry] = feedparser.parse(run.read(f"all{suffix}")).entries
        assert entry.link == entry.id == "https://example.com:8443/x", suffix
    [item] = json.loads(run.read("all.json"))["items"]
    assert item["url"] == item["id"] == "https://example.com:8443/x"
    assert not any(b"pass@" in data for data in output_files(run.out).values())


def test_whole_float_image_sizes_are_published(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    images = [{"url": "https://img.example.org/a.jpg", "width": 1200.0, "height": 675.0}]
    write_record("dump.json", [base_record(images=images)])
    run = build()
    [entry] = feedparser.parse(run.read("all.rss")).entries
    assert (entry.media_content[0]["width"], entry.media_content[0]["height"]) == ("1200", "675")
    assert 'height="675"' in entry.content[0].value and 'width="1200"' in entry.content[0].value


def test_a_leap_second_and_lower_case_rfc3339_publish(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    write_record(
        "leap.md",
        "---\ntitle: Leap\npublishedDateTime: 2016-12-31T23:59:60Z\n"
        "webUrl: https://e.org/leap\n---\n",
    )
    write_record(
        "lower.md",
        "---\ntitle: Lower\npublishedDateTime: '2024-01-07t10:00:00z'\n"
        "updatedDateTime: '1970-01-01T00:00:00Z'\nwebUrl: https://e.org/lower\n---\n",
    )
    write_record(
        "epoch.md",
        "---\ntitle: Epoch\npublishedDateTime: 1970-01-01T00:00:00Z\nwebUrl: https://e.org/0\n---\n",
    )
    run = build()
    entries = {e.title: e for e in feedparser.parse(run.read("all.atom")).entries}
    assert sorted(entries) == ["Leap", "Lower"]
    assert entries["Leap"].published == "2016-12-31T23:59:59+00:00"
    assert entries["Lower"].published == entries["Lower"].updated == "2024-01-07T10:00:00+00:00"
    assert sorted(line.rsplit("/", 1)[1] for line in run.lines()) == [
        "epoch.md: publishedDateTime: 1970-01-01 is before 1990: not a plausible date",
        "lower.md: updatedDateTime: 1970-01-01 is before 1990: not a plausible date; "
        "the publication time stands in",
    ]


def test_categories_that_are_one_topic_are_published_once(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    write_record("a.md", base_record(topics=["Power Apps", "power-apps"], tags=["Power apps"]))
    run = build()
    for suffix in (".rss", ".atom"):
        [entry] = feedparser.parse(run.read(f"all{suffix}")).entries
        assert [tag.term for tag in entry.tags] == ["Power Apps"], suffix
    assert json.loads(run.read("all.json"))["items"][0]["tags"] == ["Power Apps"]
    assert sorted(p.name for p in (run.out / "topics").iterdir())[0] == "power-apps.atom"


def test_embedded_players_and_refused_urls_in_html(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    body = (
        '<p>Intro <a href="javascript:alert(1)">kept text</a>'
        '<img src="data:image/png;base64,AAAA"></p>'
        '<iframe src="https://player.example.org/embed/1"></iframe>'
    )
    featured = (
        '<iframe src="javascript:alert(1)"></iframe>'
        '<iframe src="https://player.example.org/embed/2"></iframe>'
    )
    write_record("a.md", base_record(images=[], featuredContent=featured), body=body)
    run = build()
    [entry] = feedparser.parse(run.read("all.atom")).entries
    content = entry.content[0].value
    assert "<p>Intro kept text</p>" in content
    assert "<img" not in content and "<iframe" not in content
    hrefs = re.findall(r'<a href="([^"]+)"[^>]*>Watch the embedded media</a>', content)
    assert hrefs == ["https://player.example.org/embed/1", "https://player.example.org/embed/2"]


def test_markdown_with_tables_strikethrough_and_a_leading_comment(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    body = "<!-- generated -->\n# Heading\n\n| a | b |\n|---|---|\n| 1 | ~~2~~ |\n"
    write_record("a.md", base_record(images=[]), body=body)
    run = build()
    [entry] = feedparser.parse(run.read("all.atom")).entries
    content = entry.content[0].value
    assert "<h1>Heading</h1>" in content and "# Heading" not in content
    assert "<td><del>2</del></td>" in content and "<th>a</th>" in content


def test_index_ids_are_unique_with_a_topic_named_all(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    from .conftest import base_record

    write_record("a.md", base_record(topics=["All", "AI"]))
    run = build()
    page = etree.HTML(run.read("index.html"))
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    assert len(ids) == len(set(ids)) and "all" in ids and "topic-all" in ids
    anchors = [a.get("href") for a in page.iter("a") if a.get("href", "").startswith("#")]
    assert anchors == ["#topic-ai", "#topic-all"]
    assert all(anchor[1:] in ids for anchor in anchors)


HOSTILE_TEXTS = [
    "</style><script>alert(1)</script>",
    'Tom & Jerry\'s "quotes" <b>bold</b>',
    "a\u00a0b </title></head> <!-- -->",
    "]]> &amp; &#x41; &lt;",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_the_index_page_shows_any_text_as_text(text: str) -> None:
    """Every record and config string reaches the page as text or an attribute value,
    exactly as given, never as markup (the page is an element tree the HTML writer escapes)."""
    from datetime import UTC, datetime

    from feedpub.model import Article, Feed, FeedInfo, Image, Provider, Site, Topic
    from feedpub.render.html import render_index

    when = datetime(2026, 11, 1, tzinfo=UTC)
    url = "https://e.org/a?x=1&y=%222%22"  # (the model's URLs are clean: quotes are escaped)
    article = Article(
        id=url, url=url, title=text, summary="", content_html="", published=when,
        updated=when, provider=Provider(text), topics=(text,), categories=(text,),
        images=(Image(url + "&img", "image/jpeg"),),
    )  # fmt: skip
    topic = Topic(key="k", name=text, slug="k")
    infos = [FeedInfo("all", text, text, "all"), FeedInfo("k", text, text, "topics/k", topic)]
    feeds = tuple(
        Feed(info, (article,), when, total=1, base_url="https://feeds.example.com")
        for info in infos
    )
    page = render_index(Site(text, text, "https://feeds.example.com", "en", feeds))
    root = lxml.html.document_fromstring(page)
    assert [element.tag for element in root.iter("script")] == []
    assert root.find("head/title").text_content() == text
    assert root.find("head/meta[@name='description']").get("content") == text
    titles = {link.get("title") for link in root.iter("link") if link.get("rel") == "alternate"}
    assert titles == {f"{text} ({label})" for label in ("RSS", "Atom", "JSON Feed")}
    assert [h2.text_content() for h2 in root.iter("h2")] == ["Everything", text]
    headlines = [a for a in root.iter("a") if a.get("href") == url]
    assert [a.text_content() for a in headlines] == [text, text]
    assert {img.get("src") for img in root.iter("img")} == {url + "&img"}
    assert root.find(".//nav/p").text_content() == f"Topics: {text}\u00a0(1)"
