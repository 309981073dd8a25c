"""The HTML index page: every topic with counts and latest headlines, plus autodiscovery.

The page is built as an element tree and serialised by the standard library's HTML
writer, which escapes every text and attribute value: no string of a record is ever
pasted into markup. (It was a Jinja2 template; importing Jinja2 and compiling the
template took 30-45 ms of every build that changed the page, about a tenth of a
rebuild after one edit at 100k records.)
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET

from feedpub.model import Article, Feed, FeedInfo, Site
from feedpub.render import FEED_FORMATS, MEDIA_TYPES, OPML_PATH

HEADLINES_PER_TOPIC = 3
FEATURED_TOPICS = 100
"""Topics shown in full (headlines, and autodiscovery links in the page's head): the ones
with the most articles. A site of more topics lists the others by name and feed links
only, so that a site of 20,000 topics has a page of 5.5 MB, not 33 MB with 60,000
autodiscovery links for a reader to offer; every feed is in the OPML list."""

NO_BREAK = "\u00a0"
LABELS = {".rss": "RSS", ".atom": "Atom", ".json": "JSON Feed"}
"""How each feed format is named on the page (its suffix in `FEED_FORMATS`)."""
STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
section { border-top: 1px solid #ddd; padding: 1rem 0; }
h2 { margin: 0 0 .25rem; font-size: 1.2rem; }
.formats a { margin-right: .75rem; font-size: .9rem; }
ul { padding-left: 0; list-style: none; }
li { display: flex; gap: .75rem; align-items: flex-start; margin: .5rem 0; }
li img { width: 96px; height: 54px; object-fit: cover; flex: none; border-radius: 4px; }
.meta { color: #666; font-size: .85rem; }
"""  # noqa: E501


def in_full(feeds: Sequence[tuple[FeedInfo, int]]) -> list[bool]:
    """For each (feed, article count): is it shown in full on the index page? The whole
    feed is, and the `FEATURED_TOPICS` topics with the most articles (ties by slug)."""
    ranked = sorted((-count, info.slug) for info, count in feeds if info.topic)
    if len(ranked) <= FEATURED_TOPICS:
        return [True] * len(feeds)
    featured = {slug for _count, slug in ranked[:FEATURED_TOPICS]}
    return [not info.topic or info.slug in featured for info, _count in feeds]


def render_index(site: Site) -> bytes:
    """The index page as UTF-8 HTML."""
    full = in_full([(feed.info, feed.total) for feed in site.feeds])
    shown = [feed for feed, whole in zip(site.feeds, full, strict=True) if whole]
    others = [feed for feed, whole in zip(site.feeds, full, strict=True) if not whole]
    page = ET.Element("html", lang=site.language)
    page.text = "\n"
    _head(_block(page, "head"), site, shown)
    body = _block(page, "body")
    body.text = "\n"
    _block(body, "h1").text = site.title
    intro = _block(body, "p")
    intro.text = f"{site.description}. Subscribe to one topic, to everything, or import "
    ET.SubElement(intro, "a", href=f"{site.base_url}/{OPML_PATH}").text = "all feeds (OPML)"
    intro[-1].tail = "."
    _topic_links(ET.SubElement(_block(body, "nav"), "p"), shown, others)
    for feed in shown:
        _section(body, feed)
    if others:
        _more_topics(body, others)
    return f"<!DOCTYPE html>\n{ET.tostring(page, encoding='unicode', method='html')}\n".encode()


def _block(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    """A child element on a line of its own (block-level: the newlines are not content)."""
    element = ET.SubElement(parent, tag, attributes)
    element.tail = "\n"
    return element


def _head(head: ET.Element, site: Site, shown: list[Feed]) -> None:
    head.text = "\n"
    _block(head, "meta", charset="utf-8")
    _block(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    _block(head, "title").text = site.title
    _block(head, "meta", name="description", content=site.description)
    for feed in shown:
        for suffix in FEED_FORMATS:
            title = f"{feed.info.title} ({LABELS[suffix]})"
            _block(head, "link", rel="alternate", type=_media_type(suffix), title=title,
                   href=feed.url_for(suffix))  # fmt: skip
    _block(head, "link", rel="outline", type=_media_type(".opml"), title="All feeds (OPML)",
           href=f"{site.base_url}/{OPML_PATH}")  # fmt: skip
    _block(head, "style").text = STYLE


def _topic_links(paragraph: ET.Element, shown: list[Feed], others: list[Feed]) -> None:
    """`Topics: A (3), B (1), 2 more`: each links to the topic's section of the page."""
    paragraph.text = "Topics: "
    topics = [feed for feed in shown if feed.info.topic]
    for number, feed in enumerate(topics, 1):
        link = ET.SubElement(paragraph, "a", href=f"#topic-{feed.info.slug}")
        link.text = _name(feed)
        link.tail = f"{NO_BREAK}({feed.total}){', ' if number < len(topics) else ''}"
    if others:
        if len(paragraph):
            paragraph[-1].tail = f"{paragraph[-1].tail}, "
        else:
            paragraph.text = "Topics: , "
        ET.SubElement(paragraph, "a", href="#more-topics").text = f"{len(others)} more"


def _section(body: ET.Element, feed: Feed) -> None:
    """A feed's section: its name, count, latest date, format links and headlines."""
    topic = feed.info.topic
    section = _block(body, "section", id=f"topic-{feed.info.slug}" if topic else feed.info.slug)
    section.text = "\n"
    _block(section, "h2").text = _name(feed) if topic else "Everything"
    meta = _block(section, "p", **{"class": "meta"})
    latest = f", latest {feed.updated.strftime('%Y-%m-%d %H:%M UTC')}" if feed.articles else ""
    meta.text = f"{feed.total} article{'' if feed.total == 1 else 's'}{latest}"
    _format_links(_block(section, "p", **{"class": "formats"}), feed)
    headlines = _block(section, "ul")
    headlines.text = "\n"
    for article in feed.articles[:HEADLINES_PER_TOPIC]:
        _headline(_block(headlines, "li"), article)


def _format_links(parent: ET.Element, feed: Feed, between: str = "") -> None:
    for suffix in FEED_FORMATS:
        link = ET.SubElement(parent, "a", href=feed.url_for(suffix))
        link.text, link.tail = LABELS[suffix], between
    parent[-1].tail = None


def _headline(item: ET.Element, article: Article) -> None:
    if article.images:
        ET.SubElement(item, "img", src=article.images[0].url, alt="", loading="lazy")
    text = ET.SubElement(item, "span")
    if article.url:
        link = ET.SubElement(text, "a", href=article.url)
        link.text = article.title
    else:
        text.text = article.title
    ET.SubElement(text, "br")
    meta = ET.SubElement(text, "span", {"class": "meta"})
    provider = article.provider.name if article.provider else ""
    meta.text = f"{provider} {article.published.strftime('%Y-%m-%d')}"


def _more_topics(body: ET.Element, others: list[Feed]) -> None:
    """The topics not shown in full: name, count and feed links, one line each."""
    section = _block(body, "section", id="more-topics")
    section.text = "\n"
    _block(section, "h2").text = "More topics"
    listing = _block(section, "ul")
    listing.text = "\n"
    for feed in others:
        item = _block(listing, "li")
        item.text = f"{_name(feed)}{NO_BREAK}({feed.total}): "
        _format_links(item, feed, between=" ")


def _media_type(suffix: str) -> str:
    """The media type an autodiscovery link names (as served, without the charset)."""
    return MEDIA_TYPES[suffix].partition(";")[0]


def _name(feed: Feed) -> str:
    return feed.info.topic.name if feed.info.topic else feed.info.title
