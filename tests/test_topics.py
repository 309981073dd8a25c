"""Topic names: which names are one topic, and what a topic is called in its feed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest

from feedpub.topics import normalize_topic, topic_key

from .conftest import BuildRun, base_record

# Format characters (Unicode category Cf): nothing to see, yet another string.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2062", "\U000e0041"]


@pytest.mark.parametrize("character", INVISIBLE)
def test_format_characters_do_not_make_another_topic(character: str) -> None:
    assert topic_key(f"Poli{character}tics") == topic_key("politics") == "politics"
    assert topic_key(f"{character}AI{character}") == "ai"


@pytest.mark.parametrize("mark", ["\ufe0f", "\ufe0e", "\u034f", "\U000e0100"])
def test_variation_selectors_do_not_make_another_topic(mark: str) -> None:
    """`❤️` (with the emoji selector) and `❤` are one heart to a reader."""
    assert topic_key(f"\u2764{mark} Love") == topic_key("\u2764 love") == "\u2764 love"
    assert normalize_topic(f"\u2764{mark} Love") == f"\u2764{mark} Love"  # shown as written


@pytest.mark.parametrize("filler", ["\u3164", "\uffa0", "\u17b4", "\u180b"])
def test_letters_drawn_as_nothing_do_not_make_another_topic(filler: str) -> None:
    """A Hangul filler shows as an empty cell: `AI` with one after it is `AI` to a reader."""
    assert topic_key(f"AI{filler}") == topic_key(f"{filler}A{filler}I") == topic_key("ai")
    assert normalize_topic(f"AI{filler}") == f"AI{filler}"  # shown as written


def test_a_name_of_format_characters_has_an_empty_key() -> None:
    assert topic_key("\u200b\u2060") == ""


def test_visible_format_characters_stay_in_the_key() -> None:
    """The Arabic number sign (U+0600) is category Cf but shows, as the year it spans."""
    assert topic_key("\u06002024") != topic_key("2024")


@pytest.mark.parametrize("character", ["\u200b", "\u2060", "\u00ad", "\u2062", "\ufeff"])
def test_invisible_characters_that_mean_nothing_leave_the_shown_name(character: str) -> None:
    assert normalize_topic(f" Poli{character}tics ") == "Politics"


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f469\u200d\U0001f4bb coders",  # a ZWJ emoji sequence: one picture
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # ZWNJ: Persian spelling
        "\u05e2\u05d1\u05e8\u05d9\u05ea\u200f 2024",  # a right-to-left mark
        "List<\u2060String>",  # the sanitizer's word joiner: keeps `<String>` text
    ],
)
def test_format_characters_that_change_what_is_shown_stay_in_the_shown_name(name: str) -> None:
    assert normalize_topic(name) == name


def test_a_zero_width_character_in_a_topic_makes_no_second_feed(
    build: Callable[..., BuildRun], write_record: Callable[..., Path]
) -> None:
    write_record("a.md", base_record(topics=["Politics"], webUrl="https://e.org/1"))
    write_record("b.md", base_record(topics=["Poli\u200btics"], webUrl="https://e.org/2"))
    write_record("c.md", base_record(topics=["\u2060Poli\u00adtics"], webUrl="https://e.org/3"))
    write_record("d.md", base_record(topics=["poli\u200dtics"], webUrl="https://e.org/4"))
    run = build()
    assert sorted(path.name for path in (run.out / "topics").iterdir()) == [
        "politics.atom",
        "politics.json",
        "politics.rss",
    ]
    for suffix in ("rss", "atom"):
        parsed = feedparser.parse(run.read(f"topics/politics.{suffix}"))
        assert not parsed.bozo
        assert len(parsed.entries) == 4
        assert parsed.feed.title.endswith(": Politics")
    items = json.loads(run.read("topics/politics.json"))["items"]
    assert len(items) == 4
    # Each entry's category is its own spelling, without what means nothing.
    assert sorted(tag for item in items for tag in item["tags"]) == [
        "Politics",
        "Politics",
        "Politics",
        "poli\u200dtics",
    ]
    assert run.reports == []
