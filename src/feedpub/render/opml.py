"""OPML 2.0 subscription list: one outline per feed, for one-click subscription to all."""

from __future__ import annotations

from email.utils import format_datetime
from xml.etree import ElementTree as ET

from feedpub.model import Site


def render_opml(site: Site) -> bytes:
    """Every feed of `site` as an OPML 2.0 document (RSS URLs, one per topic)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = site.title
    if site.updated:
        ET.SubElement(head, "dateModified").text = format_datetime(site.updated, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in site.feeds:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.info.title,
            title=feed.info.title,
            xmlUrl=feed.url_for(".rss"),
            htmlUrl=feed.home_url,
        )
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
