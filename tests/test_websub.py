"""WebSub: feeds name their hubs, and builds tell a real (local) hub which feeds changed."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest
import yaml

from feedpub.config import load_config
from feedpub.errors import ConfigError
from feedpub.publish import websub
from feedpub.publish.builder import Builder

from .conftest import base_record, config_for
from .feedcheck import check_outputs

Write = Callable[..., Path]
BASE = "https://feeds.example.com"


class Hub:
    """A WebSub hub on 127.0.0.1 that records each publish ping and answers `status`."""

    def __init__(self) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.status = 204
        self.delay = 0.0  # seconds before answering
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("ascii"))
                form["content-type"] = [self.headers.get("Content-Type", "")]
                hub.pings.append(form)
                time.sleep(hub.delay)
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def published(self) -> list[str]:
        """The feed URLs pinged so far, sorted."""
        return sorted(url for ping in self.pings for url in ping["hub.url"])

    def take(self) -> list[str]:
        urls = self.published()
        self.pings.clear()
        return urls


@pytest.fixture
def hub() -> Iterator[Hub]:
    running = Hub()
    yield running
    running.server.shutdown()
    running.server.server_close()


def _write_config(tmp_path: Path, records_dir: Path, **websub_keys: object) -> Path:
    path = tmp_path / "feedpub.yaml"
    settings = {
        "records": str(records_dir),
        "out": str(tmp_path / "out"),
        "cache_dir": str(tmp_path / "cache"),
        "base_url": BASE,
        "websub": websub_keys,
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def _build(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedpub.cli", "build", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _feed_urls(out: Path) -> list[str]:
    feeds = [
        p
        for p in out.rglob("*")
        if p.suffix in (".rss", ".atom", ".json") and not p.name.startswith(".")
    ]
    return sorted(f"{BASE}/{p.relative_to(out).as_posix()}" for p in feeds)


def test_feeds_name_their_hubs_for_readers(tmp_path: Path, records_dir: Path, write_record: Write):
    write_record("a.md", base_record())
    hubs = ["https://hub.example.org/", "https://pubsub.example.net/publish?x=1&y=2"]
    config_path = _write_config(tmp_path, records_dir, hubs=hubs, notify=False)
    result = _build(config_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    check_outputs(out)  # the JSON Feed schema, XML well-formedness, every URL
    for name in ("all.rss", "all.atom"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        links = parsed.feed.links
        assert [link.href for link in links if link.rel == "hub"] == hubs, name
        self_links = [link.href for link in links if link.rel == "self"]
        assert self_links == [f"{BASE}/{name}"], name
    assert feedparser.parse((out / "all.rss").read_bytes()).feed.link == f"{BASE}/"
    document = json.loads((out / "all.json").read_bytes())
    assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]


def test_without_hubs_feeds_name_none(tmp_path: Path, records_dir: Path, write_record: Write):
    write_record("a.md", base_record())
    result = _build(_write_config(tmp_path, records_dir))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert b'rel="hub"' not in (out / "all.rss").read_bytes()
    assert b'rel="hub"' not in (out / "all.atom").read_bytes()
    assert "hubs" not in json.loads((out / "all.json").read_bytes())
    assert "websub" not in result.stderr


def test_a_build_pings_the_hub_for_each_changed_feed_only(
    tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub
):
    write_record("a.md", base_record(topics=["Science"]))
    write_record(
        "b.md", base_record(title="Other", webUrl="https://example.org/b", topics=["Sport"])
    )
    config_path = _write_config(tmp_path, records_dir, hubs=[hub.url])
    out = tmp_path / "out"

    first = _build(config_path)
    assert first.returncode == 0, first.stderr
    assert hub.take() == _feed_urls(out)  # a first build: every feed is new
    assert "told 1 hub(s) of" in first.stderr
    assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)

    again = _build(config_path)
    assert again.returncode == 0, again.stderr
    assert hub.take() == []  # nothing changed, nothing to tell

    write_record("a.md", base_record(title="Edited", topics=["Science"]))
    edited = _build(config_path)
    assert edited.returncode == 0, edited.stderr
    stems = ["all", "topics/science"]
    assert hub.take() == sorted(f"{BASE}/{s}{x}" for s in stems for x in (".atom", ".json", ".rss"))


def test_each_ping_is_a_form_post(tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub):
    write_record("a.md", base_record())
    config = config_for(tmp_path, records_dir).replace(
        websub=load_config(_write_config(tmp_path, records_dir, hubs=[hub.url])).websub
    )
    assert websub.notify_hubs(config, [f"{BASE}/all.rss"]) == []
    assert hub.pings == [
        {
            "hub.mode": ["publish"],
            "hub.url": [f"{BASE}/all.rss"],
            "content-type": ["application/x-www-form-urlencoded"],
        }
    ]


def test_a_hub_that_fails_costs_a_message_not_the_build(
    tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub
):
    write_record("a.md", base_record())
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/hub"  # nothing listens there
    hub.status = 500
    result = _build(_write_config(tmp_path, records_dir, hubs=[hub.url, dead]))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "all.rss").is_file()
    lines = [line for line in result.stderr.splitlines() if "websub: hub" in line]
    assert len(lines) == 2, lines  # one line per hub, however many feeds failed
    refused = f"feedpub: websub: hub {hub.url}: refused {BASE}/all.atom: HTTP 500"
    assert lines[0].startswith(refused) and "5 more ping(s) failed" in lines[0]
    assert lines[1].startswith(f"feedpub: websub: hub {dead}: not reached for {BASE}/")
    assert len(hub.pings) == 6  # the refusing hub still got every ping


def test_a_dead_or_hanging_hub_costs_one_timeout_not_one_per_feed(
    tmp_path: Path, records_dir: Path, hub: Hub
):
    config = load_config(_write_config(tmp_path, records_dir, hubs=[hub.url]))
    urls = [f"{BASE}/topics/t{number}.rss" for number in range(40)]
    hub.delay = 5.0  # answers long after the budget
    started = time.monotonic()
    problems = websub.notify_hubs(config, urls, budget=0.5)
    assert time.monotonic() - started < 3
    assert len(problems) == 1 and problems[0].startswith(f"hub {hub.url}: not reached for")
    assert problems[0].endswith("not sent") and len(hub.pings) <= websub.PARALLEL_PINGS


def test_notify_false_names_the_hubs_but_sends_nothing(
    tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub
):
    write_record("a.md", base_record())
    result = _build(_write_config(tmp_path, records_dir, hubs=[hub.url], notify=False))
    assert result.returncode == 0, result.stderr
    assert hub.pings == []
    assert hub.url.encode() in (tmp_path / "out" / "all.atom").read_bytes()


@pytest.mark.parametrize("serving", [True, False], ids=["server", "build --watch"])
def test_the_builder_pings_after_a_change_but_not_after_a_restart(
    tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub, monkeypatch, serving: bool
):
    monkeypatch.setattr(websub, "SETTLE_SECONDS", 0.0)
    write_record("a.md", base_record(topics=["Science"]))
    config = load_config(_write_config(tmp_path, records_dir, hubs=[hub.url]))

    def pinged(expected: int) -> list[str]:
        deadline = time.monotonic() + 10
        while len(hub.pings) < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1 if expected else 0.5)  # nothing more is coming
        return hub.take()

    Builder(config, serving=serving).poll()
    assert pinged(6) == _feed_urls(tmp_path / "out")  # the first build wrote every feed
    restarted = Builder(config, serving=serving)
    restarted.poll()
    assert pinged(0) == []  # the same feeds as the files already hold: hubs know them
    write_record("b.md", base_record(title="New", webUrl="https://example.org/n", topics=["Art"]))
    assert restarted.poll() is True
    stems = ["all", "topics/art"]
    assert pinged(6) == sorted(f"{BASE}/{s}{x}" for s in stems for x in (".atom", ".json", ".rss"))


def test_the_server_logs_a_failing_hub_and_keeps_serving(
    tmp_path: Path, records_dir: Path, write_record: Write, hub: Hub, monkeypatch, caplog
):
    monkeypatch.setattr(websub, "SETTLE_SECONDS", 0.0)
    hub.status = 503
    write_record("a.md", base_record())
    builder = Builder(load_config(_write_config(tmp_path, records_dir, hubs=[hub.url])))
    with caplog.at_level(logging.INFO, logger="feedpub.serve"):
        assert builder.poll() is True
        assert builder.hubs.wait(10)
    refused = f"websub: hub {hub.url}: refused {BASE}/all.atom: HTTP 503"
    assert any(refused in message for message in caplog.messages), caplog.messages
    told = [r for r in caplog.records if "told 1 hub(s) of 6 changed feed" in r.getMessage()]
    assert told and told[-1].name == "feedpub.serve"  # where `feedpub serve` logs to stderr
    assert builder.status()["status"] == "ok"  # a hub's trouble is not the build's
    assert builder.current() is not None


def _notifier_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "feedpub-websub"]


def test_a_burst_of_changes_is_pinged_in_rounds_on_one_thread(
    tmp_path: Path, records_dir: Path, hub: Hub, monkeypatch
):
    monkeypatch.setattr(websub, "SETTLE_SECONDS", 0.05)
    config = load_config(_write_config(tmp_path, records_dir, hubs=[hub.url]))
    notifier = websub.HubNotifier(config)
    first, second, third = (f"{BASE}/{name}.rss" for name in ("a", "b", "c"))
    hub.delay = 0.5  # the first round is still under way while more changes come
    earlier = set(_notifier_threads())  # other tests' notifiers may not have ended yet
    notifier.submit([first])
    deadline = time.monotonic() + 10
    while not hub.pings and time.monotonic() < deadline:
        time.sleep(0.01)
    for urls in ([second], [third, first], [second]):
        notifier.submit(urls)
    [thread] = set(_notifier_threads()) - earlier  # one thread for the whole burst
    assert notifier.wait(10)
    urls = [ping["hub.url"][0] for ping in hub.pings]
    assert urls[0] == first and sorted(urls[1:]) == [first, second, third]  # 2 rounds
    thread.join(timeout=1)  # it ends right after saying so
    assert not thread.is_alive()
    notifier.submit([])  # nothing to tell: no thread
    assert notifier.wait(0.1) and len(hub.pings) == 4


@pytest.mark.parametrize(
    ("hubs", "message"),
    [
        ("https://hub.example/", "websub.hubs: must be a list of strings"),
        ([1], "websub.hubs: must be a list of strings"),
        (["javascript:alert(1)"], "websub.hubs[1]: must be an absolute http(s) URL"),
        (["https://ok.example/", "/relative"], "websub.hubs[2]: must be an absolute http(s) URL"),
        (["https://hub.example/a b"], "websub.hubs[1]: not a plain ASCII URL"),
        (["https://hüb.example/"], "websub.hubs[1]: not a plain ASCII URL"),
        (["https://me:secret@hub.example/"], "websub.hubs[1]: must not hold a user name"),
        (["https://hub.example/\x07"], "websub.hubs[1]: must be an absolute http(s) URL"),
        ([f"https://h{n}.example/" for n in range(11)], "websub.hubs: at most 10 hubs"),
    ],
)
def test_bad_hubs_are_config_errors_naming_the_key(
    tmp_path: Path, records_dir: Path, hubs: object, message: str
):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(_write_config(tmp_path, records_dir, hubs=hubs))
