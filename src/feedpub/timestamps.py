"""Read the many shapes of record timestamps into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

MIN_YEAR = 1900
MAX_YEAR = 9999


class TimestampError(ValueError):
    """A value that is not a usable timestamp."""


def parse_timestamp(value: object) -> tuple[datetime, str]:
    """`value` as an aware UTC datetime (whole seconds) and a note on any recovery ("" if none).

    Accepts YAML datetimes and dates, RFC 3339 / ISO 8601 strings and RFC 822
    strings. A timestamp without a UTC offset is read as UTC, with a note.
    """
    note = ""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
        note = "a date without a time; read as midnight UTC"
    elif isinstance(value, str):
        parsed = _parse_text(value.strip())
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
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise TimestampError(f"year {parsed.year} is out of range {MIN_YEAR}..{MAX_YEAR}")
    return parsed, note


def _parse_text(text: str) -> datetime:
    if not text:
        raise TimestampError("empty timestamp")
    if len(text) > 64:
        raise TimestampError("not a timestamp (too long)")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise TimestampError(f"not an RFC 3339 or RFC 822 timestamp: {text!r}") from None
