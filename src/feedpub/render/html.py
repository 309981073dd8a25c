"""The HTML index page: every topic with counts and latest headlines, plus autodiscovery."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from feedpub.model import FeedInfo, Site

_environment = Environment(
    loader=PackageLoader("feedpub", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

HEADLINES_PER_TOPIC = 3
FEATURED_TOPICS = 100
"""Topics shown in full (headlines, and autodiscovery links in the page's head): the ones
with the most articles. A site of more topics lists the others by name and feed links
only, so that a site of 20,000 topics has a page of 5.5 MB, not 33 MB with 60,000
autodiscovery links for a reader to offer; every feed is in the OPML list."""


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
    template = _environment.get_template("index.html")
    page = template.render(site=site, shown=shown, others=others, headlines=HEADLINES_PER_TOPIC)
    return page.encode("utf-8")
