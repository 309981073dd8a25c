"""Turn the model into bytes: one module per output format, no HTTP and no disk here.

`render_feed(feed, fmt)` is the one entry point the file writer and the web app
share, so a feed served over HTTP is byte-identical to the file on disk.
"""

from __future__ import annotations

from collections.abc import Callable

from feedpub.model import Feed, Site
from feedpub.render import atom, html, jsonfeed, opml, rss

Renderer = Callable[[Feed], bytes]

FEED_FORMATS: dict[str, Renderer] = {
    ".rss": rss.render_rss,
    ".atom": atom.render_atom,
    ".json": jsonfeed.render_json_feed,
}

MEDIA_TYPES: dict[str, str] = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

OPML_PATH = "feeds.opml"
INDEX_PATH = "index.html"


def render_feed(feed: Feed, suffix: str) -> bytes:
    """One feed in one format (`.rss`, `.atom` or `.json`)."""
    return FEED_FORMATS[suffix](feed)


def render_site(site: Site) -> dict[str, bytes]:
    """Every output file of a site, keyed by its path relative to the output folder."""
    outputs: dict[str, bytes] = {}
    for feed in site.feeds:
        for suffix, renderer in FEED_FORMATS.items():
            outputs[f"{feed.info.path_stem}{suffix}"] = renderer(feed)
    outputs[OPML_PATH] = opml.render_opml(site)
    outputs[INDEX_PATH] = html.render_index(site)
    return outputs


def media_type(path: str) -> str:
    """The HTTP media type (with charset) of an output path."""
    suffix = path[path.rfind(".") :] if "." in path else ""
    return MEDIA_TYPES.get(suffix, "application/octet-stream")
