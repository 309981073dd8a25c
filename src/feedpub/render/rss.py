"""RSS 2.0 with content:encoded, Dublin Core creators and Media RSS images."""

from __future__ import annotations

from typing import Any, ClassVar

from lxml import etree

from feedpub.model import Feed
from feedpub.render._feedgen import (
    ATOM_NS,
    DC_NS,
    EXTENSION,
    MEDIA_NS,
    ArticleEntryExtension,
    NamespaceExtension,
    hex_ampersands,
    new_generator,
    set_html_text,
)
from feedpub.sanitize import escape

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"


class _RssNamespaces(NamespaceExtension):
    """Declares the namespaces and adds an `atom:link rel="hub"` per WebSub hub."""

    namespaces: ClassVar[dict[str, str]] = {"media": MEDIA_NS, "dc": DC_NS}
    hubs: tuple[str, ...] = ()

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        if channel is None or not self.hubs:
            return feed
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        at = list(channel).index(self_link) + 1 if self_link is not None else len(channel)
        for offset, hub in enumerate(self.hubs):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub")
            channel.insert(at + offset, link)
        return feed


class _RssItem(ArticleEntryExtension):
    """Adds the one enclosure, a media:content per image, a thumbnail and dc:creator."""

    def extend_rss(self, item: Any) -> Any:
        article = self.article
        # In RSS, description and content:encoded hold HTML: entity-encode the plain
        # summary once, and carry both as CDATA so no entity is written twice.
        # Without a summary, feedgen has put the content into <description>.
        description = (
            escape(article.summary, quote=False) if article.summary else article.content_html
        )
        set_html_text(item.find("description"), description)
        set_html_text(item.find(f"{{{CONTENT_NS}}}encoded"), article.content_html)
        if article.url:
            # feedgen would also write the link into Atom, where its rel gets lost.
            link = etree.Element("link")
            link.text = article.url
            item.insert(1, link)
        if article.provider:
            creator = etree.SubElement(item, f"{{{DC_NS}}}creator")
            creator.text = article.provider.name
        if article.images:
            first = article.images[0]
            # RSS 2.0 allows one enclosure per item; Media RSS carries every image.
            etree.SubElement(item, "enclosure", url=first.url, length="0", type=first.mime_type)
            for image in article.images:
                content = etree.SubElement(
                    item, f"{{{MEDIA_NS}}}content", url=image.url, type=image.mime_type
                )
                content.set("medium", "image")
                _set_size(content, image.width, image.height)
                if image.title:
                    etree.SubElement(content, f"{{{MEDIA_NS}}}title").text = image.title
                if image.attribution:
                    etree.SubElement(content, f"{{{MEDIA_NS}}}credit").text = image.attribution
            thumbnail = etree.SubElement(item, f"{{{MEDIA_NS}}}thumbnail", url=first.url)
            _set_size(thumbnail, first.width, first.height)
        return item


def _set_size(element: Any, width: int | None, height: int | None) -> None:
    if width:
        element.set("width", str(width))
    if height:
        element.set("height", str(height))


def render_rss(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8 bytes)."""
    generator = new_generator(feed, ".rss", _RssNamespaces, _RssItem)
    getattr(generator, EXTENSION).hubs = feed.hubs
    generator.lastBuildDate(feed.updated)
    return hex_ampersands(bytes(generator.rss_str(pretty=True)))
