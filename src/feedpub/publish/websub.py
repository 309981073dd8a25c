"""WebSub (W3C Recommendation): tell the configured hubs which feeds changed.

Feeds name their hubs (`<link rel="hub">`, JSON Feed `hubs`); after a build changes
some feeds, each hub gets one `hub.mode=publish` POST per changed feed URL, the publish
ping of PubSubHubbub 0.3/0.4 that public hubs such as Google's take. The hub then fetches
the feed and pushes it to its subscribers. A hub that is down or refuses costs one line
of report and at most one timeout: publishing never fails because of a hub.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple
from urllib.parse import urlencode

from feedpub import __version__
from feedpub.config import Config
from feedpub.render import FEED_FORMATS

log = logging.getLogger("feedpub.serve")  # the server logs what its pings meet

TIMEOUT_SECONDS = 10.0
BUDGET_SECONDS = 60.0
"""All pings of one build end within this: what is left then is reported as not sent."""
PARALLEL_PINGS = 4  # per hub
SETTLE_SECONDS = 1.5
"""A server pings this long after publishing: its workers switch versions within ~1 s."""


def changed_feed_urls(config: Config, paths: Iterable[str]) -> list[str]:
    """The public URLs of the feeds among the output `paths` (not the OPML list or index)."""
    suffixes = tuple(FEED_FORMATS)
    return sorted(f"{config.base_url}/{path}" for path in paths if path.endswith(suffixes))


def notify_hubs(config: Config, feed_urls: list[str], budget: float = BUDGET_SECONDS) -> list[str]:
    """Ping every configured hub for every URL; at most one problem line per hub.

    A hub that cannot be reached (refused, timed out, no such host) gets no more pings
    in this round, and nothing is sent after `budget` seconds: a dead or slow hub costs
    one timeout, not one per feed.
    """
    if not config.websub.pings or not feed_urls:
        return []
    deadline = time.monotonic() + budget
    with ThreadPoolExecutor(max_workers=len(config.websub.hubs)) as pool:
        problems = pool.map(lambda hub: _notify_hub(hub, feed_urls, deadline), config.websub.hubs)
        return [problem for problem in problems if problem is not None]


class _Outcome(NamedTuple):
    problem: str | None  # what went wrong, None when the hub took the ping
    reached: bool  # False: the hub could not be reached at all
    sent: bool = True  # False: not sent (the hub was given up on, or time ran out)


def _notify_hub(hub: str, feed_urls: list[str], deadline: float) -> str | None:
    """Ping one hub for each URL (a few at a time); one line summing up what failed."""
    given_up = threading.Event()

    def ping(url: str) -> _Outcome:
        left = deadline - time.monotonic()
        if given_up.is_set() or left <= 0:
            return _Outcome(None, True, sent=False)
        outcome = _publish(hub, url, min(TIMEOUT_SECONDS, left))
        if not outcome.reached:
            given_up.set()
        return outcome

    with ThreadPoolExecutor(max_workers=PARALLEL_PINGS) as pool:
        outcomes = list(pool.map(ping, feed_urls))
    failed = [outcome.problem for outcome in outcomes if outcome.problem is not None]
    unsent = sum(not outcome.sent for outcome in outcomes)
    if not failed and not unsent:
        return None
    parts = [f"hub {hub}: {failed[0]}" if failed else f"hub {hub}: out of time"]
    if len(failed) > 1:
        parts.append(f"{len(failed) - 1} more ping(s) failed")
    if unsent:
        parts.append(f"{unsent} of {len(feed_urls)} not sent")
    return "; ".join(parts)


class HubNotifier:
    """A server's pings, on one background thread: feeds that change while a round of pings
    runs are sent together in the next round, so a burst of builds or a slow hub never
    piles up threads or pings."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, feed_urls: Iterable[str]) -> None:
        """Tell the hubs of these changed feeds, `SETTLE_SECONDS` from now or after the
        round under way (its workers switch to a new version within about a second)."""
        if not self.config.websub.pings:
            return
        with self._lock:
            self._pending.update(feed_urls)
            if self._pending and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="feedpub-websub")
                self._thread.daemon = True
                self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Wait until every submitted feed has been pinged; False if time ran out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._thread is None:
                    return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while True:
            time.sleep(SETTLE_SECONDS)
            with self._lock:
                feed_urls = sorted(self._pending)
                self._pending.clear()
                if not feed_urls:
                    self._thread = None
                    return
            for problem in notify_hubs(self.config, feed_urls):
                log.warning("websub: %s", problem)
            hubs = len(self.config.websub.hubs)
            log.info("websub: told %d hub(s) of %d changed feed(s)", hubs, len(feed_urls))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected ping is reported, not turned into a GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _publish(hub: str, url: str, timeout: float) -> _Outcome:
    """POST one publish ping for `url`."""
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
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        return _Outcome(f"refused {url}: HTTP {exc.code} {exc.reason}", reached=True)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return _Outcome(f"not reached for {url}: {reason}", reached=False)
    if not 200 <= status < 300:
        return _Outcome(f"answered {url} with HTTP {status}", reached=True)
    return _Outcome(None, reached=True)
