"""Turn one raw record into a published `Article`, or into reports saying why not.

Pure functions: no I/O. Every string that leaves here is clean (see sanitize).
"""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from feedpub.config import Limits
from feedpub.model import Article, Image, Provider, Related, Withdrawal
from feedpub.records import HugeInteger, RawRecord
from feedpub.report import Report
from feedpub.sanitize import (
    clean_html,
    escape,
    id_url,
    is_visible,
    plain_text,
    safe_url,
    unpublishable,
)
from feedpub.timestamps import TimestampError, parse_timestamp
from feedpub.topics import normalize_topic, topic_key

MAX_TOPIC_CHARS = 100
MAX_AMPERSANDS = 20_000
"""HTML (a body, featured content) is cut before its ampersand number this + 1: the HTML
sanitiser's time grows with the square of the `&`s in one run of text (500,000 took 3.1 s,
20,000 take ~5 ms), where a long article holds a few thousand character references."""
MAX_MEMO_DOMAIN = 300
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# HTML comments and whitespace before a body's first markup: `<!-- x -->\n# Title` is Markdown.
_LEADING_COMMENTS = re.compile(r"\s*(?:<!--.*?-->\s*)*", re.DOTALL)
_IMAGE_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png",
    "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "svg": "image/svg+xml",
    "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "ico": "image/x-icon",
    "heic": "image/heic", "heif": "image/heif",
}  # fmt: skip


def markdown_html(text: str) -> str:
    """CommonMark (with GitHub's tables and `~~strikethrough~~`) as HTML, raw HTML passed
    through for the sanitiser. cmark-gfm, the C reference parser, runs in time linear in
    the text by design: any body of `max_content_chars` takes well under a second, where
    markdown-it-py, used before, took 9 s for 500,000 characters of `![`. Imported when a
    first body needs it: a build with no record to convert does not load it."""
    from cmarkgfm import cmark

    options = cmark.Options.CMARK_OPT_UNSAFE | cmark.Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE
    html: str = cmark.markdown_to_html_with_extensions(
        _LONE_SURROGATES.sub("", text), options=options, extensions=["table", "strikethrough"]
    )
    return html


# Half a UTF-16 pair (a JSON dump's "\udc80"): no character, so no UTF-8 for cmark-gfm;
# the sanitiser drops it from any other text.
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


# Ids that are not a URL live in this namespace: uuid5 of title and publication time for a
# record without one, of the URL for one whose escapes spell no text (see `_url_id`).
ID_NAMESPACE = uuid.UUID("6f1c7c52-5b0e-4f4e-9a61-1f0d9b8f7e11")


def _url_id(url: str) -> str:
    """The id of an article at `url`: the URL in the form feed validators compare Atom ids
    in (`id_url`), or, when its escapes spell no text, `urn:uuid:` + UUID5 of the URL."""
    canonical = id_url(url)
    return canonical if canonical is not None else f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, url)}"


def _not_text(value: object) -> str | None:
    """What `value` is when it cannot stand for text (for a report), else None: a string, an
    int or a finite float can; a bool, a list, a mapping cannot, nor NaN and the infinities
    (JSON's non-standard `NaN` and `Infinity`, YAML's `.nan` and `.inf`), which would publish
    as "nan" or "inf"."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _kind(value)
    if type(value) is float and not math.isfinite(value):
        return str(value)
    if type(value) is int and value.bit_length() > MAX_TEXT_INT_BITS:
        return "a huge integer"
    return None


MAX_TEXT_INT_BITS = 4_000
"""An integer standing for text has at most about 1,200 digits. YAML reads `0x` followed
by any number of hex digits (and `0o` octal) as an int of any size,
which Python refuses to write in decimal past 4,300 digits: such a value is reported, not
converted."""


UNKNOWN_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The times of an unpublished record whose publication time is missing, unreadable or
before 1990: it takes its article down whatever the other copies' times (which copy is
newer cannot be told; as at equal times, the article stays down), until its date is fixed."""
_NO_ID = "this unpublished record takes nothing down: without a URL, its id comes from"


@dataclass(slots=True)
class Conversion:
    """The result of converting one record."""

    article: Article | None = None
    reports: list[Report] = field(default_factory=list)
    unpublished: bool = False
    withdrawal: Withdrawal | None = None  # an unpublished record's id (see `Withdrawal`)
    held: bool = False  # dated later than the build: published once that time has come
    due: datetime | None = None  # when converting it again would give another result


class _Skip(Exception):
    """Raised inside the converter to drop the record with one report."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class _Converter:
    """Holds the state of converting one record (its source and its reports)."""

    def __init__(self, record: RawRecord, limits: Limits, now: datetime | None = None) -> None:
        self.record = record
        self.data = record.data
        self.limits = limits
        self.now = now
        self.due: datetime | None = None
        self.reports: list[Report] = []

    def warn(self, field: str, reason: str) -> None:
        self.reports.append(Report(self.record.source, field, reason, skipped=False))

    def warn_dropped(self, field: str, dropped: Mapping[str, int]) -> None:
        """Report the characters no feed may carry that were dropped from `field`."""
        self.warn(field, dropped_message(dropped))

    def convert(self) -> Article:
        published_at, updated_at = self.dates()
        url = self.url()
        title, summary = self.title_and_summary()
        article_id = _url_id(url) if url else self.fallback_id(title, published_at)
        provider = self.provider()
        topics = self.topics()
        images = self.images()
        related = self.related()
        content = self.content(url, summary, images, related) or f"<p>{escape(title)}</p>"
        return Article(
            id=article_id,
            url=url,
            title=title,
            summary=summary,
            content_html=content,
            published=published_at,
            updated=updated_at,
            provider=provider,
            topics=topics,
            categories=self.categories(topics),
            images=images,
            related=related,
            source=self.record.source,
        )

    # -- fields -----------------------------------------------------------------------------

    def dates(self) -> tuple[datetime, datetime]:
        raw = self.data.get("publishedDateTime")
        if raw is None:
            raise _Skip("publishedDateTime", "missing")
        try:
            published_at, note = _timestamp(raw)
        except TimestampError as exc:
            raise _Skip("publishedDateTime", str(exc)) from None
        if note:
            self.warn("publishedDateTime", note)
        updated_at = published_at
        raw_updated = self.data.get("updatedDateTime")
        if raw_updated is not None:
            try:
                updated_at, note = _timestamp(raw_updated)
                if note:
                    self.warn("updatedDateTime", note)
            except TimestampError as exc:
                self.warn("updatedDateTime", f"{exc}; the publication time stands in")
            updated_at = max(updated_at, published_at)
        if self.now is not None and published_at <= self.now < updated_at:
            self.warn(
                "updatedDateTime",
                f"{updated_at.isoformat()} is later than this build; "
                "the publication time stands in until then",
            )
            updated_at, self.due = published_at, updated_at
        return published_at, updated_at

    def url(self) -> str:
        for key in ("webUrl", "originalUrl"):
            value = self.data.get(key)
            if value is None or value == "":
                continue
            url = safe_url(value)
            if url:
                return url
            self.warn(key, "not an absolute http(s) URL; ignored")
        return ""

    def withdrawal(self) -> Withdrawal:
        """The id and times `convert` gives the record, for an unpublished one; raises
        `_Skip` when it has no id. Without a readable publication time it is newer than
        every copy (see `UNKNOWN_TIME`), and says so."""
        unknown: _Skip | None = None
        try:
            published_at, updated_at = self.dates()
        except _Skip as skip:
            unknown, published_at, updated_at = skip, UNKNOWN_TIME, UNKNOWN_TIME
        url = self.url()
        if url:
            article_id = _url_id(url)
        elif unknown is not None:
            raise _Skip(unknown.field, f"{unknown.reason}; {_NO_ID} its publication time")
        else:
            try:
                title, _summary = self.title_and_summary()
            except _Skip as skip:
                raise _Skip(skip.field, f"{skip.reason}; {_NO_ID} its title") from None
            article_id = self.fallback_id(title, published_at)
        if unknown is not None:
            self.warn(
                unknown.field,
                f"{unknown.reason}; this unpublished record takes down every copy of"
                f" {article_id[:200]}, however new: its time cannot be compared with theirs",
            )
        return Withdrawal(article_id, published_at, updated_at, self.record.source)

    def title_and_summary(self) -> tuple[str, str]:
        title = self.title()
        summary = self.text("excerpt", self.limits.max_text_chars)
        if not title:
            if not summary:
                raise _Skip("title", "missing or empty, and no excerpt to stand in")
            title = _shorten(summary, 100)
            self.warn("title", "missing or empty; the start of the excerpt stands in")
        return title, summary

    def fallback_id(self, title: str, published_at: datetime) -> str:
        self.warn("webUrl", "no usable URL; the id is derived from title and publication time")
        return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'{title}|{published_at.isoformat()}')}"

    def title(self) -> str:
        title = self.text("title", self.limits.max_title_chars)
        return title

    def text(self, key: str, limit: int) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        kind = _not_text(value)
        if kind is not None:
            if key == "title":
                raise _Skip(key, f"must be text, not {kind}")
            self.warn(key, f"must be text, not {kind}; ignored")
            return ""
        given = str(value)[: limit * 4]
        dropped = unpublishable(given)
        if dropped:
            self.warn_dropped(key, dropped)
        text = plain_text(given)
        if not is_visible(text):
            return ""  # only spaces and invisible characters: no text to show
        if len(text) > limit:
            self.warn(key, f"longer than {limit} characters; cut")
            text = _shorten(text, limit)
        return text

    def provider(self) -> Provider | None:
        raw = self.data.get("provider")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.warn("provider", f"must be a mapping, not {_kind(raw)}; ignored")
            return None
        name = raw.get("name")
        # Cut before cleaning: cleaning a megabyte of nested markup costs seconds.
        name = name[:800] if isinstance(name, str) else ""
        dropped = unpublishable(name)
        if dropped:
            self.warn_dropped("provider.name", dropped)
        domain = raw.get("domain")
        if isinstance(domain, str):
            # Memoised only when short, so that the memo stays small whatever records hold.
            make = _memo_provider if len(domain) <= MAX_MEMO_DOMAIN else _provider
            provider, refused = make(name, domain)
        else:
            provider, refused = _provider(name, "")[0], domain is not None
        if refused:
            self.warn("provider.domain", "not a domain name; ignored")
        return provider

    def topics(self) -> tuple[str, ...]:
        raw = self.data.get("topics")
        if raw is None:
            return ()
        if isinstance(raw, str):
            self.warn("topics", "a single string, read as one topic")
            raw = [raw]
        if not isinstance(raw, list):
            self.warn("topics", f"must be a list of strings, not {_kind(raw)}; ignored")
            return ()
        limit = self.limits.max_topics
        if len(raw) > limit:
            self.warn("topics", f"{len(raw)} topics; only the first {limit} are kept")
            raw = raw[:limit]
        return _unique_names(self._names("topics", raw))

    def categories(self, topics: tuple[str, ...]) -> tuple[str, ...]:
        raw = self.data.get("tags")
        tags: list[str] = []
        if isinstance(raw, list):
            limit = self.limits.max_topics
            if len(raw) > limit:
                self.warn("tags", f"{len(raw)} tags; only the first {limit} are kept")
            tags = self._names("tags", raw[:limit])
        elif raw is not None:
            self.warn("tags", f"must be a list of strings, not {_kind(raw)}; ignored")
        if not tags:
            return topics  # already unique names: _unique_names would give them back as they are
        return _unique_names([*topics, *tags])

    def _names(self, key: str, raw: list[Any]) -> list[str]:
        names: list[str] = []
        for index, item in enumerate(raw):
            kind = _not_text(item)
            if kind is not None:
                self.warn(f"{key}[{index}]", f"must be a string, not {kind}; ignored")
                continue
            # Cut before cleaning: a name is short, and cleaning a huge one costs time.
            name, dropped = _clean_name(str(item)[: MAX_TOPIC_CHARS * 4])
            if not is_visible(name):  # empty, or as for any text: "\u200b" shows nothing
                reason = "empty; ignored"
                if dropped:  # one line, not two: what was removed, and that nothing was left
                    reason = f"{dropped_message(dict(dropped))}, which left it {reason}"
                self.warn(f"{key}[{index}]", reason)
                continue
            if dropped:
                self.warn_dropped(f"{key}[{index}]", dict(dropped))
            if len(name) > MAX_TOPIC_CHARS:
                self.warn(f"{key}[{index}]", f"longer than {MAX_TOPIC_CHARS} characters; cut")
                name = name[:MAX_TOPIC_CHARS].rstrip()
            names.append(name)
        return names

    def images(self) -> tuple[Image, ...]:
        raw = self.data.get("images")
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.warn("images", f"must be a list, not {_kind(raw)}; ignored")
            return ()
        images: list[Image] = []
        seen: set[str] = set()
        for index, item in enumerate(raw[: self.limits.max_images]):
            where = f"images[{index}]"
            if not isinstance(item, dict):
                self.warn(where, f"must be a mapping, not {_kind(item)}; ignored")
                continue
            url = safe_url(item.get("url"))
            if not url:
                self.warn(f"{where}.url", "missing or not an http(s) URL; image left out")
                continue
            if url in seen:
                continue
            seen.add(url)
            images.append(
                Image(
                    url=url,
                    mime_type=image_mime_type(url),
                    width=_positive_int(item.get("width")),
                    height=_positive_int(item.get("height")),
                    title=_short_text(item.get("title"), 300),
                    attribution=_short_text(item.get("attribution"), 300),
                )
            )
        if len(raw) > self.limits.max_images:
            self.warn("images", f"{len(raw)} images; only the first {self.limits.max_images} kept")
        return tuple(images)

    def related(self) -> tuple[Related, ...]:
        raw = self.data.get("related")
        if not isinstance(raw, list):
            return ()
        related: list[Related] = []
        for item in raw[: self.limits.max_related]:
            if not isinstance(item, dict):
                continue
            url = safe_url(item.get("webUrl"))
            title = _short_text(item.get("title"), 300)
            if not url or not title:
                continue
            provider = item.get("provider")
            name = _short_text(provider.get("name"), 200) if isinstance(provider, dict) else ""
            related.append(Related(url=url, title=title, provider=name))
        return tuple(related)

    def content(
        self, url: str, summary: str, images: tuple[Image, ...], related: tuple[Related, ...]
    ) -> str:
        parts: list[str] = []
        if images:
            first = images[0]
            alt = escape(first.title or "")
            size = (f' width="{first.width}"' if first.width else "") + (
                f' height="{first.height}"' if first.height else ""
            )
            parts.append(f'<p><img src="{escape(first.url)}" alt="{alt}"{size}></p>')
        body = self.body_html(url)
        parts.append(body or (f"<p>{escape(summary)}</p>" if summary else ""))
        featured = self.featured(url)
        if featured:
            parts.append(featured)
        if related:
            items = "".join(
                f'<li><a href="{escape(r.url)}">{escape(r.title)}</a>'
                + (f" ({escape(r.provider)})" if r.provider else "")
                + "</li>"
                for r in related
            )
            parts.append(f"<p>Related:</p><ul>{items}</ul>")
        return "\n".join(part for part in parts if part)

    def body_html(self, url: str) -> str:
        for text, where in ((self.record.body, "body"), (self.data.get("content"), "content")):
            if not isinstance(text, str) or not text.strip():
                continue
            stripped = self.bounded(text, where).strip()
            rendered = stripped if _is_html(stripped) else markdown_html(stripped)
            dropped: Counter[str] = Counter()
            cleaned = clean_html(rendered, base=url, dropped=dropped)
            if dropped:  # (named as written: Markdown makes U+0000 a U+FFFD)
                self.warn_dropped(where, unpublishable(stripped) or dropped)
            if cleaned:
                return cleaned
        return ""

    def featured(self, url: str) -> str:
        raw = self.data.get("featuredContent")
        if not isinstance(raw, str) or not raw.strip():
            return ""
        # Its iframes become links to what they embed (see clean_html).
        dropped: Counter[str] = Counter()
        cleaned = clean_html(self.bounded(raw, "featuredContent"), base=url, dropped=dropped)
        if dropped:
            self.warn_dropped("featuredContent", dropped)
        return cleaned

    def bounded(self, text: str, where: str) -> str:
        """`text` cut to `max_content_chars` and to `MAX_AMPERSANDS` ampersands, reported."""
        limit = self.limits.max_content_chars
        if len(text) > limit:
            self.warn(where, f"longer than {limit} characters; cut")
            text = text[:limit]
        if text.count("&") > MAX_AMPERSANDS:
            self.warn(where, f"more than {MAX_AMPERSANDS} ampersands (&); cut before the next")
            at = -1
            for _ in range(MAX_AMPERSANDS + 1):
                at = text.index("&", at + 1)
            text = text[:at]
        return text


def convert_record(record: RawRecord, limits: Limits, now: datetime | None = None) -> Conversion:
    """Convert one raw record; unpublished and unusable records give no article.

    With `now` (the build's time), a record published later is held: no article, no
    report, and `due` says when it is published.
    """
    published = record.data.get("published", True)
    if published is not True:
        reports: list[Report] = []
        if published is not False:
            reason = f"must be true or false, got {_describe(published)}; not published"
            reports.append(Report(record.source, "published", reason))
        withdrawal = _withdrawal(record, limits, reports)
        return Conversion(reports=reports, unpublished=True, withdrawal=withdrawal)
    converter = _Converter(record, limits, now)
    try:
        article = converter.convert()
    except _Skip as skip:
        converter.reports.append(Report(record.source, skip.field, skip.reason))
        return Conversion(reports=converter.reports)
    except Exception as exc:  # a value no check foresaw: this record only
        # One record feedpub cannot convert must not stop the build nor the others.
        reason = f"cannot be converted ({type(exc).__name__}: {exc!s:.120}); skipped"
        converter.reports.append(Report(record.source, "record", reason))
        return Conversion(reports=converter.reports)
    if now is not None and article.published > now:
        return Conversion(reports=converter.reports, held=True, due=article.published)
    return Conversion(article=article, reports=converter.reports, due=converter.due)


def _withdrawal(record: RawRecord, limits: Limits, reports: list[Report]) -> Withdrawal | None:
    """The id an unpublished record takes down (None when it has none), with `reports` on
    what decides it. Its own times count, whatever the build's."""
    converter = _Converter(record, limits)
    try:
        withdrawal = converter.withdrawal()
    except _Skip as skip:
        withdrawal = None
        converter.reports.append(Report(record.source, skip.field, skip.reason))
    except Exception as exc:  # a value no check foresaw: this record only
        withdrawal = None
        reason = (
            f"cannot be read ({type(exc).__name__}: {exc!s:.120});"
            " this unpublished record takes nothing down"
        )
        converter.reports.append(Report(record.source, "record", reason))
    reports += converter.reports
    return withdrawal


def image_mime_type(url: str) -> str:
    """The image's media type from the extension of a safe URL's path; image/jpeg when unknown."""
    address = url.split("#", 1)[0].split("?", 1)[0]
    path = address.partition("://")[2].partition("/")[2]  # what follows the host
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _IMAGE_TYPES.get(extension, "image/jpeg")


def _provider(name: str, domain: str) -> tuple[Provider | None, bool]:
    """The provider called `name` (cut to 800 characters) at `domain` ("" for none), and
    whether `domain` is refused as not a domain name."""
    name = plain_text(name)[:200]
    # Some dumps give a whole address ("cnn.com/world/..."); its host is the domain.
    given = unquote(domain.strip())  # "wsj.com%2Farticles%2F..." occurs too
    if "://" in given:  # a whole URL: its host is the domain
        given = _url_host(given)
    host = given.split("/", 1)[0]
    url = ""
    if _DOMAIN.match(host):
        url = safe_url(f"https://{host}/")
        if name == domain.strip():
            name = host
    if not name:
        name = urlsplit(url).hostname or ""
    return (Provider(name=name, url=url) if name else None), bool(domain) and not url


# Pure, and a few hundred providers publish most records; bounded, as hostile records can
# bring millions of distinct ones.
_memo_provider = lru_cache(maxsize=2048)(_provider)


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _is_html(body: str) -> bool:
    """True when a body is HTML: its first markup, after any comments, is a tag."""
    comments = _LEADING_COMMENTS.match(body)
    return body.startswith("<", comments.end() if comments else 0)


# Pure, and the same few hundred topic and tag names recur on most records; bounded, as
# hostile records can bring millions of distinct names (each cut to 400 characters first).
@lru_cache(maxsize=4096)
def _clean_name(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """A topic or tag name as published (before any cut to MAX_TOPIC_CHARS), and the
    characters no feed may carry dropped from it, with their counts."""
    return normalize_topic(plain_text(text)), tuple(unpublishable(text).items())


def _unique_names(names: list[str]) -> tuple[str, ...]:
    """`names` without those that are one topic with an earlier one (`AI`, `ai`, `A-I`)."""
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        key = topic_key(name)
        if key not in seen:
            seen.add(key)
            unique.append(name)
    return tuple(unique)


def _timestamp(value: object) -> tuple[datetime, str]:
    """`parse_timestamp`, which knows no `HugeInteger`."""
    if type(value) is HugeInteger:
        raise TimestampError("must be a timestamp, not a huge integer")
    return parse_timestamp(value)


def _kind(value: object) -> str:
    """What `value` is, for a report: its type's name, or "a huge integer" for a JSON
    integer too long to read (`HugeInteger`)."""
    return "a huge integer" if type(value) is HugeInteger else type(value).__name__


def _describe(value: Any) -> str:
    """A short description of a value for a report, never walking a container.

    Containers may be YAML alias bombs: a billion-item list in a few hundred bytes.
    """
    if isinstance(value, str):
        return repr(value[:40])
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**40 else "a huge integer"
    kind = _kind(value)
    return kind if type(value) is HugeInteger else f"a {kind}"


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        # str.isdigit() accepts superscripts ("²"), which int() refuses: ASCII digits only.
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 7):
            return None
        value = int(digits)
    if isinstance(value, float):
        # Whole floats (`1200.0`) come from JSON dumps; NaN, infinities and fractions do not count.
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    return None


def dropped_message(dropped: Mapping[str, int]) -> str:
    """What a report says of the characters no feed may carry dropped from a field (each
    with how many times)."""
    kinds = sorted(dropped)
    named = ", ".join(f"U+{ord(char):04X}" for char in kinds[:4])
    more = ", ..." if len(kinds) > 4 else ""
    return f"removed {sum(dropped.values())} character(s) no feed may carry ({named}{more})"


def _short_text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return _shorten(plain_text(value[: limit * 4]), limit)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"
