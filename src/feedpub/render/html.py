"""The HTML index page: every topic with counts and latest headlines, plus autodiscovery."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from feedpub.model import Site

_environment = Environment(
    loader=PackageLoader("feedpub", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

HEADLINES_PER_TOPIC = 3


def render_index(site: Site) -> bytes:
    """The index page as UTF-8 HTML."""
    template = _environment.get_template("index.html")
    page = template.render(site=site, headlines=HEADLINES_PER_TOPIC)
    return page.encode("utf-8")
