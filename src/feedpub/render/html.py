"""The HTML index page: every topic with counts and latest headlines, plus autodiscovery."""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import Environment, PackageLoader, select_autoescape

from feedpub.model import Site

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


def featured_slugs(topics: Iterable[tuple[str, int]]) -> set[str] | None:
    """The slugs of the topics shown in full, of (slug, article count) pairs: the
    `FEATURED_TOPICS` with the most articles (ties by slug); None when that is all of them."""
    ranked = sorted(topics, key=lambda topic: (-topic[1], topic[0]))
    if len(ranked) <= FEATURED_TOPICS:
        return None
    return {slug for slug, _count in ranked[:FEATURED_TOPICS]}


def render_index(site: Site) -> bytes:
    """The index page as UTF-8 HTML."""
    featured = featured_slugs((f.info.slug, f.total) for f in site.feeds if f.info.topic)
    if featured is None:
        shown, others = list(site.feeds), []
    else:
        shown = [f for f in site.feeds if not f.info.topic or f.info.slug in featured]
        others = [f for f in site.feeds if f.info.topic and f.info.slug not in featured]
    template = _environment.get_template("index.html")
    page = template.render(site=site, shown=shown, others=others, headlines=HEADLINES_PER_TOPIC)
    return page.encode("utf-8")
