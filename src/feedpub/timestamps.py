"""Read the many shapes of record timestamps into aware UTC datetimes."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

# The W3C feed validator calls any date before 1990 implausible (ImplausibleDate), and
# 1970-01-01, the Unix epoch, is the usual placeholder for "unknown".
MIN_YEAR = 1990
MAX_YEAR = 9999
MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z
# RFC 3339 forms `fromisoformat` refuses: a lower-case `t` or `z`, a leap second (`:60`).
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?P<fraction>\.[0-9]+)?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?\Z"
)
_ZONE_NAME = re.compile(r"\s([A-Za-z]+)\Z")
# A UTC offset at the end of a timestamp, and its minutes: `+00:60` was read as one hour.
_OFFSET = re.compile(r"(?<=[0-9])\s*([+-][0-9]{1,2}:?([0-9]{2}))\Z")
# An RFC 822 year of four digits or more below 100 (`0099`), which the parser read as the
# two-digit year `99` (1999).
_SMALL_LONG_YEAR = re.compile(r"[A-Za-z]{3}\.?,?\s+(?:[0-9]{1,2},?\s+)?(00[0-9]{2,})(?![0-9:])")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


class TimestampError(ValueError):
    """A value that is not a usable timestamp."""


def parse_timestamp(value: object) -> tuple[datetime, str]:
    """`value` as an aware UTC datetime (whole seconds) and a note on any recovery ("" if none).

    Accepts YAML datetimes and dates, RFC 3339 / ISO 8601 strings and RFC 822
    strings. A timestamp without a UTC offset is read as UTC, with a note.
    """
    if (
        type(value) is datetime
        and value.tzinfo is UTC
        and not value.microsecond
        and MIN_YEAR <= value.year <= MAX_YEAR
    ):
        return value, ""  # the usual YAML timestamp: already what the general path makes of it
    return _parse_timestamp_general(value)


def _parse_timestamp_general(value: object) -> tuple[datetime, str]:
    note = ""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
        note = "a date without a time; read as midnight UTC"
    elif isinstance(value, str):
        parsed, note = _parse_text(value.strip())
    else:
        kind = "nothing" if value is None else type(value).__name__
        raise TimestampError(f"must be a timestamp, not {kind}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
        note = note or "no UTC offset; read as UTC"
    try:
        parsed = parsed.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError) as exc:
        raise TimestampError(f"out of range: {value!r}") from exc
    if parsed.year < MIN_YEAR:
        raise TimestampError(
            f"{parsed.date().isoformat()} is before {MIN_YEAR}: not a plausible date"
        )
    if parsed.year > MAX_YEAR:
        raise TimestampError(f"year {parsed.year} is out of range {MIN_YEAR}..{MAX_YEAR}")
    return parsed, note


def _parse_text(text: str) -> tuple[datetime, str]:
    """The datetime `text` writes, and a note on how it was read ("" if plainly)."""
    if not text:
        raise TimestampError("empty timestamp")
    if len(text) > 64:
        raise TimestampError("not a timestamp (too long)")
    offset = _OFFSET.search(text)
    if offset and offset[2] >= "60" and ":" in text[: offset.start()]:
        raise TimestampError(f"not a UTC offset: {offset[1]!r} (its minutes run 00-59)")
    try:
        return datetime.fromisoformat(text), ""
    except ValueError:
        pass
    rfc3339 = _RFC3339.match(text)
    problem = None
    if rfc3339:
        try:
            return _from_rfc3339(rfc3339), ""
        except ValueError as exc:
            problem = exc
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise _unreadable(text, problem) from None
    year = _SMALL_LONG_YEAR.search(text)
    if year:
        raise TimestampError(f"year {year[1]} is before {MIN_YEAR}: not a plausible date")
    zone = _ZONE_NAME.search(text)
    if parsed.tzinfo is None and zone:
        return parsed, f"unknown time zone {zone.group(1)!r}; read as UTC"
    return parsed, ""


def _unreadable(text: str, problem: ValueError | None) -> TimestampError:
    """Why `text` is no timestamp: a date that does not exist (`2024-02-30`), a time that
    does not (`25:00`), or not a form read here."""
    written = _DATE.match(text)
    if written:
        try:
            date(*map(int, written.groups()))
        except ValueError as exc:
            return TimestampError(f"not a real date: {text!r} ({exc})")
    if problem is not None:
        return TimestampError(f"not a real date and time: {text!r} ({problem})")
    return TimestampError(f"not an RFC 3339 or RFC 822 timestamp: {text!r}")


def _from_rfc3339(match: re.Match[str]) -> datetime:
    """A datetime from the parts of an RFC 3339 timestamp; a leap second is read as :59."""
    second = "59" if match["second"] == "60" else match["second"]
    offset = (match["offset"] or "").upper()
    return datetime.fromisoformat(
        f"{match['date']}T{match['time']}:{second}{match['fraction'] or ''}{offset}"
    )


def build_time(scan_started_ns: int | None = None) -> datetime:
    """The moment a build publishes as of: `SOURCE_DATE_EPOCH` when set (reproducible
    builds), else when its scan of the records began (else now). Records dated later are
    held until then."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if fixed.isascii() and fixed.isdigit():
        return datetime.fromtimestamp(min(int(fixed), MAX_EPOCH), UTC)
    seconds = time.time() if scan_started_ns is None else scan_started_ns / 1e9
    return datetime.fromtimestamp(seconds, UTC)
