"""``?limit=N`` cuts of a feed, made on demand: rendered once, compressed only as asked.

A cut is made when a request first needs it, not per version like the whole feeds, so it
must not cost more than that request: it is rendered once (concurrent requests for it wait
for that one rendering) and compressed only in the content coding a request is sent, each
coding once. The newest cuts are kept in a small LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from feedpub.model import Feed
from feedpub.publish.fastpath import Route
from feedpub.publish.snapshot import IDENTITY, Resource, Variant, compressed, strong_etag
from feedpub.render import media_type, render_feed


class Cut:
    """`feed` cut to its `limit` newest entries, with the whole feed's Last-Modified.

    Its Last-Modified is the whole feed's, `modified`: the cut's newest entry would not
    move on an edit, and would go back when the newest entry is removed.
    """

    def __init__(
        self, path: str, feed: Feed, suffix: str, limit: int, modified: int, max_age: int
    ) -> None:
        self.path = path
        self.feed = feed
        self.suffix = suffix
        self.limit = limit
        self.modified = modified
        self.max_age = max_age
        self._identity: Variant | None = None
        self._packed: dict[str, Variant] = {}  # the codings made so far (when smaller)
        self._tried: set[str] = set()
        self._route: Route | None = None
        self._lock = threading.Lock()

    def route(self, coding: str) -> Route:
        """The cut's route, holding its bytes and, when smaller, their `coding` form, and
        every other coding made so far: If-None-Match matches any of them the request
        accepts, as for a whole feed."""
        with self._lock:  # one rendering and one compression per coding, whoever asks
            if self._route is None or coding not in self._tried:
                self._tried.add(coding)
                self._route = Route(self._resource(coding), self.max_age)
            return self._route

    def _resource(self, coding: str) -> Resource:
        identity = self._identity
        if identity is None:
            body = render_feed(self.feed.limited(self.limit), self.suffix)
            identity = self._identity = Variant(IDENTITY, body, strong_etag(body))
        if coding != IDENTITY and coding not in self._packed:
            packed = compressed(identity, coding)
            if packed is not None:
                self._packed[coding] = packed
        variants = (identity, *self._packed.values())
        return Resource(self.path, media_type(self.path), self.modified, variants)


class Cuts:
    """The cuts served lately, by (version, path, limit), the newest `size` kept."""

    def __init__(self, max_age: int, size: int = 256) -> None:
        self.max_age = max_age
        self.size = size
        self._cuts: OrderedDict[tuple[str, str, int], Cut] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, version: str, path: str, feed: Feed, suffix: str, limit: int, modified: int
    ) -> Cut:
        """The cut of `feed` (at `path`, ``/all.rss``) to its `limit` newest entries."""
        key = (version, path, limit)
        with self._lock:
            cut = self._cuts.get(key)
            if cut is not None:
                self._cuts.move_to_end(key)
                return cut
            cut = self._cuts[key] = Cut(path[1:], feed, suffix, limit, modified, self.max_age)
            while len(self._cuts) > self.size:
                self._cuts.popitem(last=False)
            return cut
