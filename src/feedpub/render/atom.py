"""Atom 1.0 (RFC 4287): one alternate link per entry, enclosures that keep rel/type/length."""

from __future__ import annotations

from typing import Any, ClassVar

from lxml import etree

from feedpub.model import Article, Feed
from feedpub.render._feedgen import (
    ATOM_NS,
    ArticleEntryExtension,
    NamespaceExtension,
    hex_ampersands,
    new_generator,
    set_html_text,
)


class _AtomEntry(ArticleEntryExtension):
    """Writes the entry's author and links itself (feedgen drops rel/type/length on them)."""

    def extend_atom(self, entry: Any) -> Any:
        article = self.article
        set_html_text(entry.find("content"), article.content_html)
        position = _after_title(entry)
        author = etree.Element("author")
        name = article.provider.name if article.provider else self.fallback_author
        etree.SubElement(author, "name").text = name
        if article.provider and article.provider.url:
            etree.SubElement(author, "uri").text = article.provider.url
        entry.insert(position, author)
        for offset, attributes in enumerate(_links(article), start=1):
            entry.insert(position + offset, etree.Element("link", attributes))
        return entry

    fallback_author = ""


def _links(article: Article) -> list[dict[str, str]]:
    """The entry's links: the alternate one first, then enclosures and related articles.

    Without an article URL there are none: readers (rss-parser, feed-extractor, feedsmith)
    take an entry's only link, whatever its rel, as the article. The images stay in the
    content, the related articles in the content's list.
    """
    if not article.url:
        return []
    # The alternate link goes first: some readers take the first <link> as the article.
    links = [{"rel": "alternate", "type": "text/html", "href": article.url}]
    for image in article.images:
        link = {"rel": "enclosure", "type": image.mime_type, "length": "0", "href": image.url}
        if image.title:
            link["title"] = image.title
        links.append(link)
    for related in article.related:
        links.append({"rel": "related", "type": "text/html", "href": related.url})
        if related.title:
            links[-1]["title"] = related.title
    return links


def _after_title(entry: Any) -> int:
    for index, child in enumerate(entry):
        if child.tag in (f"{{{ATOM_NS}}}title", "title"):
            return index + 1
    return len(entry)


class _AtomNamespaces(NamespaceExtension):
    namespaces: ClassVar[dict[str, str]] = {}

    def extend_atom(self, feed: Any) -> Any:
        """The feed's alternate link first: readers that take a feed's first <link> as its
        site (feed-extractor) otherwise show the feed's own address (self comes first for
        RSS, where feedgen makes the last link added the channel's <link>)."""
        links = [child for child in feed if child.tag in (f"{{{ATOM_NS}}}link", "link")]
        alternates = [link for link in links if link.get("rel") == "alternate"]
        if links and alternates and links[0] is not alternates[0]:
            links[0].addprevious(alternates[0])
        return feed


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8 bytes)."""
    entry_class = type("_FeedAtomEntry", (_AtomEntry,), {"fallback_author": feed.site_title})
    generator = new_generator(feed, ".atom", _AtomNamespaces, entry_class)
    return hex_ampersands(bytes(generator.atom_str(pretty=True)))
