"""WebSub (W3C Recommendation): tell the configured hubs which feeds changed.

Feeds name their hubs (`<link rel="hub">`, JSON Feed `hubs`); after a build changes
some feeds, each hub gets one `hub.mode=publish` POST per changed feed URL, the ping
that the public hubs (Google's, Superfeedr, WebSub.rocks) take. The hub then fetches
the feed and pushes it to its subscribers. A hub that is down or refuses only costs a
logged line: publishing never waits on, or fails because of, a hub.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from feedpub import __version__
from feedpub.config import Config
from feedpub.render import FEED_FORMATS

log = logging.getLogger("feedpub.serve")  # the server logs what its pings meet

TIMEOUT_SECONDS = 10.0
PARALLEL_PINGS = 4
SETTLE_SECONDS = 1.5
"""A server pings this long after publishing: its workers switch versions within ~1 s."""


def changed_feed_urls(config: Config, paths: Iterable[str]) -> list[str]:
    """The public URLs of the feeds among the output `paths` (not the OPML list or index)."""
    suffixes = tuple(FEED_FORMATS)
    return sorted(f"{config.base_url}/{path}" for path in paths if path.endswith(suffixes))


def notify_hubs(config: Config, feed_urls: list[str]) -> list[str]:
    """Ping every configured hub for every URL; the problems, one line each (empty: all fine)."""
    if not config.websub.notify or not feed_urls:
        return []
    pings = [(hub, url) for hub in config.websub.hubs for url in feed_urls]
    with ThreadPoolExecutor(max_workers=PARALLEL_PINGS) as pool:
        outcomes = list(pool.map(lambda ping: _publish(*ping), pings))
    return [problem for problem in outcomes if problem is not None]


def notify_later(config: Config, feed_urls: list[str]) -> threading.Thread | None:
    """`notify_hubs` on a background thread, after `SETTLE_SECONDS`; problems are logged."""
    if not config.websub.notify or not config.websub.hubs or not feed_urls:
        return None

    def run() -> None:
        time.sleep(SETTLE_SECONDS)
        problems = notify_hubs(config, feed_urls)
        for problem in problems:
            log.warning("websub: %s", problem)
        hubs = len(config.websub.hubs)
        log.info("websub: told %d hub(s) of %d changed feed(s)", hubs, len(feed_urls))

    thread = threading.Thread(target=run, name="feedpub-websub", daemon=True)
    thread.start()
    return thread


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected ping is reported, not turned into a GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _publish(hub: str, url: str) -> str | None:
    """POST one publish ping; None when the hub accepted it, else what went wrong."""
    body = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
    request = urllib.request.Request(
        hub,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"feedpub/{__version__} (WebSub publisher)",
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"hub {hub} refused {url}: HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"hub {hub} not reached for {url}: {reason}"
    if not 200 <= status < 300:
        return f"hub {hub} answered {url} with HTTP {status}"
    return None
