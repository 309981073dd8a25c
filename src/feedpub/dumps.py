"""Big dumps, read in parts: on every core, and never whole in memory.

A JSON Lines dump over `PART_BYTES` is cut after line breaks; each part is read and
converted on its own, and the record cache knows each part by a digest of its bytes, so a
dump that grows or is edited has only its new and changed parts read again.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

from feedpub.config import Limits
from feedpub.records import BOM, JSON_LINES_SUFFIXES, FileResult, read_json_line
from feedpub.report import Report

PART_BYTES = 4 * 1024 * 1024
"""A dump bigger than this is read in parts of about this size (see `plan_parts`): a
100k-record JSON Lines dump took 1.5 GB read whole."""


class DumpPart(NamedTuple):
    """The lines of a JSON Lines dump that lie in its bytes [start, stop), which begin and
    end at line breaks: `lines` of them from line `first_line` on, and a digest of the bytes
    (when asked for, or once read), by which the cache knows the part again."""

    start: int
    stop: int
    first_line: int
    lines: int
    digest: bytes = b""


def part_digest(raw: bytes) -> bytes:
    """What identifies a part's bytes (SHA-256, cut to 16 bytes: 1.7 GB/s here)."""
    return hashlib.sha256(raw).digest()[:16]


def is_split_dump(name: str, size: int, limits: Limits) -> bool:
    """True for a file read in parts: a JSON Lines dump over `PART_BYTES`, within its limit."""
    suffix = os.path.splitext(name)[1].lower()
    return suffix in JSON_LINES_SUFFIXES and PART_BYTES < size <= limits.max_dump_bytes


def plan_parts(
    path: str | os.PathLike[str], part_bytes: int | None = None, digests: bool = False
) -> list[DumpPart]:
    """The parts of JSON Lines file `path`: at most `part_bytes` (`PART_BYTES`) each, cut
    after a line break (a longer line is a part of its own), with `digests` if asked. One
    pass over the file, a part in memory at a time."""
    part_bytes = part_bytes or PART_BYTES
    parts: list[DumpPart] = []
    start, line = 0, 1
    with open(path, "rb") as handle:
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
            parts.append(DumpPart(start, start + cut, line, lines, digest))
            line += breaks
            start += cut
    return parts


def read_dump_part(
    path: str | os.PathLike[str], display: str, part: DumpPart
) -> tuple[FileResult, bytes]:
    """The records of one part of a JSON Lines dump (see `plan_parts`), and the digest of
    the bytes they were read from.

    As for a whole file, except that bytes that are not UTF-8 (or NULs) cost only the lines
    they are in, each reported by its number, and a lone CR does not end a line.
    """
    result = FileResult()
    try:
        with open(path, "rb") as handle:
            handle.seek(part.start)
            raw = handle.read(part.stop - part.start)
    except OSError as exc:
        result.reports.append(Report(display, "file", f"cannot read: {exc.strerror or exc}"))
        return result, b""
    digest = part_digest(raw)
    if part.start == 0 and raw.startswith(BOM):
        raw = raw[len(BOM) :]
        result.reports.append(Report(display, "file", "byte-order mark removed", skipped=False))
    if b"\r\n" in raw:
        result.reports.append(
            Report(display, "file", "CR/CRLF line ends read as LF", skipped=False)
        )
    try:
        text = None if b"\x00" in raw else raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        for number, line in enumerate(text.split("\n"), start=part.first_line):
            read_json_line(line.removesuffix("\r"), f"{display}:{number}", result)
        return result, digest
    for number, line_bytes in enumerate(raw.split(b"\n"), start=part.first_line):
        source = f"{display}:{number}"
        if b"\x00" in line_bytes:
            result.reports.append(Report(source, "line", "binary data (NUL bytes), not a record"))
            continue
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            result.reports.append(
                Report(source, "line", f"not UTF-8 text (bad byte at offset {exc.start})")
            )
            continue
        read_json_line(line.removesuffix("\r"), source, result)
    return result, digest
