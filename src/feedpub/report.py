"""Problems found in the input: one line each, `source: field: reason`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Report:
    """One problem with one record or file.

    `skipped` is True when the record (or file) was left out, False when the
    problem was recovered from and the record still publishes.
    """

    source: str
    field: str
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        # One report is one line, whatever a file name or a value holds.
        return _printable(f"{self.source}: {self.field}: {self.reason}")


def _printable(text: str) -> str:
    """`text` with control characters (line breaks included) written as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


ReportSink = Callable[[Report], None]
