"""Requests of any shape (paths, queries, methods, caching and coding headers) get a clean,
well-formed answer from the feed server's WSGI app: never a 500, never a malformed response."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedpub.config import ServerConfig
from feedpub.publish.web import create_app

from .conftest import base_record, config_for, record_text

KNOWN_PATHS = ["/", "/all.rss", "/all.atom", "/all.json", "/topics/ai.rss", "/topics/ai.json",
               "/feeds.opml", "/index.html", "/healthz", "/nope.rss"]  # fmt: skip
ALLOWED = {200, 204, 304, 400, 404, 405, 414}
BODILESS = {204, 304}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    tmp_path = tmp_path_factory.mktemp("any-request")
    records = tmp_path / "records"
    records.mkdir()
    for i in range(3):
        record = base_record(
            title=f"Story {i}",
            webUrl=f"https://example.org/{i}",
            publishedDateTime=f"2026-01-0{i + 1}T10:00:00Z",
            topics=["AI"],
        )
        (records / f"r{i}.md").write_text(record_text(record, "Body."), encoding="utf-8")
    config = config_for(tmp_path, records, server=ServerConfig(access_log=False))
    return create_app(config)


# WSGI gives header values and paths as latin-1 decoded bytes: any of 0-255 can arrive.
latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=60)
paths = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.builds(lambda known, extra: known + extra, st.sampled_from(KNOWN_PATHS), latin1),
    latin1.map(lambda text: "/" + text),
)
query_values = st.one_of(latin1, st.integers(-5, 10**20).map(str))
queries = st.lists(
    st.tuples(st.sampled_from(["limit", "Limit", "page", "", "x"]), query_values), max_size=3
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))
dates = st.sampled_from(
    ["Thu, 01 Jan 2026 10:00:00 GMT", "Sat, 01 Jan 2000 00:00:00 GMT",
     "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"]
)  # fmt: skip
header_values = st.one_of(st.none(), latin1, dates, st.just("*"), st.just('W/"x", "y"'))
methods = st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "TRACE", "get", ""])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    path=paths,
    query=queries,
    if_none_match=header_values,
    if_modified_since=header_values,
    accept_encoding=st.one_of(st.none(), latin1, st.just("gzip;q=0.5, br, zstd;q=1")),
)
def test_requests_of_any_shape_get_a_clean_answer(
    app: Flask,
    method: str,
    path: str,
    query: str,
    if_none_match: str | None,
    if_modified_since: str | None,
    accept_encoding: str | None,
) -> None:
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (("HTTP_IF_NONE_MATCH", if_none_match),
                        ("HTTP_IF_MODIFIED_SINCE", if_modified_since),
                        ("HTTP_ACCEPT_ENCODING", accept_encoding)):  # fmt: skip
        if value is not None:
            environ[name] = value
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answered.append((status, headers))

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    assert len(answered) == 1
    status, headers = answered[0]
    code = int(status.split(" ", 1)[0])
    assert code in ALLOWED, (status, body[:200])
    fields = {name.lower(): value for name, value in headers}
    for name, value in headers:  # no header splitting, whatever the request held
        assert "\r" not in value and "\n" not in value and name.isascii(), (name, value)
        value.encode("latin-1")
    if code in BODILESS or method == "HEAD":
        assert body == b""
    else:
        assert int(fields["content-length"]) == len(body)
    if (
        code == 200
        and method in ("GET", "HEAD")
        and fields.get("content-type", "").startswith(
            ("application/rss", "application/atom", "application/feed")
        )
    ):
        assert fields["etag"].startswith('"') and "last-modified" in fields
