"""OPML 2.0 subscription list: one outline per feed, for one-click subscription to all."""

from __future__ import annotations

import re
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from feedpub.model import Site

_MARKUP_START = re.compile(r"&(?=[A-Za-z0-9#])|<")
"""An `&` that would begin a character reference, and every `<` (HTML takes one for the
start of a tag, or reports a parse error when it cannot: `<3`)."""


def outline_text(name: str) -> str:
    """`name` as OPML's `text`, `title` and head title, which OPML 2.0 lets hold HTML (the
    W3C validator reads them as HTML): only `<` and an `&` that HTML would take for a
    reference are escaped, so `Arts & Culture` stays as written for readers that show the
    text as it is, and `R&D` becomes `R&amp;D` for those that read it as HTML."""
    return _MARKUP_START.sub(lambda match: "&amp;" if match[0] == "&" else "&lt;", name)


def render_opml(site: Site) -> bytes:
    """Every feed of `site` as an OPML 2.0 document (RSS URLs, one per topic)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = outline_text(site.title)
    if site.updated:
        ET.SubElement(head, "dateModified").text = format_datetime(site.updated, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in site.feeds:
        title = outline_text(feed.info.title)
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=title,
            title=title,
            xmlUrl=feed.url_for(".rss"),
            htmlUrl=feed.home_url,
        )
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
