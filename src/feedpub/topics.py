"""Topic names: which names are one topic, and the file-safe slug of each."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from slugify import slugify

MAX_SLUG_LENGTH = 80
# Names Windows refuses as file names whatever the extension; a slug must not be one.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$")
_PLAIN_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# How a hashed slug ends; a plain slug that ends so is hashed too, or "x 1a2b3c4d" could take
# the file of a topic whose slug is "x-1a2b3c4d".
_HASH_TAIL = re.compile(r"-[0-9a-f]{8}$")


# Invisible characters that change nothing a reader sees in a name, left out of it: soft
# hyphen, zero-width space, invisible operators, byte-order mark, and a word joiner unless
# it follows `<` (there the sanitizer put it, so that `List<String>` is not read as a tag).
# Other format characters stay: a zero-width (non-)joiner shapes emoji and scripts such as
# Persian, marks set the direction of what follows, tag characters make flags.
_MEANINGLESS = re.compile("[\u00ad\u200b\u2061-\u2064\ufeff]|(?<!<)\u2060")
# Marks that only choose how the character before them is drawn (variation selectors: the
# emoji or the text form of `❤`, Mongolian's free variation selectors) or join nothing (the
# combining grapheme joiner), and letters drawn as nothing (the Hangul fillers U+3164 and
# U+FFA0, Khmer's inherent vowels, the usual "invisible name" of chat tricks): a topic key
# leaves them out, as it does format characters. (U+115F and U+1160, which build Old Hangul
# syllables from conjoining letters, stay.)
_PRESENTATION_MARKS = re.compile(
    "[\u034f\u17b4\u17b5\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
# The format characters (category Cf) that are visible: a topic key keeps them.
_PREPENDED_MARKS = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)


def normalize_topic(name: str) -> str:
    """A topic name as published: NFC, without invisible characters that mean nothing
    there (`_MEANINGLESS`), whitespace collapsed, trimmed."""
    name = unicodedata.normalize("NFC", name)
    if not name.isascii():
        name = _MEANINGLESS.sub("", name)
    return " ".join(name.split())


def _without_format_characters(text: str) -> str:
    """`text` without its invisible format characters (category Cf): zero-width spaces and
    joiners, soft hyphens, word joiners, bidirectional marks, tag characters; and without
    variation selectors and Hangul fillers (`_PRESENTATION_MARKS`)."""
    if text.isascii():  # (ASCII holds none)
        return text
    text = _PRESENTATION_MARKS.sub("", text)
    category = unicodedata.category
    return "".join(c for c in text if category(c) != "Cf" or c in _PREPENDED_MARKS)


# Pure, and the same few hundred names recur on most articles (6 lookups each in a build);
# bounded, as hostile records can bring millions of distinct names.
@functools.lru_cache(maxsize=65_536)
def topic_key(name: str) -> str:
    """The identity of a topic: names that differ only in case, spacing, invisible
    format characters or variation selectors share it (`poli\u200btics` is `politics`,
    `\u2764\ufe0f` is `\u2764`: the same to a reader).

    A hyphen counts as spacing ("Model-driven apps" is "model driven apps"): both
    spellings have the slug `model-driven-apps`, so they must be one topic.
    """
    folded = _without_format_characters(normalize_topic(name).casefold())
    return " ".join(folded.replace("-", " ").split())


def topic_slug(key: str, digits: int = 8) -> str:
    """A readable, stable, unique slug that is always a single safe file name.

    The plain slug is used when it says exactly what the key says (ASCII words
    joined by spaces); otherwise a short hash of the key is appended, so `C++` and
    `C` or `Ünïcode` and `Unicode` never share a file. A plain slug never ends like
    a hashed one, so the two kinds cannot meet.
    """
    plain = slugify(key, max_length=MAX_SLUG_LENGTH, word_boundary=True, allow_unicode=False)
    if (
        plain
        and _PLAIN_SLUG.match(plain)
        and plain == "-".join(key.replace("-", " ").split())
        and not _RESERVED.match(plain)
        and not _HASH_TAIL.search(plain)
    ):
        return plain
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:digits]
    return f"{plain}-{digest}" if plain else f"topic-{digest}"


def assign_slugs(keys: Iterable[str]) -> dict[str, str]:
    """Each topic key's slug, unique across `keys` whatever their order.

    Two hashed slugs can share their 8 hex digits (a 32-bit hash is open to a
    determined attacker); those topics get the whole SHA-1 instead.
    """
    slugs = {key: topic_slug(key) for key in keys}
    users = Counter(slugs.values())
    for key, slug in slugs.items():
        if users[slug] > 1:
            slugs[key] = topic_slug(key, digits=40)
    return slugs
