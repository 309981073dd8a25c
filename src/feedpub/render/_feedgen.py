"""What the RSS and Atom renderers share: a feedgen generator set up without its traps.

feedgen 1.0 defaults dates to now(), prepends entries, takes the RSS channel link
from the last link added and loses rel/type/length on Atom entry links; the
helpers here set every date from the model and leave entry links to the
format-specific extension hooks, which write them straight into lxml.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint
from typing import Any, ClassVar

from feedgen.feed import FeedEntry, FeedGenerator
from lxml import etree

from feedpub import __version__
from feedpub.model import Article, Feed

MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"
EXTENSION = "feedpub"
# An `&` (written `&amp;`) before what reads as a character reference without its `;`:
# `&pi`, `&rsquo`, `&lang=en` in a quoted address, `&#xZZ`, `5&10`. In plain text (element
# text, `title` attributes) the W3C validator takes it for HTML (ContainsHTML) unless the
# `&` is written `&#x26;`, the RSS Best Practices Profile's advice for plain text. CDATA
# (HTML), addresses (`<link>`, `<guid>`, `<id>`, `<uri>`, `<docs>`) and the other
# attributes are left as they are.
_AMPERSAND = re.compile(r"&amp;(#?\w+)")
_ADDRESS_ELEMENT = re.compile(r"<(?:link|guid|id|uri|docs)[\s>]")
_IN_TITLE_ATTRIBUTE = re.compile(r' title="[^"]*\Z')


class ArticleEntryExtension:
    """A feedgen entry extension that knows its Article; subclasses add elements."""

    article: Article

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_rss(self, item: Any) -> Any:
        return item

    def extend_atom(self, entry: Any) -> Any:
        return entry


class NamespaceExtension:
    """A feed-level feedgen extension that only declares namespaces."""

    namespaces: ClassVar[dict[str, str]] = {}

    def extend_ns(self) -> dict[str, str]:
        return dict(self.namespaces)

    def extend_rss(self, feed: Any) -> Any:
        return feed

    def extend_atom(self, feed: Any) -> Any:
        return feed


def new_generator(
    feed: Feed,
    self_suffix: str,
    feed_extension: type[NamespaceExtension],
    entry_extension: type[ArticleEntryExtension],
) -> FeedGenerator:
    """A FeedGenerator with the feed-level fields of `feed` and one entry per article."""
    generator = FeedGenerator()
    generator.register_extension(EXTENSION, feed_extension, entry_extension)
    generator.id(feed.url_for(self_suffix))
    generator.title(feed.info.title)
    generator.subtitle(feed.info.description)
    generator.description(feed.info.description)
    generator.language(feed.language)
    generator.author({"name": feed.site_title, "uri": feed.home_url})
    generator.generator("feedpub", version=__version__, uri="https://pypi.org/project/feedpub/")
    # Hubs and self first: for RSS, the channel <link> is whichever link is added last
    # (feedgen writes neither hub links nor the alternate one into RSS as atom:link).
    for hub in feed.hubs:
        generator.link(href=hub, rel="hub")
    generator.link(href=feed.url_for(self_suffix), rel="self")
    generator.link(href=feed.home_url, rel="alternate", type="text/html")
    generator.updated(feed.updated)
    for article in feed.articles:
        entry: FeedEntry = generator.add_entry(order="append")
        getattr(entry, EXTENSION).article = article
        fill_entry(entry, article)
    return generator


def cdata(html: str) -> Any:
    """HTML as a CDATA section: readable source, no doubly escaped entities.

    `]]>` cannot occur in CDATA; in HTML, `]]&gt;` means the same.
    """
    return etree.CDATA(html.replace("]]>", "]]&gt;"))


def set_html_text(element: Any, html: str) -> None:
    """Put HTML into `element` as CDATA (the element must exist)."""
    if element is not None:
        element.text = cdata(html)


def fill_entry(entry: FeedEntry, article: Article) -> None:
    """The fields that feedgen writes correctly for both formats."""
    entry.id(article.id)
    entry.guid(article.id, permalink=article.id_is_url)
    entry.title(article.title)
    entry.published(article.published)
    entry.updated(article.updated)
    if article.summary:
        entry.summary(article.summary)
    entry.content(article.content_html, type="html")
    for name in article.categories:
        entry.category(term=name)


def hex_ampersands(document: bytes) -> bytes:
    """`document` with each `&amp;` that precedes an entity-like word in plain text written
    `&#x26;`: the same text to every XML parser. A document without one is returned as is.

    One pass, linear whatever the text holds: CDATA sections are skipped with `str.find`,
    and each `&amp;` outside them looks back only to the start of its own tag or text
    (lxml writes `<` as `&lt;` in text and attribute values).
    """
    if b"&amp;" not in document:
        return document
    text = document.decode()
    pieces: list[str] = []
    done = position = 0
    while position < len(text):
        cdata = text.find("<![CDATA[", position)
        stop = len(text) if cdata < 0 else cdata
        for match in _AMPERSAND.finditer(text, position, stop):
            if _reads_as_entity(match[1]) and _is_plain_text(text, match.start()):
                pieces += (text[done : match.start()], "&#x26;")
                done = match.start() + len("&amp;")
        end = text.find("]]>", stop)
        position = len(text) if cdata < 0 or end < 0 else end + len("]]>")
    if not pieces:
        return document
    pieces.append(text[done:])
    return "".join(pieces).encode()


def _reads_as_entity(word: str) -> bool:
    """True for a word the W3C validator takes for an entity after an `&` (see nonhtml)."""
    return word in name2codepoint or word == "apos" or not word.isalpha()


def _is_plain_text(document: str, at: int) -> bool:
    """True when `at` (outside CDATA) is in an element's text or a `title` attribute, not in
    an address or another attribute."""
    tag = document.rfind("<", 0, at)
    if document.find(">", tag, at) < 0:  # inside that tag: only its title attribute is text
        return _IN_TITLE_ATTRIBUTE.search(document, tag, at) is not None
    return _ADDRESS_ELEMENT.match(document, tag) is None
