"""Turn the model into bytes: one module per output format, no HTTP and no disk here.

`render_feed(feed, fmt)` is the one entry point the file writer and the web app
share, so a feed served over HTTP is byte-identical to the file on disk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from feedpub.model import Feed, Site

Renderer = Callable[[Feed], bytes]

FEED_FORMATS: tuple[str, ...] = (".rss", ".atom", ".json")
"""The suffix of each feed format, in the order a feed's files are made."""

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
    return _renderers()[suffix](feed)


@functools.cache
def _renderers() -> dict[str, Renderer]:
    """The renderer of each format, imported with the first feed rendered: a build with
    nothing to render does not import feedgen and lxml (20-30 ms)."""
    from feedpub.render import atom, jsonfeed, rss

    return {".rss": rss.render_rss, ".atom": atom.render_atom, ".json": jsonfeed.render_json_feed}


def render_site(site: Site) -> dict[str, bytes]:
    """Every output file of a site, keyed by its path relative to the output folder."""
    from feedpub.render import html, opml

    outputs: dict[str, bytes] = {}
    for feed in site.feeds:
        for suffix in FEED_FORMATS:
            outputs[f"{feed.info.path_stem}{suffix}"] = render_feed(feed, suffix)
    outputs[OPML_PATH] = opml.render_opml(site)
    outputs[INDEX_PATH] = html.render_index(site)
    return outputs


def media_type(path: str) -> str:
    """The HTTP media type (with charset) of an output path."""
    suffix = path[path.rfind(".") :] if "." in path else ""
    return MEDIA_TYPES.get(suffix, "application/octet-stream")
