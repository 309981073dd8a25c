"""HTTP caching for prepared bytes, and the thin WSGI layer that answers feeds before Flask.

A `Route` is one resource compiled for HTTP: its header lists for 200, 304 and
412 in every content coding, built once per version. Answering a request is then a
few dict lookups and string comparisons: content coding by Accept-Encoding
q-values, then the preconditions in RFC 9110 13.2.2's order: If-Match (strong
comparison, lists and ``*``), else If-Unmodified-Since, each failing with a 412;
If-None-Match (weak comparison, lists and ``*``), else If-Modified-Since (equal to
Last-Modified), each giving a 304. `FastPath` serves plain GET/HEAD of known paths
this way and hands everything else (``?limit``, errors, other methods) to Flask.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from feedpub.model import Feed
from feedpub.publish.snapshot import (
    CODINGS,
    IDENTITY,
    Resource,
    Snapshot,
    SnapshotSource,
    Variant,
    coded_etag,
    http_date,
)
from feedpub.render import FEED_FORMATS, INDEX_PATH

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from feedpub.publish.accesslog import AccessLog

OK = "200 OK"
NOT_MODIFIED = "304 Not Modified"
PRECONDITION_FAILED = "412 Precondition Failed"
Headers = list[tuple[str, str]]
Answer = tuple[str, Headers, bytes]
# On every response with content: a browser must not read a feed or an error as HTML.
NOSNIFF = ("X-Content-Type-Options", "nosniff")

_ETAG = re.compile(r'(W/)?("[^"]*")')  # each tag's `W/` (if weak) and its opaque part
_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'  # entity-tag (RFC 9110 8.8.3)
# A list of them (RFC 9110 5.6.1.2: empty elements and OWS around commas are allowed).
_TAG_LIST = re.compile(rf"[ \t,]*{_TAG}(?:[ \t]*,[ \t,]*{_TAG})*[ \t,]*")
_IMPLICIT_IDENTITY = 0.001  # acceptable when not excluded, but any named coding wins


_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")  # RFC 9110 12.4.2


@lru_cache(maxsize=256)
def accepted_codings(header: str) -> dict[str, float]:
    """Accept-Encoding as {coding: q}; ``*`` and ``identity`` kept as given.

    q is read wherever it stands among a member's parameters; a member whose q is not a
    qvalue (``q=2``, ``q=nan``, ``q=``) is left out, as if not sent.
    """
    weights: dict[str, float] = {}
    for part in header.split(","):
        name, *params = part.split(";")
        name = name.strip().lower()
        if not name:
            continue
        q: float | None = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.fullmatch(value) else None
        if q is not None:
            weights["gzip" if name == "x-gzip" else name] = q
    return weights


def coding_weight(weights: dict[str, float], coding: str) -> float:
    """The q-value of `coding` under RFC 9110 section 12.5.3."""
    if coding in weights:
        return weights[coding]
    star = weights.get("*")
    if coding == IDENTITY:
        return 0.0 if star == 0.0 else _IMPLICIT_IDENTITY
    return star if star is not None else 0.0


def acceptable(coding: str, accept_encoding: str | None) -> bool:
    """Whether a request may be sent `coding` (without Accept-Encoding: identity only, as
    `Route.choose` sends)."""
    if not accept_encoding:
        return coding == IDENTITY
    return coding_weight(accepted_codings(accept_encoding), coding) > 0


@lru_cache(maxsize=256)
def entity_tags(if_none_match: str) -> tuple[str, ...]:
    """The opaque tags (``"..."``, `W/` dropped) of an If-None-Match list; none when the
    value is not a well-formed list, which RFC 9110 (5.5) says to ignore: a tag with
    garbage around it, or `*` among tags, must not give a 304."""
    if not _TAG_LIST.fullmatch(if_none_match):
        return ()
    return tuple(tag for _weak, tag in _ETAG.findall(if_none_match))


@lru_cache(maxsize=256)
def strong_entity_tags(if_match: str) -> frozenset[str]:
    """The strong tags (``"..."``) of an If-Match list, the only ones that can match: weak
    comparison is not allowed there (RFC 9110 13.1.1), and a `W/` tag never matches
    strongly (8.8.3.2). No tag when the value is not a well-formed list.

    RFC 9110 does not say what to do with a malformed If-Match; it can name no tag, so it
    matches nothing and the request gets a 412. Ignoring it, as for If-None-Match, would
    turn a condition the client set into no condition: a 412 is the answer that never
    sends bytes the client asked not to get, and it costs only a plain retry.
    """
    if not _TAG_LIST.fullmatch(if_match):
        return frozenset()
    return frozenset(tag for weak, tag in _ETAG.findall(if_match) if not weak)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY, _LONG_DAY, _MONTH = ("|".join(names) for names in (_DAYS, _LONG_DAYS, _MONTHS))
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
_HTTP_DATES = (  # RFC 9110 5.6.7, case-sensitive: IMF-fixdate, rfc850-date, asctime-date
    re.compile(
        rf"(?P<wd>{_DAY}), (?P<day>\d\d) (?P<month>{_MONTH}) (?P<year>\d{{4}}) {_TIME} GMT",
        re.ASCII,
    ),
    re.compile(
        rf"(?P<long_wd>{_LONG_DAY}), (?P<day>\d\d)-(?P<month>{_MONTH})-(?P<yy>\d\d) {_TIME} GMT",
        re.ASCII,
    ),
    re.compile(
        rf"(?P<wd>{_DAY}) (?P<month>{_MONTH}) (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})",
        re.ASCII,
    ),
)


@lru_cache(maxsize=64)
def parse_http_date(value: str) -> int | None:
    """An HTTP date as POSIX seconds, or None when it is not a valid date.

    Only the three forms of RFC 9110 5.6.7, as written there (a date with no weekday, a
    numeric zone or text after it is no HTTP date, and is ignored); the weekday must be the
    date's. asctime's (``Sun Nov  6 08:49:37 1994``) has no zone, and is read as UTC, as
    every HTTP date is; an RFC 850 year more than 50 years ahead is in the past century.
    """
    for form in _HTTP_DATES:
        match = form.fullmatch(value)
        if match is not None:
            break
    else:
        return None
    fields = match.groupdict()
    if fields.get("yy") is not None:
        this_year = time.gmtime().tm_year
        year = this_year - this_year % 100 + int(fields["yy"])
        if year > this_year + 50:
            year -= 100
    else:
        year = int(fields["year"])
    try:
        parsed = datetime(
            year,
            _MONTHS.index(fields["month"]) + 1,
            int(fields["day"]),  # asctime's " 6" too
            int(fields["hour"]),
            int(fields["minute"]),
            int(fields["second"]),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, hour 24, year 0...
        return None
    weekday = _DAYS.index(fields["wd"]) if fields.get("wd") else _LONG_DAYS.index(fields["long_wd"])
    if parsed.weekday() != weekday:
        return None
    return int(parsed.timestamp())


class Route:
    """One resource's precomputed answers, and the conditional/encoding logic."""

    __slots__ = (
        "_choices",
        "by_etag",
        "failed",
        "identity",
        "modified",
        "not_modified",
        "ok",
        "tags",
        "variants",
    )

    def __init__(self, resource: Resource, max_age: int) -> None:
        last_modified = ("Last-Modified", resource.last_modified)
        shared = [
            ("Vary", "Accept-Encoding"),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Expose-Headers", "ETag"),
        ]
        common = [last_modified, ("Cache-Control", f"public, max-age={max_age}"), *shared]
        # A 412 answers an If-Match or If-Unmodified-Since, which Vary does not name: with
        # the 304's `public, max-age`, a shared cache could keep it and send it to plain GETs.
        refused = [last_modified, ("Cache-Control", "no-store"), *shared]
        self.ok: dict[str, Headers] = {}
        self.not_modified: dict[str, Headers] = {}
        self.failed: dict[str, Headers] = {}
        for variant in resource.variants:
            head = [("Content-Type", resource.media_type)]
            if variant.coding != IDENTITY:
                head.append(("Content-Encoding", variant.coding))
            tag = ("ETag", variant.etag)
            head += [("Content-Length", str(len(variant.body))), tag]
            self.ok[variant.coding] = [*head, *common, NOSNIFF]
            self.not_modified[variant.coding] = [tag, *common]
            self.failed[variant.coding] = [("Content-Length", "0"), tag, *refused, NOSNIFF]
        # Smallest first: among codings of equal q, the one with fewer bytes wins.
        self.variants = sorted(resource.variants, key=lambda v: len(v.body))
        self.identity = resource.identity
        self.by_etag = {v.etag: v for v in resource.variants}
        # This version's tag in every coding, made yet or not: a cut makes its codings as
        # requests ask for them, in each worker apart, and If-Match must not depend on that.
        etag = resource.identity.etag
        self.tags = frozenset([etag, *(coded_etag(etag, coding) for coding in CODINGS)])
        self.modified = resource.modified
        self._choices: dict[str, Variant] = {}

    def choose(self, accept_encoding: str | None) -> Variant:
        """The representation to send for this Accept-Encoding value."""
        if not accept_encoding:
            return self.identity
        chosen = self._choices.get(accept_encoding)
        if chosen is None:
            weights = accepted_codings(accept_encoding)
            best, best_q = self.identity, 0.0
            for variant in self.variants:
                q = coding_weight(weights, variant.coding)
                if q > best_q:
                    best, best_q = variant, q
            chosen = best
            if len(self._choices) < 64:
                self._choices[accept_encoding] = chosen
        return chosen

    def matching(
        self, if_none_match: str, chosen: Variant, accept_encoding: str | None
    ) -> Variant | None:
        """The representation an If-None-Match value names (weak comparison), if any.

        Another coding's tag counts only when this request accepts that coding (RFC 9110
        13.1.2): a 304 with a gzip ETag lets a cache send its gzip bytes to the client.
        """
        if if_none_match == chosen.etag:
            return chosen
        if if_none_match.strip(" \t") == "*":
            return chosen
        tags = entity_tags(if_none_match)
        if chosen.etag in tags:
            return chosen
        for tag in tags:
            variant = self.by_etag.get(tag)
            if variant is not None and acceptable(variant.coding, accept_encoding):
                return variant
        return None

    def matches_strongly(self, if_match: str) -> bool:
        """Whether If-Match lets a request go on: ``*`` (this resource exists), or a list
        naming one of its tags by strong comparison.

        RFC 9110 13.1.1 compares with the selected representation's tag; as for
        If-None-Match, the tag of any coding of this version is taken too. Unlike there,
        the request need not accept that coding: every coding holds the same content, and
        a 200 carries the tag of what it sends, where a 304 lets a cache reuse its body.
        """
        if if_match in self.tags or if_match.strip(" \t") == "*":
            return True
        return not self.tags.isdisjoint(strong_entity_tags(if_match))

    def modified_after(self, if_unmodified_since: str) -> bool:
        """True when If-Unmodified-Since is a valid date earlier than the Last-Modified a
        response sends now (never later than now); an invalid date is ignored (RFC 9110
        13.1.4)."""
        since = parse_http_date(if_unmodified_since)
        return since is not None and min(self.modified, int(time.time())) > since

    def answer(self, environ: WSGIEnvironment) -> Answer:
        """Status, headers and body for a GET (the caller drops the body for HEAD)."""
        accept_encoding = environ.get("HTTP_ACCEPT_ENCODING")
        chosen = self.choose(accept_encoding)
        # RFC 9110 13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else
        # If-Modified-Since.
        if_match = environ.get("HTTP_IF_MATCH")
        if if_match is not None:
            failed = not self.matches_strongly(if_match)
        else:
            unmodified_since = environ.get("HTTP_IF_UNMODIFIED_SINCE")
            failed = unmodified_since is not None and self.modified_after(unmodified_since)
        if failed:
            return PRECONDITION_FAILED, self._dated(self.failed[chosen.coding]), b""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            matched = self.matching(if_none_match, chosen, accept_encoding)
            if matched is not None:
                return NOT_MODIFIED, self._dated(self.not_modified[matched.coding]), b""
        else:
            since = environ.get("HTTP_IF_MODIFIED_SINCE")
            if since is not None and self.unmodified_since(since):
                return NOT_MODIFIED, self._dated(self.not_modified[chosen.coding]), b""
        return OK, self._dated(self.ok[chosen.coding]), chosen.body

    def _dated(self, headers: Headers) -> Headers:
        """`headers`, with a Last-Modified no later than now: an entry dated in the future (a
        scheduled story, a time read without its zone) must not date the feed in the future,
        which RFC 9110 (8.8.2.1) forbids. The usual case is the precomputed list as it is."""
        now = time.time()
        if self.modified <= now:
            return headers
        stamp = http_date(int(now))
        return [(name, stamp if name == "Last-Modified" else value) for name, value in headers]

    def unmodified_since(self, value: str) -> bool:
        """True when If-Modified-Since is exactly Last-Modified (nginx's `exact`).

        A later date is not enough: a changed feed's Last-Modified can be earlier than the
        `Date` of a response a cache saw before the change (it moves one second past the old
        time, see `files.advanced`), and RFC 9110 13.1.3 lets a cache send that `Date`.
        """
        since = parse_http_date(value)
        return since == self.modified and since <= time.time()


class RouteTable:
    """The compiled routes of the current snapshot, recompiled when the version changes."""

    def __init__(self, source: SnapshotSource, max_age: int) -> None:
        self.source = source
        self.max_age = max_age
        self._compiled: tuple[Snapshot, dict[str, Route], dict[str, tuple[Feed, str]]] | None
        self._compiled = None

    def lookup(self) -> tuple[Snapshot, dict[str, Route], dict[str, tuple[Feed, str]]] | None:
        """(snapshot, routes by path, feeds by path) now, or None before the first build."""
        snapshot = self.source.current()
        if snapshot is None:
            return None
        compiled = self._compiled
        if compiled is None or compiled[0] is not snapshot:
            compiled = (snapshot, compile_routes(snapshot, self.max_age), feed_paths(snapshot))
            self._compiled = compiled
        return compiled

    def routes(self) -> dict[str, Route] | None:
        """Routes by request path (None before the first build)."""
        compiled = self.lookup()
        return compiled[1] if compiled is not None else None

    def caught_up(self, answer: Answer, environ: WSGIEnvironment) -> bool:
        """Whether a newer version was taken because `answer` refused the request's tag: a
        200 despite an If-None-Match, or a 412 for an If-Match. The tag may be that of a
        version another worker already serves (workers look for a new one only every
        second): answer again from it rather than send the client back to the old one."""
        status = answer[0]
        tag_refused = status == OK and "HTTP_IF_NONE_MATCH" in environ
        if not (tag_refused or status == PRECONDITION_FAILED):
            return False
        before = self.source.current()
        self.source.catch_up()
        return self.source.current() is not before


def compile_routes(snapshot: Snapshot, max_age: int) -> dict[str, Route]:
    """A route per output path (``/all.rss``...), and ``/`` for the index page."""
    routes = {f"/{path}": Route(res, max_age) for path, res in snapshot.resources.items()}
    index = routes.get(f"/{INDEX_PATH}")
    if index is not None:
        routes["/"] = index
    return routes


def feed_paths(snapshot: Snapshot) -> dict[str, tuple[Feed, str]]:
    """Each feed path with its feed and format suffix (for ``?limit``)."""
    return {
        f"/{feed.info.path_stem}{suffix}": (feed, suffix)
        for feed in snapshot.site.feeds
        for suffix in FEED_FORMATS
    }


# RFC 9110 7.2: uri-host [ ":" port ], where uri-host is an IP literal or a reg-name
# (unreserved, %-escapes, sub-delims but the comma: two Host lines arrive joined by one).
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+;=%-]*)(?::[0-9]*)?")


def valid_host(environ: WSGIEnvironment) -> bool:
    """Whether the request's Host is one RFC 9112 3.2 lets a server answer: present in an
    HTTP/1.1 request (1.0 may leave it out), given once, and a host with an optional port.
    Anything else must get a 400; feedpub writes its links from `base_url`, never from Host,
    so this is about answering as HTTP requires, not about what is served."""
    host = environ.get("HTTP_HOST")
    if host is None:
        return environ.get("SERVER_PROTOCOL") != "HTTP/1.1"
    return _HOST.fullmatch(host) is not None


def encoded_slash(environ: WSGIEnvironment) -> bool:
    """Whether the path as sent holds ``%2F``: PATH_INFO is decoded, so ``/topics%2Fai.rss``
    reads ``/topics/ai.rss``, but an encoded slash is not a folder separator (RFC 3986 2.2).
    gunicorn and werkzeug keep the path as sent in RAW_URI or REQUEST_URI."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if "%" not in raw:
        return False
    path = raw.partition("?")[0]
    return "%2f" in path or "%2F" in path


class FastPath:
    """WSGI middleware: plain GET/HEAD of a known path never reaches Flask (with a query
    string, only one that cannot name ``limit``)."""

    def __init__(self, app: WSGIApplication, table: RouteTable, access_log: AccessLog | None):
        self.app = app
        self.table = table
        self.access_log = access_log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "")
        # A query that may name `limit` goes to Flask, escaped ones too (`%6Cimit` is `limit`).
        if (method == "GET" or method == "HEAD") and "limit" not in query and "%" not in query:
            routes = self.table.routes()
            route = routes.get(environ.get("PATH_INFO", "")) if routes is not None else None
            if route is not None and not encoded_slash(environ) and valid_host(environ):
                answer = route.answer(environ)
                if self.table.caught_up(answer, environ):
                    return self(environ, start_response)  # from the newer version
                status, headers, body = answer
                start_response(status, list(headers))
                if method == "HEAD":
                    body = b""
                if self.access_log is not None:
                    self.access_log.log(environ, status, len(body), started)
                return [body]
        if self.access_log is None:
            return self.app(environ, start_response)
        return self._logged(environ, start_response, started)

    def _logged(
        self, environ: WSGIEnvironment, start_response: StartResponse, started: float
    ) -> Iterable[bytes]:
        seen: list[Any] = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., Any]:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        status, headers = seen if seen else ("500 Internal Server Error", [])
        length = next((v for k, v in headers if k.lower() == "content-length"), "0")
        size = 0 if environ["REQUEST_METHOD"] == "HEAD" else int(length or 0)
        assert self.access_log is not None
        self.access_log.log(environ, status, size, started)
        return result
