"""The feed server's Flask app: `create_app(config)` builds it, nothing lives at module level.

Every byte served comes from the in-memory snapshot (the same `render_site`
output `feedpub build` writes), never from the filesystem by a request path.
Plain GET/HEAD of a feed is answered by `FastPath` before Flask; Flask handles
``?limit`` (cuts made on demand, see `cuts`), /healthz, OPTIONS, and every error as
a short plain-text body.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import Flask, Response, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from feedpub.config import Config
from feedpub.publish.accesslog import AccessLog
from feedpub.publish.builder import Builder
from feedpub.publish.cuts import Cuts
from feedpub.publish.fastpath import (
    NOSNIFF,
    Answer,
    FastPath,
    Route,
    RouteTable,
    encoded_slash,
    valid_host,
)
from feedpub.publish.snapshot import SnapshotSource

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger("feedpub.serve")

ALLOWED = "GET, HEAD, OPTIONS"
_NUMBER = re.compile(r"[1-9][0-9]{0,5}")  # canonical: no zeros, signs or spaces before


@dataclass(slots=True)
class ServerState:
    """What the app serves from; `builder` is set when the app builds in-process."""

    config: Config
    source: SnapshotSource
    table: RouteTable
    builder: Builder | None = None


def parse_limit(values: list[str], max_items: int) -> int | str:
    """The ``limit`` parameter as an int, or the message of a 400."""
    if len(values) != 1:
        return "limit: give it once"
    value = values[0]
    if not _NUMBER.fullmatch(value) or int(value) > max_items:
        return f"limit: must be a whole number from 1 to {max_items}, written plainly"
    return int(value)


def plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """A short text/plain response (errors never show a page or a stack trace)."""
    response = Response(f"{text}\n", status=f"{status} {HTTPStatus(status).phrase}")
    response.mimetype = "text/plain"
    response.headers.update(headers or {})
    return response


class PreparedResponse(Response):
    """A response sent with exactly its headers: werkzeug would drop Last-Modified (and the
    other "entity" headers) from a 304, which the fast path's 304s all carry."""

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        return Headers(self.headers)


def _from_answer(answer: Answer) -> Response:
    status, headers, body = answer
    response = PreparedResponse(body, status=status)  # its phrase, not werkzeug's upper case
    response.headers = Headers(headers)  # exactly the fast path's headers, no defaults
    return response


def create_app(config: Config, source: SnapshotSource | None = None) -> Flask:
    """The feed server app; without `source` it builds the records once, in-process."""
    builder = None
    if source is None:
        builder = Builder(config)
        builder.poll()
        source = builder
    table = RouteTable(source, config.server.max_age)
    state = ServerState(config, source, table, builder)
    cuts = Cuts(config.server.max_age)

    app = Flask(__name__)
    app.url_map.merge_slashes = False  # `//all.rss` is a 404, not a redirect
    app.extensions["feedpub"] = state
    methods = ["GET", "HEAD", "OPTIONS"]

    @app.before_request  # (first: whatever the path or method)
    def host_check() -> Response | None:
        if valid_host(request.environ):
            return None
        return plain(400, "400 Bad Request: a missing, repeated or malformed Host header")

    @app.before_request  # (before routing's 404: no route matches a path that is not `/...`)
    def server_options() -> Response | None:
        """`OPTIONS *` asks what the server can do, not about a resource (RFC 9110 9.3.7)."""
        if request.method != "OPTIONS" or request.environ.get("PATH_INFO") != "*":
            return None
        response = Response(status=204)
        del response.headers["Content-Type"]
        response.headers["Allow"] = ALLOWED
        return response

    @app.route("/healthz", methods=methods, provide_automatic_options=False)
    def healthz() -> Response:
        if request.method == "OPTIONS":
            return _options()
        snapshot = source.current()
        body = dict(source.status())
        body["serving"] = snapshot.version if snapshot is not None else None
        if snapshot is None and body.get("status", "ok") == "ok":
            body["status"] = "starting"  # this worker has not loaded a version yet
        body.setdefault("status", "unknown")  # the builder's record of it is gone or unreadable
        response = Response(
            json.dumps(body, indent=1) + "\n",
            status=200 if snapshot is not None else 503,
            mimetype="application/json",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/", defaults={"path": ""}, methods=methods, provide_automatic_options=False)
    @app.route("/<path:path>", methods=methods, provide_automatic_options=False)
    def resource(path: str) -> Response:
        compiled = table.lookup()
        if compiled is None:
            return plain(503, "503 Service Unavailable: no feeds built yet", {"Retry-After": "5"})
        snapshot, routes, feeds = compiled
        key = request.environ.get("PATH_INFO", "")  # as sent: werkzeug strips leading `//`
        route = routes.get(key)
        if route is None or encoded_slash(request.environ):
            return plain(404, "404 Not Found")
        if request.method == "OPTIONS":
            return _options()
        if key not in feeds:  # no query parameter means anything to a page or a list
            return answered(route, path)
        try:
            values = request.args.getlist("limit")
        except UnicodeDecodeError:  # raw bytes sent unescaped: werkzeug decodes strictly
            return plain(400, "400 Bad Request: the query string is not UTF-8")
        if values:
            limit = parse_limit(values, config.max_items)
            if isinstance(limit, str):
                return plain(400, f"400 Bad Request: {limit}")
            feed, suffix = feeds[key]
            if limit < len(feed.articles):
                coding = route.choose(request.environ.get("HTTP_ACCEPT_ENCODING")).coding
                cut = cuts.get(snapshot.version, key, feed, suffix, limit, route.modified)
                route = cut.route(coding)  # the coding the whole feed is sent in, made once
        return answered(route, path)

    def answered(route: Route, path: str) -> Response:
        """`route`'s answer, or the newer version's when the request named its tag (see
        `RouteTable.caught_up`)."""
        answer = route.answer(request.environ)
        if table.caught_up(answer, request.environ):
            return resource(path)
        return _from_answer(answer)

    @app.after_request  # (errors and `OPTIONS *` too; the fast path's headers have it)
    def nosniff(response: Response) -> Response:
        if response.status_code != 304:
            response.headers.setdefault(*NOSNIFF)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        headers = {}
        if isinstance(error, MethodNotAllowed):
            if not served(request.environ):  # POST /nope: there is nothing there
                return plain(404, "404 Not Found")
            headers["Allow"] = ALLOWED
        return plain(code, f"{code} {error.name}", headers)

    def served(environ: WSGIEnvironment) -> bool:
        """Whether the path is one this server answers (any, before the first build)."""
        if encoded_slash(environ):
            return False
        path = environ.get("PATH_INFO", "")
        routes = table.routes()
        return path == "/healthz" or routes is None or path in routes

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return plain(500, "500 Internal Server Error")

    access_log = AccessLog() if config.server.access_log else None
    app.wsgi_app = FastPath(app.wsgi_app, table, access_log)  # type: ignore[method-assign]
    return app


def _options() -> Response:
    """A CORS preflight answer: feeds may be read, conditionally, from any origin."""
    response = Response(status=204)
    del response.headers["Content-Type"]  # no content, so no type (werkzeug adds text/html)
    response.headers.update(
        {
            "Allow": ALLOWED,
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": ALLOWED,
            "Access-Control-Allow-Headers": (
                "If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since"
            ),
            "Access-Control-Max-Age": "86400",
        }
    )
    return response
