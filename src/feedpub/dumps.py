"""Big dumps, read in parts: on every core, and never whole in memory.

A JSON Lines dump over `PART_BYTES` is cut after line breaks, a JSON dump between the items
of its list; each part is read and converted on its own, and the record cache knows each
part by a digest of its bytes, so a dump that grows or is edited has only its new and
changed parts read again.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from typing import BinaryIO, NamedTuple

from feedpub.config import Limits
from feedpub.errors import BuildError
from feedpub.records import (
    BOM,
    JSON_LINES_SUFFIXES,
    JSON_SUFFIXES,
    RECORD_JSON,
    FileResult,
    append_item,
    leads_out_of,
    read_json_lines_bytes,
    wide_encoding,
)
from feedpub.report import Report

DUMP_SUFFIXES = JSON_SUFFIXES | JSON_LINES_SUFFIXES
PART_BYTES = 4 * 1024 * 1024
"""A dump bigger than this is read in parts of about this size (see `plan_parts`): a
100k-record JSON Lines dump took 1.5 GB read whole."""


class DumpPart(NamedTuple):
    """The bytes [start, stop) of a dump: its lines `first` to `last` (JSON Lines, cut at
    line breaks), or its items numbered so (JSON: the item `[0]` is number 1); and a digest
    of the bytes (when asked for, or once read), by which the cache knows the part again."""

    start: int
    stop: int
    first: int
    last: int
    digest: bytes = b""


def part_digest(raw: bytes) -> bytes:
    """What identifies a part's bytes (SHA-256, cut to 16 bytes: 1.7 GB/s here)."""
    return hashlib.sha256(raw).digest()[:16]


def is_split_dump(name: str, size: int, limits: Limits) -> bool:
    """True for a file to read in parts: a dump over `PART_BYTES`, within its size limit."""
    if not PART_BYTES < size <= limits.max_dump_bytes:  # first: most files are small
        return False
    return os.path.splitext(name)[1].lower() in DUMP_SUFFIXES


def planned_parts(
    path: str | os.PathLike[str],
    size: int,
    limits: Limits,
    digests: bool = False,
    root: str | os.PathLike[str] | None = None,
) -> list[DumpPart]:
    """The parts to read file `path` (of `size` bytes) in; none for a file read whole: not a
    big dump, unreadable, a symbolic link out of folder `root` (the file's own if None), or
    not read alike in parts and whole (see `plan_parts`)."""
    if not is_split_dump(os.fspath(path), size, limits):
        return []
    if leads_out_of(path, root):
        return []  # read whole, which reports it
    try:
        return plan_parts(path, digests=digests)
    except OSError:  # read whole, which reports it
        return []


def merge_part_reports(before: list[Report], part: list[Report], display: str) -> list[Report]:
    """The reports of a dump's parts so far, and one more part's, as a whole read gives them:
    the reports about the whole file (CRLF line ends) first, each once, then the others."""
    on_file = [report for report in before if report.source == display]
    others = [report for report in before if report.source != display]
    for report in part:
        if report.source != display:
            others.append(report)
        elif report not in on_file:
            on_file.append(report)
    return on_file + others


def plan_parts(
    path: str | os.PathLike[str], part_bytes: int | None = None, digests: bool = False
) -> list[DumpPart]:
    """The parts of dump `path`, at most `part_bytes` (`PART_BYTES`) each (a longer line or
    item is a part of its own), with `digests` if asked; none for a JSON dump that is not
    read alike in parts and whole (see `plan_items`). A part in memory at a time."""
    part_bytes = part_bytes or PART_BYTES
    if os.path.splitext(os.fspath(path))[1].lower() in JSON_SUFFIXES:
        return plan_items(path, part_bytes, digests)
    parts: list[DumpPart] = []
    start, line = 0, 1
    with open(path, "rb") as handle:
        if wide_encoding(handle.read(4)) is not None:
            return []  # UTF-16 or UTF-32: read whole, which reports it once
        while True:
            handle.seek(start)
            block = handle.read(part_bytes)
            if not block:
                break
            cut = len(block) if len(block) < part_bytes else block.rfind(b"\n") + 1
            while not cut:  # no line break yet: the line goes on into the next block
                more = handle.read(part_bytes)
                found = more.find(b"\n")
                if not more or found >= 0:
                    cut = len(block) + (found + 1 if found >= 0 else 0)
                block += more
            breaks = block.count(b"\n", 0, cut)
            lines = breaks + (block[cut - 1 : cut] != b"\n")  # a last line without a break
            digest = part_digest(block[:cut]) if digests else b""
            parts.append(DumpPart(start, start + cut, line, line + lines - 1, digest))
            line += breaks
            start += cut
    return parts


def read_dump_part(
    path: str | os.PathLike[str], display: str, part: DumpPart
) -> tuple[FileResult, bytes]:
    """The records of one part of a dump (see `plan_parts`), and the digest of the bytes
    they were read from.

    Each part is read exactly as the whole file would be (see `records.read_json_lines_bytes`
    for JSON Lines). Raises `DumpChanged` when the part's bytes cannot be the ones planned:
    the dump was rewritten in place meanwhile (appending leaves them alone).
    """
    result = FileResult()
    size = part.stop - part.start
    try:
        with open(path, "rb") as handle:
            handle.seek(max(part.start - 1, 0))
            before = handle.read(1) if part.start else b"\n"  # what the planned cut followed
            raw = handle.read(size)
            more = handle.read(1)
    except OSError as exc:
        result.reports.append(Report(display, "file", f"cannot read: {exc.strerror or exc}"))
        return result, b""
    if os.path.splitext(os.fspath(path))[1].lower() in JSON_SUFFIXES:
        if len(raw) < size:
            raise _changed(display)
        _read_items(raw, display, part, result)
    else:
        # A part is cut after a line break, and ends at one unless it ends the file.
        if len(raw) < size or before != b"\n" or (more and not raw.endswith(b"\n")):
            raise _changed(display)
        read_json_lines_bytes(raw, display, result, first_line=part.first)
    return result, part_digest(raw)


class DumpChanged(BuildError):
    """A dump rewritten while its parts were read: its records would mix two versions, so
    the build fails (and `feedpub serve` or `build --watch` tries again)."""


def _changed(display: str) -> DumpChanged:
    return DumpChanged(
        f"{display}: changed while it was read (rewritten in place?); nothing written:"
        " build again (a dump written to a new file, then renamed over the old one, is"
        " never read half old, half new)"
    )


def _read_items(raw: bytes, display: str, part: DumpPart, result: FileResult) -> None:
    """The records of a JSON dump's part: items and the commas between them (checked when
    planned: UTF-8, valid JSON), numbered as a whole read numbers them."""
    try:
        items = RECORD_JSON.decode("[" + raw.decode("utf-8") + "]")
    except (ValueError, RecursionError):  # the file changed since it was planned
        raise _changed(display) from None
    for index, item in enumerate(items, start=part.first - 1):
        append_item(item, f"{display}[{index}]", result)


# -- the items of a JSON dump ---------------------------------------------------------------

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"
READ_BYTES = 1 << 16
"""A JSON dump is read on in blocks of at least this many bytes (a value read at the end of
the text so far is parsed again from its start when more is read)."""
LIST_KEYS = ("news", "value")
"""The keys a JSON dump's object may hold its list under, in the order a whole read tries."""


class _Text:
    """A file read on as Latin-1 text: one character a byte, so offsets are byte offsets;
    UTF-8 puts no ASCII byte inside a character, so JSON's structure reads the same.
    Only what is still needed is kept."""

    def __init__(self, handle: BinaryIO, block: int) -> None:
        self.handle, self.block = handle, block
        self.text, self.base = "", 0  # `text` holds the bytes from offset `base` on
        self.at = 0  # where the character `char` found is
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.clean = True  # UTF-8, with no NUL, CR or byte-order mark so far

    def more(self) -> bool:
        data = self.handle.read(self.block)
        if self.base == 0 and not self.text and data.startswith(BOM):
            self.clean = False
        if b"\x00" in data or b"\r" in data:
            self.clean = False
        try:
            self.utf8.decode(data, final=not data)
        except UnicodeDecodeError:
            self.clean = False
        self.text += data.decode("latin-1")
        return bool(data)

    def char(self, offset: int) -> str:
        """The first character at or after `offset` that is not white space ("" at the end),
        and its offset in `self.at`."""
        while True:
            index = offset - self.base
            while index < len(self.text) and self.text[index] in _SPACE:
                index += 1
            if index < len(self.text):
                self.at = self.base + index
                return self.text[index]
            offset = self.base + index
            if not self.more():
                self.at = offset
                return ""

    def value_end(self, offset: int) -> int | None:
        """Where the JSON value at `offset` ends (None if it is not valid JSON)."""
        while True:
            index = offset - self.base
            try:
                _value, end = _DECODER.raw_decode(self.text, index)
            except (ValueError, RecursionError):  # (nested too deep: read whole, reported)
                end = -1
            if 0 <= end < len(self.text):  # (a value at the very end may go on: `12|34`)
                return self.base + end
            if not self.more():
                return self.base + end if end >= 0 else None

    def forget_before(self, offset: int) -> None:
        if offset - self.base > self.block:
            self.text = self.text[offset - self.base :]
            self.base = offset

    def bytes_between(self, start: int, stop: int) -> bytes:
        return self.text[start - self.base : stop - self.base].encode("latin-1")


def plan_items(
    path: str | os.PathLike[str], part_bytes: int | None = None, digests: bool = False
) -> list[DumpPart]:
    """The parts of a JSON dump: runs of the items of the list a whole read takes (the
    document, or its object's list under "news", else "value"), at most `part_bytes` each.
    None (an empty list) when the dump is not such a document, or not plain (not UTF-8, a
    NUL, a CR, a byte-order mark): it is read whole then, with the reports that gives."""
    part_bytes = part_bytes or PART_BYTES
    with open(path, "rb") as handle:
        text = _Text(handle, max(part_bytes, READ_BYTES))
        lists: dict[str, list[DumpPart]] = {}
        first = text.char(0)
        if first == "[":
            found = _list_parts(text, text.at, part_bytes, digests)
            end = found[1] if found is not None else None
            if found is not None:
                lists["list"] = found[0]
        elif first == "{":
            end = _object_lists(text, text.at, part_bytes, digests, lists)
        else:
            return []
        if end is None or text.char(end) != "" or not text.clean:
            return []  # more after the document, or not plain: read whole
    if "news" in lists and lists.get("value"):
        return []  # items under "value" beside "news": read whole, which reports them
    for key in ("list", *LIST_KEYS):
        if key in lists:
            return lists[key]
    return []


def _object_lists(
    text: _Text, offset: int, part_bytes: int, digests: bool, lists: dict[str, list[DumpPart]]
) -> int | None:
    """The parts of the lists under `LIST_KEYS` of the object at `offset` (the last of each
    key, as a whole read keeps it), into `lists`; where the object ends (None: not JSON)."""
    position = offset + 1
    if text.char(position) == "}":
        return text.at + 1
    while True:
        if text.char(position) != '"':
            return None
        key_start = text.at
        key_end = text.value_end(key_start)
        if key_end is None or text.char(key_end) != ":":
            return None
        try:
            key = json.loads(text.bytes_between(key_start, key_end))
        except ValueError:  # a key that is not UTF-8: read whole, which reports it
            return None
        if text.char(text.at + 1) == "[" and key in LIST_KEYS:
            found = _list_parts(text, text.at, part_bytes, digests)
            if found is None:
                return None
            lists[key], value_end = found
        else:
            lists.pop(key, None)  # not a list (now): a whole read would not take it
            other_end = text.value_end(text.at)
            if other_end is None:
                return None
            value_end = other_end
        separator = text.char(value_end)
        if separator == "}":
            return text.at + 1
        if separator != ",":
            return None
        position = text.at + 1


def _list_parts(
    text: _Text, offset: int, part_bytes: int, digests: bool
) -> tuple[list[DumpPart], int] | None:
    """The parts of the list at `offset` (its items, grouped), and where it ends."""
    parts: list[DumpPart] = []
    start = stop = -1
    first = count = 0
    position = offset + 1
    if text.char(position) == "]":
        return parts, text.at + 1
    number = 0

    def close() -> None:  # the items from `start` to `stop` are a part
        digest = part_digest(text.bytes_between(start, stop)) if digests else b""
        parts.append(DumpPart(start, stop, first, first + count - 1, digest))
        text.forget_before(stop)

    while True:
        item_start = text.at
        item_end = text.value_end(item_start)
        if item_end is None:
            return None
        number += 1
        if start >= 0 and item_end - start > part_bytes:  # this item would make it too big
            close()
            start = -1
        if start < 0:
            start, first, count = item_start, number, 0
        stop, count = item_end, count + 1
        separator = text.char(item_end)
        if separator != ",":
            close()
        if separator == "]":
            return parts, text.at + 1
        if separator != ",":
            return None
        text.char(text.at + 1)  # the next item
