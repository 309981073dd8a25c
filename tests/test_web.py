"""The feed server app through Flask's test client: bytes, HTTP caching, encodings, errors."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import brotli
import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedpub import records as records_module
from feedpub.build import run_build
from feedpub.config import Config, ServerConfig
from feedpub.errors import BuildError
from feedpub.publish import builder as builder_module
from feedpub.publish import cuts as cuts_module
from feedpub.publish.accesslog import AccessLog
from feedpub.publish.builder import Builder
from feedpub.publish.fastpath import (
    Route,
    accepted_codings,
    coding_weight,
    parse_http_date,
    strong_entity_tags,
)
from feedpub.publish.snapshot import (
    CODINGS,
    IDENTITY,
    DirectorySource,
    Resource,
    SnapshotDir,
    Variant,
    compressed,
    make_snapshot,
    strong_etag,
)
from feedpub.publish.web import ServerState, create_app

from .conftest import base_record, config_for

Write = Callable[..., Path]
FEEDS = ["/all.rss", "/all.atom", "/all.json", "/topics/ai.rss", "/topics/space.json"]


def seed(write_record: Write, count: int = 4) -> None:
    for i in range(count):
        write_record(
            f"r{i}.md",
            base_record(
                title=f"Story {i}",
                webUrl=f"https://example.org/{i}",
                publishedDateTime=f"2026-01-0{i + 1}T10:00:00Z",
                topics=["AI", "Space"] if i % 2 else ["AI"],
            ),
            body=f"Body of story {i}.",
        )


@pytest.fixture
def config(tmp_path: Path, records_dir: Path) -> Config:
    server = ServerConfig(max_age=120, access_log=False)
    return config_for(tmp_path, records_dir, max_items=10, server=server)


@pytest.fixture
def app(config: Config, write_record: Write) -> Flask:
    seed(write_record)
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def state(app: Flask) -> ServerState:
    result: ServerState = app.extensions["feedpub"]
    return result


def builder(app: Flask) -> Builder:
    found = state(app).builder
    assert found is not None
    return found


# -- the same paths and bytes as `feedpub build` ---------------------------------------------


def test_serves_exactly_the_files_of_a_build(client: FlaskClient, config: Config, tmp_path: Path):
    run_build(config.replace(out=tmp_path / "static"), lambda report: None)
    static = tmp_path / "static"
    files = json.loads((static / ".feedpub-manifest.json").read_text())
    assert "all.rss" in files and "topics/space.atom" in files
    for relative in files:
        response = client.get(f"/{relative}")
        assert response.status_code == 200, relative
        assert response.data == (static / relative).read_bytes(), relative
    assert client.get("/").data == (static / "index.html").read_bytes()


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/all.rss", "application/rss+xml; charset=utf-8"),
        ("/all.atom", "application/atom+xml; charset=utf-8"),
        ("/topics/ai.json", "application/feed+json; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ],
)
def test_media_types(client: FlaskClient, path: str, media_type: str):
    assert client.get(path).headers["Content-Type"] == media_type


def test_caching_headers(client: FlaskClient):
    response = client.get("/all.rss")
    headers = response.headers
    assert headers["ETag"].startswith('"') and headers["ETag"].endswith('"')
    assert headers["Cache-Control"] == "public, max-age=120"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert int(headers["Content-Length"]) == len(response.data)
    assert headers["Last-Modified"] == "Sun, 04 Jan 2026 10:00:00 GMT"  # the newest entry
    assert client.get("/topics/space.rss").headers["Last-Modified"] == headers["Last-Modified"]


def test_etags_come_from_the_bytes(config: Config, write_record: Write, tmp_path: Path):
    seed(write_record)
    first = create_app(config).test_client()
    second = create_app(config.replace(out=tmp_path / "elsewhere")).test_client()
    for path in FEEDS:
        assert first.get(path).headers["ETag"] == second.get(path).headers["ETag"]
    assert first.get("/all.rss").headers["ETag"] != first.get("/all.atom").headers["ETag"]


# -- conditional requests ------------------------------------------------------------------


def test_if_none_match_gives_an_empty_304(client: FlaskClient):
    full = client.get("/all.rss")
    etag = full.headers["ETag"]
    for value in (etag, f'"nope", W/{etag}', "*", f'"a", {etag} , "b"'):
        response = client.get("/all.rss", headers={"If-None-Match": value})
        assert response.status_code == 304, value
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "public, max-age=120"
        assert response.headers["Last-Modified"] == full.headers["Last-Modified"]
        assert response.headers["Vary"] == "Accept-Encoding"
        assert "Content-Length" not in response.headers
    assert client.get("/all.rss", headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since(client: FlaskClient):
    last_modified = client.get("/all.atom").headers["Last-Modified"]
    stamp = parsedate_to_datetime(last_modified)

    def status(value: str, **extra: str) -> int:
        headers = {"If-Modified-Since": value, **extra}
        return client.get("/all.atom", headers=headers).status_code

    assert status(last_modified) == 304
    assert status(time.asctime(stamp.utctimetuple())) == 304  # RFC 9110 5.6.7: read as UTC
    # only the exact date: a later one may be a cache's `Date` from before a change that
    # moved Last-Modified forward by less (RFC 9110 13.1.3; nginx's `if_modified_since exact`)
    assert status(format_datetime(stamp + timedelta(seconds=1), usegmt=True)) == 200
    assert status(format_datetime(stamp + timedelta(hours=1), usegmt=True)) == 200
    assert status(format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)) == 200
    assert status(format_datetime(stamp.replace(year=stamp.year - 1), usegmt=True)) == 200
    assert status("Sunday, 06-Nov-94 08:49:37 GMT") == 200  # valid obsolete form, older
    assert status("not a date") == 200
    assert status("") == 200
    # If-None-Match takes precedence: a mismatch means 200 whatever the date says
    assert status(last_modified, **{"If-None-Match": '"other"'}) == 200


def test_strong_entity_tags_of_an_if_match():
    assert strong_entity_tags('"a"') == {'"a"'}
    assert strong_entity_tags(' , "a" ,,\t"b" , ') == {'"a"', '"b"'}
    assert strong_entity_tags('"a,b", "c"') == {'"a,b"', '"c"'}
    assert strong_entity_tags('W/"a", "b"') == {'"b"'}  # a weak tag never matches strongly
    assert strong_entity_tags('W/"a"') == frozenset()
    for malformed in ("a", '"a"junk', '"a" "b"', 'w/"a"', 'W/ "a"', '*, "a"', '"a', '"a b"', ""):
        assert strong_entity_tags(malformed) == frozenset(), malformed


def route_of(modified: int) -> tuple[Route, Variant, Variant]:
    """A route for a small feed dated `modified`, with its identity and gzip forms."""
    body = b"<rss>" + b"<item>story</item>" * 50 + b"</rss>"
    identity = Variant(IDENTITY, body, strong_etag(body))
    packed = compressed(identity, "gzip")
    assert packed is not None
    resource = Resource("all.rss", "application/rss+xml", modified, (identity, packed))
    return Route(resource, 60), identity, packed


STAMP = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT
DATES = {
    "before": "Sun, 06 Nov 1994 08:49:36 GMT",
    "at": "Sun, 06 Nov 1994 08:49:37 GMT",
    "after": "Sunday, 06-Nov-94 08:49:38 GMT",
    "bad": "sun, 06 nov 1994 08:49:36 gmt",  # not an HTTP date: ignored
}


PRECONDITIONS: list[tuple[dict[str, str], int]] = [
    ({}, 200),
    ({"If-Match": "{tag}"}, 200),
    ({"If-Match": '"other", {tag}'}, 200),
    ({"If-Match": "*"}, 200),
    ({"If-Match": " * "}, 200),
    ({"If-Match": "{gz}"}, 200),  # any coding's tag of this version
    ({"If-Match": "W/{tag}"}, 412),  # strong comparison
    ({"If-Match": '"other"'}, 412),
    ({"If-Match": "{tag}junk"}, 412),  # malformed: matches nothing
    ({"If-Match": "*, {tag}"}, 412),
    ({"If-Match": ""}, 412),
    ({"If-Unmodified-Since": "before"}, 412),
    ({"If-Unmodified-Since": "at"}, 200),
    ({"If-Unmodified-Since": "after"}, 200),
    ({"If-Unmodified-Since": "bad"}, 200),
    ({"If-Match": "{tag}", "If-Unmodified-Since": "before"}, 200),  # If-Match wins
    ({"If-Match": '"other"', "If-Unmodified-Since": "after"}, 412),
    ({"If-Match": "{tag}", "If-None-Match": "{tag}"}, 304),
    ({"If-Match": '"other"', "If-None-Match": "{tag}"}, 412),  # If-Match first
    ({"If-Unmodified-Since": "before", "If-None-Match": "{tag}"}, 412),
    ({"If-Unmodified-Since": "before", "If-Modified-Since": "at"}, 412),
    ({"If-Unmodified-Since": "after", "If-Modified-Since": "at"}, 304),
]


def test_preconditions_in_the_order_of_rfc_9110():
    route, identity, packed = route_of(STAMP)
    for headers, expected in PRECONDITIONS:
        environ = {}
        for name, value in headers.items():
            value = value.format(tag=identity.etag, gz=packed.etag)
            environ[f"HTTP_{name.upper().replace('-', '_')}"] = DATES.get(value, value)
        status, sent, body = route.answer(environ)
        assert int(status[:3]) == expected, headers
        if expected != 412:
            continue
        assert status == "412 Precondition Failed" and body == b""
        assert dict(sent) == {
            "Content-Length": "0",
            "ETag": identity.etag,
            "Last-Modified": DATES["at"],
            "Cache-Control": "no-store",  # it answers headers Vary does not name
            "Vary": "Accept-Encoding",
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "ETag",
            "X-Content-Type-Options": "nosniff",
        }, headers


def test_a_412_has_the_tag_of_the_representation_it_would_have_sent():
    route, identity, packed = route_of(STAMP)
    gzip_asked = {"HTTP_ACCEPT_ENCODING": "gzip"}
    status, sent, _ = route.answer({**gzip_asked, "HTTP_IF_MATCH": f"W/{packed.etag}"})
    assert status.startswith("412") and dict(sent)["ETag"] == packed.etag
    for tag in (identity.etag, packed.etag):  # either coding's tag, whatever is sent
        for extra in ({}, gzip_asked):
            status, sent, _ = route.answer({**extra, "HTTP_IF_MATCH": tag})
            assert status == "200 OK", (tag, extra)
    # a coding not made yet (a cut makes its codings on demand, in each worker apart)
    alone = Route(Resource("all.rss", "application/rss+xml", STAMP, (identity,)), 60)
    assert alone.answer({"HTTP_IF_MATCH": packed.etag})[0] == "200 OK"


def test_if_unmodified_since_reads_a_future_last_modified_as_sent():
    """Last-Modified is never later than now (RFC 9110 8.8.2.1): a feed with an entry dated
    tomorrow says "now", and If-Unmodified-Since is held against that."""
    now = int(time.time())
    route, _, _ = route_of(now + 86400)

    def status(since: int) -> str:
        stamp = format_datetime(datetime.fromtimestamp(since, UTC), usegmt=True)
        return route.answer({"HTTP_IF_UNMODIFIED_SINCE": stamp})[0]

    assert status(now + 60) == "200 OK"
    assert status(now - 3600) == "412 Precondition Failed"


# The fast path, Flask (a query with `%` goes there) and a cut, for feeds and pages.
PRECONDITION_PATHS = ["/all.rss", "/all.rss?cb=%41", "/all.rss?limit=2", "/", "/feeds.opml"]


@pytest.mark.parametrize("path", PRECONDITION_PATHS)
def test_if_match_and_if_unmodified_since_through_the_app(client: FlaskClient, path: str):
    full = client.get(path)
    etag, stamp = full.headers["ETag"], full.headers["Last-Modified"]
    earlier = format_datetime(parsedate_to_datetime(stamp) - timedelta(seconds=1), usegmt=True)
    cases = [
        ({"If-Match": etag}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": f"W/{etag}"}, 412),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": f"{etag}junk"}, 412),
        ({"If-Unmodified-Since": earlier}, 412),
        ({"If-Unmodified-Since": stamp}, 200),
        ({"If-Unmodified-Since": "yesterday"}, 200),
        ({"If-Match": etag, "If-Unmodified-Since": earlier}, 200),
    ]
    for method in ("GET", "HEAD"):
        for headers, expected in cases:
            response = client.open(path, method=method, headers=headers)
            assert response.status_code == expected, (method, headers)
            if expected == 200:
                assert response.data == (full.data if method == "GET" else b"")
                continue
            assert response.data == b""
            assert response.headers["ETag"] == etag
            assert response.headers["Content-Length"] == "0"
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Vary"] == "Accept-Encoding"
            assert response.headers["Last-Modified"] == stamp
            assert "Content-Type" not in response.headers
    gz = client.get(path, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    assert gz == etag[:-1] + '-gz"'
    asks_gzip = {"Accept-Encoding": "gzip"}
    for tag, extra in ((gz, {}), (gz, asks_gzip), (etag, asks_gzip)):  # any coding's tag
        assert client.get(path, headers={"If-Match": tag, **extra}).status_code == 200, extra
    refused = client.get(path, headers={"If-Match": f"W/{gz}", **asks_gzip})
    assert refused.status_code == 412 and refused.headers["ETag"] == gz


def test_the_fast_path_and_flask_answer_alike(client: FlaskClient):
    """Status line, headers and body, for a 200, a 304 and a 412 (werkzeug's phrase was in
    upper case: `304 NOT MODIFIED`)."""
    gzip_asked = {"Accept-Encoding": "gzip"}
    for headers, status in [
        ({}, "200 OK"),
        ({"If-None-Match": "*"}, "304 Not Modified"),
        ({"If-Match": '"other"'}, "412 Precondition Failed"),
        ({"If-Match": '"other"', **gzip_asked}, "412 Precondition Failed"),
        ({"If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}, "412 Precondition Failed"),
    ]:
        for method in ("GET", "HEAD"):
            fast = client.open("/all.rss", method=method, headers=headers)
            slow = client.open("/all.rss?cb=%41", method=method, headers=headers)
            assert fast.status == slow.status == status, (method, headers)
            assert list(fast.headers) == list(slow.headers), (method, headers)
            assert fast.data == slow.data, (method, headers)


def test_a_412_only_where_the_answer_would_be_a_2xx(client: FlaskClient):
    """RFC 9110 13.2.1: preconditions are ignored when the answer without them is no 2xx, so
    a path that is not served is a 404 even for `If-Match: *`."""
    for header in ({"If-Match": "*"}, {"If-Match": '"x"'}, {"If-Unmodified-Since": DATES["at"]}):
        assert client.get("/nope.rss", headers=header).status_code == 404
        assert client.delete("/all.rss", headers=header).status_code == 405
        assert client.get("/all.rss?limit=0", headers=header).status_code == 400
        served = 200 if header == {"If-Match": "*"} else 412
        assert client.get("/topics/ai.rss", headers=header).status_code == served


# -- content codings -----------------------------------------------------------------------


def test_gzip_round_trip_and_its_own_etag(client: FlaskClient):
    plain = client.get("/all.rss")
    packed = client.get("/all.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)


def test_if_none_match_matches_a_representation_the_request_accepts(client: FlaskClient):
    plain_etag = client.get("/all.rss").headers["ETag"]
    gz_etag = client.get("/all.rss", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    asks_gzip = {"Accept-Encoding": "gzip"}
    for etag, extra in ((plain_etag, asks_gzip), (gz_etag, asks_gzip)):
        response = client.get("/all.rss", headers={"If-None-Match": etag, **extra})
        assert response.status_code == 304
        assert response.headers["ETag"] == etag
    # RFC 9110 13.1.2: a coding the client did not accept is not its representation; a 304
    # with the gzip ETag would let a shared cache send gzip to a client that refused it
    refusals = [
        (gz_etag, {}),
        (gz_etag, {"Accept-Encoding": "identity"}),
        (gz_etag, {"Accept-Encoding": "br, gzip;q=0"}),
        (plain_etag, {"Accept-Encoding": "gzip, identity;q=0"}),
    ]
    for etag, extra in refusals:
        response = client.get("/all.rss", headers={"If-None-Match": etag, **extra})
        assert response.status_code == 200, extra
        assert response.headers["ETag"] != etag


def test_brotli_when_asked(client: FlaskClient):
    plain = client.get("/all.json")
    packed = client.get("/all.json", headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert packed.headers["ETag"].endswith('-br"')
    assert brotli.decompress(packed.data) == plain.data


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0.9, gzip;q=0.2", "br"),
        ("br;q=0, gzip;q=0", None),
        ("identity;q=0, gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP;Q=0.7", "gzip"),
        ("deflate, compress", None),
        ("identity", None),
        ("gzip;q=nonsense", None),
        ("*;q=0.5, br;q=0", "gzip-or-zstd"),
    ],
)
def test_coding_by_q_values(client: FlaskClient, accept: str, expected: str | None):
    coding = client.get("/all.rss", headers={"Accept-Encoding": accept}).headers.get(
        "Content-Encoding"
    )
    if expected == "gzip-or-zstd":
        assert coding in ("gzip", "zstd")
    else:
        assert coding == expected


def test_zstd_when_the_library_is_present(client: FlaskClient):
    if "zstd" not in CODINGS:
        pytest.skip("zstandard not installed")
    import zstandard

    plain = client.get("/all.atom")
    packed = client.get("/all.atom", headers={"Accept-Encoding": "zstd"})
    assert packed.headers["Content-Encoding"] == "zstd"
    assert zstandard.ZstdDecompressor().decompress(packed.data) == plain.data


def test_negotiation_helpers():
    weights = accepted_codings("gzip;q=0.5, *;q=0")
    assert coding_weight(weights, "gzip") == 0.5
    assert coding_weight(weights, "br") == 0.0
    assert coding_weight(weights, "identity") == 0.0
    assert coding_weight(accepted_codings("br"), "identity") > 0
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777  # asctime: UTC
    assert parse_http_date("yesterday") is None
    for loose in ("06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 +0000",
                  "Mon, 06 Nov 1994 08:49:37 GMT", "sun, 06 nov 1994 08:49:37 gmt",
                  "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT"):  # fmt: skip
        assert parse_http_date(loose) is None, loose


def test_head_has_the_headers_without_the_body(client: FlaskClient):
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        get = client.get("/topics/ai.rss", headers=headers)
        head = client.head("/topics/ai.rss", headers=headers)
        assert head.status_code == 200
        assert head.data == b""
        for name in ("ETag", "Content-Type", "Content-Length", "Last-Modified", "Vary"):
            assert head.headers.get(name) == get.headers.get(name)


# -- ?limit --------------------------------------------------------------------------------


def test_limit_gives_the_newest_entries(client: FlaskClient):
    full = client.get("/all.rss")
    cut = client.get("/all.rss?limit=2")
    assert cut.status_code == 200
    titles = [e.title for e in feedparser.parse(cut.data).entries]
    assert titles == [e.title for e in feedparser.parse(full.data).entries][:2]
    assert cut.headers["ETag"] != full.headers["ETag"]
    assert cut.headers["Last-Modified"] == full.headers["Last-Modified"]
    again = client.get("/all.rss?limit=2", headers={"If-None-Match": cut.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"] == "public, max-age=120"
    assert again.headers["Last-Modified"] == cut.headers["Last-Modified"]  # as other 304s
    assert "Content-Type" not in again.headers
    packed = client.get("/all.rss?limit=2", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(packed.data) == cut.data
    assert len(json.loads(client.get("/topics/ai.json?limit=1").data)["items"]) == 1


def test_a_cut_has_the_last_modified_of_the_whole_feed(app: Flask, records_dir: Path):
    """Not its own newest entry's: that one does not move on an edit, and goes back when the
    newest entry is removed, so a poller sending If-Modified-Since would get a 304."""
    client = app.test_client()
    before = client.get("/all.rss?limit=2").headers["Last-Modified"]
    (records_dir / "r3.md").unlink()  # the newest story retracted
    assert builder(app).poll() is True
    full = client.get("/all.rss").headers["Last-Modified"]
    cut = client.get("/all.rss?limit=2")
    assert cut.headers["Last-Modified"] == full
    assert parsedate_to_datetime(full) > parsedate_to_datetime(before)
    since = {"If-Modified-Since": before}
    assert client.get("/all.rss?limit=2", headers=since).status_code == 200
    assert client.get("/all.rss?limit=2", headers={"If-Modified-Since": full}).status_code == 304


def test_a_cut_is_compressed_only_in_the_codings_asked_for(client: FlaskClient, monkeypatch):
    """Each cut is made on demand: three compressions for a request that needs one made
    `?limit` a cheap way to load the server's CPU."""
    calls: list[str] = []
    for coding, (suffix, compress) in list(CODINGS.items()):

        def counted(data: bytes, coding: str = coding, compress: Callable = compress) -> bytes:
            calls.append(coding)
            return compress(data)

        monkeypatch.setitem(CODINGS, coding, (suffix, counted))
    plain = client.get("/all.rss?limit=2")
    assert plain.status_code == 200 and calls == []
    for _ in range(3):
        packed = client.get("/all.rss?limit=2", headers={"Accept-Encoding": "gzip"})
        assert gzip.decompress(packed.data) == plain.data
    assert calls == ["gzip"]  # once, then remembered
    packed = client.get("/all.rss?limit=2", headers={"Accept-Encoding": "br"})
    assert brotli.decompress(packed.data) == plain.data
    assert calls == ["gzip", "br"]


def test_a_cut_matches_the_etag_of_any_coding_made_that_the_request_accepts(
    client: FlaskClient,
):
    """As for a whole feed: a cache that kept the gzip form of a cut and now also accepts br
    revalidates it with a 304, whichever coding a fresh answer would use."""
    gzipped = client.get("/all.rss?limit=2", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    for path in ("/all.rss", "/all.rss?limit=2"):
        first = client.get(path, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
        again = client.get(path, headers={"Accept-Encoding": "gzip, br", "If-None-Match": first})
        assert again.status_code == 304, path
        refused = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": first})
        assert refused.status_code == 200, path


def test_a_cut_is_rendered_once_for_concurrent_requests(app: Flask, monkeypatch):
    renders: list[int] = []
    real_render = cuts_module.render_feed

    def slow(*args: Any) -> bytes:
        renders.append(1)
        time.sleep(0.2)
        return real_render(*args)

    monkeypatch.setattr(cuts_module, "render_feed", slow)
    answers: list[bytes] = []

    def fetch() -> None:
        answers.append(app.test_client().get("/all.json?limit=3").data)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(answers) == 8 and len(set(answers)) == 1
    assert len(json.loads(answers[0])["items"]) == 3
    assert renders == [1]


def test_limit_beyond_the_feed_is_the_full_feed(client: FlaskClient):
    full = client.get("/all.atom")
    assert client.get("/all.atom?limit=10").headers["ETag"] == full.headers["ETag"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-1", "limit=abc", "limit=11", "limit=99999999999999999999", "limit=",
     "limit=1&limit=2", "limit=%201", "limit=1.5", "limit=02", "limit=0002", "limit=%2B2",
     "limit=+2", "limit=2%20", "limit=00"],
)  # fmt: skip
def test_bad_limits_are_400(client: FlaskClient, query: str):
    response = client.get(f"/all.rss?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert b"limit" in response.data and len(response.data) < 200


@pytest.mark.parametrize("name", ["%6Cimit", "lim%69t", "%6C%69%6D%69%74", "LIMIT"])
def test_limit_is_read_whatever_the_escaping_of_its_name(client: FlaskClient, name: str):
    """`%6Cimit` is `limit` (RFC 3986 6.2.2.2): the fast path, which looks for the word as
    sent, served the whole feed for it, and a 200 for a bad value. (Names are case-sensitive:
    `LIMIT` is another parameter, ignored.)"""
    cut = client.get("/all.rss?limit=2")
    response = client.get(f"/all.rss?{name}=2")
    if name == "LIMIT":
        assert response.headers["ETag"] == client.get("/all.rss").headers["ETag"]
        return
    assert response.status_code == 200 and response.headers["ETag"] == cut.headers["ETag"]
    assert client.head(f"/all.rss?{name}=2").headers["ETag"] == cut.headers["ETag"]
    assert client.get(f"/all.rss?{name}=abc").status_code == 400


def test_unknown_query_parameters_are_ignored(client: FlaskClient):
    etag = client.get("/all.rss").headers["ETag"]
    assert client.get("/all.rss?_=123&utm_source=x").headers["ETag"] == etag
    assert client.get("/index.html?limit=abc").status_code == 200  # no limit on pages


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/nope.rss", "/all.xml", "/ALL.RSS", "/all.rss/", "/topics/", "/topics/nope.rss",
     "/../config.yaml", "/topics/../all.rss", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fetc%2fpasswd",
     "//all.rss", "/topics//ai.rss", "/topics\\ai.rss", "/all.rss%00", "/.feedpub-manifest.json",
     "/.feedpub.lock", "/static/x", "/topics%2Fai.rss", "/topics%2fai.rss", "/%2Fall.rss"],
)  # fmt: skip
def test_unknown_paths_and_traversal_are_404(client: FlaskClient, path: str):
    if path.startswith("//"):  # the test client would read `//x` as a host name
        response = client.get("/", environ_overrides={"PATH_INFO": path})
    else:
        response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.data == b"404 Not Found\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client: FlaskClient, method: str):
    for path in ("/all.rss", "/topics/ai.json", "/", "/healthz"):
        response = client.open(path, method=method, data=b"x")
        assert response.status_code == 405, path
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert response.data == b"405 Method Not Allowed\n"
    for path in ("/nope", "/topics/nope.rss", "/topics%2Fai.rss"):  # nothing there: 404
        response = client.open(path, method=method, data=b"x")
        assert response.status_code == 404, path
        assert "Allow" not in response.headers
        assert response.data == b"404 Not Found\n"


def test_options_is_a_cors_preflight(client: FlaskClient):
    for path in ("/all.rss", "/", "/healthz"):
        response = client.options(path)
        assert response.status_code == 204, path
        assert response.data == b""
        assert "Content-Type" not in response.headers  # no content, so no type
        assert "GET" in response.headers["Allow"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        allowed = response.headers["Access-Control-Allow-Headers"].split(", ")
        for header in ("If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"):
            assert header in allowed, (path, header)
    assert client.options("/nope").status_code == 404
    assert client.options("/topics%2Fai.rss").status_code == 404


def test_an_unexpected_error_is_a_plain_500(client: FlaskClient, monkeypatch):
    def broken(*args: object) -> bytes:
        raise RuntimeError("secret detail")

    monkeypatch.setattr("feedpub.publish.cuts.render_feed", broken)
    response = client.get("/all.rss?limit=1")
    assert response.status_code == 500
    assert response.data == b"500 Internal Server Error\n"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# -- health and live updates ---------------------------------------------------------------


def test_healthz(client: FlaskClient):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"] == body["serving"]
    assert body["last_error"] is None and body["built_at"]
    assert body["changes_by"] == "scan"  # this in-process builder has no polling thread


def test_records_changes_are_served_after_a_poll(app: Flask, write_record: Write, caplog):
    client = app.test_client()
    etag = client.get("/all.rss").headers["ETag"]
    assert builder(app).poll() is False  # nothing changed, nothing built
    write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
    assert builder(app).poll() is True
    fresh = client.get("/all.rss")
    assert fresh.headers["ETag"] != etag and b"Fresh" in fresh.data
    with caplog.at_level(logging.WARNING, logger="feedpub.serve"):
        write_record("broken.md", "---\ntitle: [unclosed\n---\n")
        assert builder(app).poll() is True
    assert client.get("/all.rss").headers["ETag"] == fresh.headers["ETag"]
    assert any("broken.md" in message for message in caplog.messages)


def test_an_unusable_record_cache_is_logged_once_and_the_feeds_still_served(
    config: Config, write_record: Write, tmp_path: Path, caplog
):
    seed(write_record)
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    unusable = config.replace(cache_dir=tmp_path / "blocker" / "cache")
    with caplog.at_level(logging.INFO, logger="feedpub.serve"):
        app = create_app(unusable)
        write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
        assert builder(app).poll() is True
    assert b"Fresh" in app.test_client().get("/all.rss").data
    warnings = [m for m in caplog.messages if "record cache" in m and "cannot be used" in m]
    assert len(warnings) == 1 and "(Not a directory)" in warnings[0], caplog.messages


def test_a_changed_feed_without_a_newer_entry_still_moves_last_modified(
    app: Flask, config: Config, records_dir: Path, write_record: Write
):
    """The newest story retracted, then an older one edited without a new updatedDateTime:
    a client that sends only If-Modified-Since must get the new feed, not a 304."""
    client = app.test_client()
    first = client.get("/all.rss")
    (records_dir / "r3.md").unlink()  # the newest
    assert builder(app).poll() is True
    second = client.get("/all.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200 and b"Story 3" not in second.data
    assert parsedate_to_datetime(second.headers["Last-Modified"]) == parsedate_to_datetime(
        first.headers["Last-Modified"]
    ) + timedelta(seconds=1)
    assert second.headers["Last-Modified"] == format_datetime(
        datetime.fromtimestamp(os.stat(config.out / "all.rss").st_mtime, UTC), usegmt=True
    )  # the file's time, as a static server would send it
    topic = client.get("/topics/ai.rss").headers["Last-Modified"]
    fields = {"webUrl": "https://example.org/0", "publishedDateTime": "2026-01-01T10:00:00Z"}
    write_record("r0.md", base_record(title="Story 0, corrected", topics=["AI"], **fields))
    assert builder(app).poll() is True
    third = client.get("/topics/ai.rss", headers={"If-Modified-Since": topic})
    assert third.status_code == 200 and b"corrected" in third.data
    since = {"If-Modified-Since": third.headers["Last-Modified"]}
    assert client.get("/topics/ai.rss", headers=since).status_code == 304  # nothing new since


def test_if_modified_since_a_date_seen_before_a_change_gets_the_new_feed(
    app: Flask, records_dir: Path
):
    """A cache that kept a response's `Date` sends it as If-Modified-Since (RFC 9110 13.1.3).
    A change without a newer entry moves Last-Modified one second past the old time, which
    is still before that `Date`: the changed feed must be sent, not a 304."""
    client = app.test_client()
    first = client.get("/all.rss")
    seen_at = parsedate_to_datetime(first.headers["Last-Modified"]) + timedelta(minutes=5)
    (records_dir / "r3.md").unlink()  # the newest story retracted
    assert builder(app).poll() is True
    since = {"If-Modified-Since": format_datetime(seen_at, usegmt=True)}
    again = client.get("/all.rss", headers=since)
    assert again.status_code == 200 and b"Story 3" not in again.data
    assert parsedate_to_datetime(again.headers["Last-Modified"]) < seen_at


def test_served_last_modified_moves_forward_even_when_files_cannot_be_written(
    app: Flask, config: Config, records_dir: Path, monkeypatch
):
    def refuse(*args, **kwargs):
        raise BuildError("cannot write: disk full")

    client = app.test_client()
    before = parsedate_to_datetime(client.get("/all.rss").headers["Last-Modified"])
    monkeypatch.setattr(builder_module, "write_outputs", refuse)
    (records_dir / "r3.md").unlink()
    assert builder(app).poll() is True
    after = client.get("/all.rss")
    assert b"Story 3" not in after.data
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == before + timedelta(seconds=1)


def test_a_snapshot_keeps_unchanged_times_and_moves_changed_ones_forward(app: Flask):
    previous = builder(app).current()
    assert previous is not None
    site, old = previous.site, previous.resources["all.rss"]
    at = {path: datetime.fromtimestamp(r.modified, UTC) for path, r in previous.resources.items()}
    earlier = {path: moment - timedelta(days=1) for path, moment in at.items()}
    later = {path: moment + timedelta(days=1) for path, moment in at.items()}
    same = {path: r.identity.body for path, r in previous.resources.items()}
    changed = {**same, "all.rss": old.identity.body.replace(b"Story", b"Tale")}
    assert make_snapshot(site, same, earlier, previous).resources["all.rss"].modified == (
        old.modified
    )  # the same bytes: the time they were served with
    assert make_snapshot(site, changed, earlier, previous).resources["all.rss"].modified == (
        old.modified + 1
    )  # changed without a newer entry: a second later
    assert make_snapshot(site, changed, later, previous).resources["all.rss"].modified == int(
        later["all.rss"].timestamp()
    )  # a newer entry: its time
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    at_end = make_snapshot(site, same, {path: last for path in same})
    moved = make_snapshot(site, changed, {path: last for path in same}, at_end)
    assert moved.resources["all.rss"].modified == int(last.timestamp())  # no later HTTP date
    assert moved.resources["all.rss"].last_modified == "Fri, 31 Dec 9999 23:59:59 GMT"


def test_an_entry_dated_in_the_future_never_dates_the_feed_in_the_future(
    config: Config, write_record: Write
):
    seed(write_record)
    app = create_app(config.replace(publish_future=True))  # else held: tests/test_future.py
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_record("ahead.md", base_record(webUrl="https://example.org/ahead",
                                         publishedDateTime=tomorrow))  # fmt: skip
    assert builder(app).poll() is True
    client = app.test_client()
    for path in ("/all.rss", "/all.rss?limit=1", "/topics/ai.json"):
        response = client.get(path)
        sent = parsedate_to_datetime(response.headers["Last-Modified"])
        assert sent <= datetime.now(UTC), path  # RFC 9110 8.8.2.1: never after the response
        assert sent > datetime.now(UTC) - timedelta(minutes=1), path  # clamped to now
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        assert parsedate_to_datetime(again.headers["Last-Modified"]) <= datetime.now(UTC)


def test_a_poll_stats_the_records_once(app: Flask, write_record: Write, monkeypatch):
    scans: list[int] = []
    real_scan = records_module.scan_stats

    def counted(folder: Path) -> list[tuple[str, int, int]]:
        scans.append(1)
        return real_scan(folder)

    monkeypatch.setattr(records_module, "scan_stats", counted)
    write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
    assert builder(app).poll() is True
    assert len(scans) == 1  # the build took the poll's scan
    assert b"Fresh" in app.test_client().get("/all.rss").data


def test_a_failed_build_is_tried_again_without_a_change(
    app: Flask, write_record: Write, monkeypatch
):
    monkeypatch.setattr(builder_module, "RETRY_MIN_SECONDS", 0.0)
    real_build = builder_module.build_outputs
    failures = [BuildError("disk trouble")]

    def flaky(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(builder_module, "build_outputs", flaky)
    client = app.test_client()
    write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
    assert builder(app).poll() is True
    assert client.get("/healthz").get_json()["last_error"] == "disk trouble"
    assert b"Fresh" not in client.get("/all.rss").data
    assert builder(app).poll() is True  # nothing changed, but the retry is due
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert b"Fresh" in client.get("/all.rss").data
    assert builder(app).poll() is False  # built: no more retries


def test_retries_of_a_failing_build_wait_longer_each_time(
    app: Flask, write_record: Write, monkeypatch
):
    monkeypatch.setattr(builder_module, "RETRY_MIN_SECONDS", 0.01)
    monkeypatch.setattr(builder_module, "RETRY_MAX_SECONDS", 0.04)

    def broken(*args, **kwargs):
        raise BuildError("still broken")

    monkeypatch.setattr(builder_module, "build_outputs", broken)
    write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
    waits = []
    for _ in range(4):
        time.sleep(0.05)
        assert builder(app).poll() is True
        waits.append(builder(app)._retry_seconds)
    assert waits == [0.01, 0.02, 0.04, 0.04]


def test_files_that_could_not_be_written_are_written_by_a_retry(
    app: Flask, config: Config, write_record: Write, monkeypatch
):
    monkeypatch.setattr(builder_module, "RETRY_MIN_SECONDS", 0.0)
    client = app.test_client()
    written = config.out / "all.rss"
    written.unlink()
    written.mkdir()  # a folder where the feed goes: it cannot be replaced
    write_record("new.md", base_record(title="Fresh", webUrl="https://example.org/fresh"))
    assert builder(app).poll() is True
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "all.rss" in health["last_error"]
    assert b"Fresh" in client.get("/all.rss").data  # served at once; only the file lags
    assert builder(app).poll() is True  # nothing changed, but the retry is due
    assert client.get("/healthz").get_json()["status"] == "degraded"
    written.rmdir()
    assert builder(app).poll() is True
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert b"Fresh" in written.read_bytes()
    assert builder(app).poll() is False  # the files caught up: no more retries


def test_missing_records_keep_the_last_good_feeds(app: Flask, config: Config):
    client = app.test_client()
    etag = client.get("/all.rss").headers["ETag"]
    shutil.rmtree(config.records)
    builder(app).poll()
    assert client.get("/all.rss").headers["ETag"] == etag
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert "records folder not found" in health.get_json()["last_error"]


def test_before_any_good_build_everything_is_503(config: Config, write_record: Write):
    app = create_app(config.replace(records=config.records / "not-yet"))
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    assert client.get("/all.rss").status_code == 503
    assert client.get("/all.rss").headers["Retry-After"]
    (config.records / "not-yet").mkdir()
    seed(lambda name, *args, **kw: write_record(f"not-yet/{name}", *args, **kw))
    builder(app).poll()
    assert client.get("/all.rss").status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_workers_pick_up_versions_from_the_handoff_folder(
    config: Config, write_record: Write, tmp_path: Path
):
    seed(write_record)
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    the_builder = Builder(config, SnapshotDir(handoff))
    the_builder.poll()
    workers = [create_app(config, DirectorySource(handoff, 0.0)).test_client() for _ in "ab"]
    first = {w.get("/all.rss").headers["ETag"] for w in workers}
    assert len(first) == 1
    write_record("r9.md", base_record(title="Later", webUrl="https://example.org/later"))
    the_builder.poll()
    second = {w.get("/all.rss").headers["ETag"] for w in workers}
    assert len(second) == 1 and second != first
    assert workers[0].get("/healthz").get_json()["serving"] == the_builder.status()["version"]


@pytest.mark.parametrize("path", ["/all.rss", "/index.html", "/all.rss?limit=1"])
def test_a_worker_asked_for_a_newer_version_serves_it_at_once(
    config: Config, write_record: Write, tmp_path: Path, path: str
):
    """Workers look for a new version once a second (here: never by themselves). A client
    told the new ETag by one worker, then asking another that still serves the old one,
    got the old feed back (and a 412 for an If-Match): each request with a tag the worker
    does not serve makes it look at once, so the client gets its 304."""
    seed(write_record)
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    the_builder = Builder(config, SnapshotDir(handoff))
    the_builder.poll()
    lagging = create_app(config, DirectorySource(handoff, 3600.0)).test_client()
    old = lagging.get(path).headers["ETag"]
    later = base_record(title="Later", webUrl="https://e.org/9", publishedDateTime="2026-02-01")
    write_record("r9.md", later)
    the_builder.poll()
    new = create_app(config, DirectorySource(handoff, 0.0)).test_client().get(path).headers["ETag"]
    assert new != old and lagging.get(path).headers["ETag"] == old  # not looked yet
    assert lagging.get(path, headers={"If-Match": new}).status_code == 200
    assert lagging.get(path).headers["ETag"] == new  # from now on
    assert lagging.get(path, headers={"If-None-Match": new}).status_code == 304
    latest = base_record(title="Latest", webUrl="https://e.org/10", publishedDateTime="2026-03-01")
    write_record("r10.md", latest)
    the_builder.poll()
    newest = create_app(config, DirectorySource(handoff, 0.0)).test_client().get(path)
    answer = lagging.get(path, headers={"If-None-Match": newest.headers["ETag"]})
    assert (answer.status_code, answer.headers["ETag"]) == (304, newest.headers["ETag"])
    stale = lagging.get(path, headers={"If-None-Match": old})  # an older tag: the feed
    assert (stale.status_code, stale.data) == (200, newest.data)


def test_a_handoff_folder_removed_while_serving_is_made_again(
    config: Config, write_record: Write, tmp_path: Path
):
    """A /tmp cleaner (or an admin) removing the private handoff folder, or the old snapshot
    in it, made every later build fail ("unexpected FileNotFoundError", with a traceback),
    /healthz lose its status, and a restarted worker answer 503 for every feed."""
    seed(write_record)
    handoff = tmp_path / "handoff"
    handoff.mkdir(mode=0o700)
    the_builder = Builder(config, SnapshotDir(handoff))
    the_builder.poll()
    served = create_app(config, DirectorySource(handoff, 0.0)).test_client().get("/all.rss")
    for current in handoff.glob("snapshot-*"):
        current.unlink()  # a cleaner removes files not read for days
    the_builder.poll()  # nothing changed in the records: the same version, published again
    restarted = create_app(config, DirectorySource(handoff, 0.0)).test_client()
    assert restarted.get("/all.rss").headers["ETag"] == served.headers["ETag"]
    shutil.rmtree(handoff)
    write_record("r9.md", base_record(title="Later", webUrl="https://example.org/later"))
    assert the_builder.poll()
    restarted = create_app(config, DirectorySource(handoff, 0.0)).test_client()
    response = restarted.get("/all.rss")
    assert response.status_code == 200 and b"Later" in response.data
    health = restarted.get("/healthz").get_json()
    assert health["status"] == "ok" and health["serving"] == the_builder.status()["version"]
    assert handoff.stat().st_mode & 0o777 == 0o700


def test_healthz_says_unknown_when_the_builders_status_is_gone(
    config: Config, write_record: Write, tmp_path: Path
):
    """A worker serves a version whose builder's status file was removed: /healthz still
    names a status, not only a version, and the builder's next poll writes it again."""
    seed(write_record)
    handoff = tmp_path / "handoff"
    handoff.mkdir(mode=0o700)
    the_builder = Builder(config, SnapshotDir(handoff))
    the_builder.poll()
    (handoff / SnapshotDir.STATUS).unlink()
    worker = create_app(config, DirectorySource(handoff, 0.0)).test_client()
    health = worker.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "unknown" and health.get_json()["serving"]
    the_builder.poll()
    assert worker.get("/healthz").get_json()["status"] == "ok"


def test_a_handoff_folder_someone_else_made_is_refused(config: Config, tmp_path: Path):
    """The folder is made again only as this process's own, private one: in /tmp, anyone
    could make one by that name, and what workers load from it is a pickle."""
    handoff = tmp_path / "handoff"
    handoff.mkdir(mode=0o777)
    handoff.chmod(0o777)
    with pytest.raises(OSError, match="private"):
        SnapshotDir(handoff).ensure()


def test_access_log_lines(tmp_path: Path):
    target = tmp_path / "access.log"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT)
    try:
        log = AccessLog(descriptor)
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/all.rss\n[forged]",
            "QUERY_STRING": "limit=2",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
        }
        log.log(environ, "304 Not Modified", 0, 0.0)
        log.flush()
    finally:
        os.close(descriptor)
    lines = target.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("127.0.0.1 - - [")
    assert '"GET /all.rss\\n[forged]?limit=2 HTTP/1.1" 304 0 ' in lines[0]
    assert lines[0].endswith("ms")
