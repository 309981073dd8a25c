"""Read record files into raw mappings: front-matter text files, JSON and JSON Lines dumps.

Nothing here interprets fields; it only turns bytes into `RawRecord`s or into
`Report`s that name the file (and line or index) and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
import stat as stat_module
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from feedpub.config import Limits
from feedpub.report import Report
from feedpub.stat_helper import HELPER_SHARE, StatHelper
from feedpub.yaml_loader import load_yaml

FRONT_MATTER_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})
RECORD_SUFFIXES = FRONT_MATTER_SUFFIXES | JSON_SUFFIXES | JSON_LINES_SUFFIXES
BOM = b"\xef\xbb\xbf"
# Byte-order marks of the other Unicode encodings (UTF-32 first: its little-endian mark
# starts with UTF-16's).
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)

# YAML 1.1 printable set; anything else makes libyaml refuse the whole document.
_YAML_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The same set as UTF-8 bytes, for a quick scan of a whole file: C0 controls but tab and
# line breaks, DEL; C1 controls but NEL; U+FFFE and U+FFFF (surrogates are not UTF-8).
_C0_BYTES = bytes(c for c in range(0x20) if c not in b"\t\n\r") + b"\x7f"
_C1_BYTES = re.compile(rb"\xc2[\x80-\x84\x86-\x9f]")
_NONCHARACTER_BYTES = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


class _DuplicateKeys(dict[str, Any]):
    """A JSON object that gave a key more than once (`key`: the first such)."""

    key = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, marked when a key comes twice: `json` keeps the last value silently, so
    `"published": false, ..., "published": true` would publish the record (as YAML does,
    see `yaml_loader.SafeLoader`, such a record is refused)."""
    mapping = dict(pairs)
    if len(mapping) == len(pairs):
        return mapping
    marked = _DuplicateKeys(mapping)
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


RECORD_JSON = json.JSONDecoder(object_pairs_hook=_object)
"""Decodes JSON records and dumps (one decoder, reused: building one per call costs more
than the check, which adds 1.5-3 us to a record's ~13)."""


class HugeInteger:
    """What a JSON integer longer than Python reads from text (4,300 digits: see
    `sys.get_int_max_str_digits`) stands for: the field that holds one is reported when
    converted, where the `ValueError` the number raised made its whole dump unreadable."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"HugeInteger(digits={self.digits})"


def _integer(text: str) -> int | HugeInteger:
    try:
        return int(text)
    except ValueError:  # too many digits: JSON's grammar allows no other failure here
        return HugeInteger(len(text.lstrip("-")))


LENIENT_JSON = json.JSONDecoder(object_pairs_hook=_object, parse_int=_integer)
"""`RECORD_JSON`, with a `HugeInteger` for an integer too long to read. Only for a document
`RECORD_JSON` refused: a Python call for every integer would slow the usual dump down."""
TOO_DEEP = "nested too deep to read (the JSON reader stops at about 1,000 levels); skipped"

_DELIMITER = re.compile(r"^---[ \t]*$", re.MULTILINE)
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: its mapping, its body text and where it came from."""

    source: str
    data: dict[str, Any]
    body: str = ""


@dataclass(slots=True)
class FileResult:
    """What one file yielded: records, and reports about it."""

    records: list[RawRecord] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecordFile:
    """A candidate record file found by scanning the records folder."""

    path: Path
    name: str
    size: int
    mtime_ns: int


def is_skipped_name(name: str) -> bool:
    """True for names a scan passes over, files and folders alike: hidden ones (`.git`,
    `.a.md.swp`) and editors' backup and autosave files (`a.md~`, `#a.md#`), as Jekyll does."""
    return name[0] in ".#" or name[-1] == "~"


def scan_records(folder: Path) -> Iterator[RecordFile]:
    """Every file under `folder` that `is_skipped_name` keeps, recursively, in a stable
    (sorted) order."""
    for name, size, mtime_ns in scan_stats(folder):
        yield RecordFile(folder / name, name, size, mtime_ns)


class Scan(NamedTuple):
    """Every file of a records folder as (name, size, mtime_ns), and when the scan began.

    `changed`, when known, names the only files that can differ from the scan before.
    """

    started_ns: int
    entries: list[tuple[str, int, int]]
    changed: frozenset[str] | None = None


def scan_folder(folder: Path) -> Scan:
    """`scan_stats` of `folder`, stamped with the wall-clock time it began (for racy mtimes)."""
    started_ns = time.time_ns()
    return Scan(started_ns, scan_stats(folder))


RACY_NS = 2_000_000_000
"""A file changed this close to a scan may change again within its mtime tick unseen."""


def has_racy_entries(scan: Scan) -> bool:
    """True when a file of `scan` changed within `RACY_NS` of it (mtimes further in the
    future are clock skew, not a change under way: they would keep it true forever)."""
    low, high = scan.started_ns - RACY_NS, scan.started_ns + RACY_NS
    mtimes = list(map(itemgetter(2), scan.entries))
    if not mtimes or max(mtimes) < low:  # the usual case, decided in C
        return False
    return any(low <= mtime_ns <= high for mtime_ns in mtimes)


def rescan_names(previous: Scan, folder: Path, names: Iterable[str]) -> Scan:
    """`previous` brought up to date for the files `names` (relative, `/`-separated) only.

    What a full `scan_folder` would now give, when nothing but those files changed since
    `previous`: each is stat'ed again, and is listed only if a full scan would list it
    (a file, not hidden, not under a hidden or symlinked folder).
    """
    started_ns = time.time_ns()
    entries = list(previous.entries)
    for name in sorted(set(names)):
        found = _listed_stat(folder, name)
        at = bisect_left(entries, name, key=itemgetter(0))
        present = at < len(entries) and entries[at][0] == name
        if found is None:
            if present:
                del entries[at]
        elif present:
            entries[at] = (name, *found)
        else:
            entries.insert(at, (name, *found))
    return Scan(started_ns, entries, frozenset(names))


def _listed_stat(folder: Path, name: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of `folder/name` if `scan_stats` would list it, else None."""
    parts = name.split("/")
    if any(not part or is_skipped_name(part) for part in parts):
        return None  # hidden (and "." or ".."), an editor's backup, or an empty part
    try:
        current = str(folder)
        for part in parts[:-1]:  # scan_stats descends real folders only, never links
            current = os.path.join(current, part)
            if not stat_module.S_ISDIR(os.lstat(current).st_mode):
                return None
        path = os.path.join(current, parts[-1])
        try:
            found = os.stat(path)  # a link to a file counts
        except OSError:
            if stat_module.S_ISLNK(os.lstat(path).st_mode):
                return BROKEN_LINK  # listed, so that reading it reports it
            raise
    except (OSError, ValueError):
        return None
    return (found.st_size, found.st_mtime_ns) if stat_module.S_ISREG(found.st_mode) else None


BROKEN_LINK = (-1, 0)
"""The (size, mtime_ns) a scan lists a symbolic link under that leads nowhere or loops (`ln
-s loop.json loop.json`): reading it reports why it cannot be read; unlisted, a dump
replaced by one left the feeds without a word."""


def scan_stats(folder: Path) -> list[tuple[str, int, int]]:
    """`scan_records` as plain (name, size, mtime_ns) tuples: cheap for 100k files.

    Each folder is listed through an open descriptor (one at a time), so the kernel
    resolves only a file's own name when it is stat'ed (about 10% quicker on 100k
    files), and its files are stat'ed in name order, which is usually the order they
    were made in and so the order of their inodes on disk (about 13% quicker again). Part
    of a big folder's names are stat'ed meanwhile by a helper process (`StatHelper`).
    """
    found: list[tuple[str, int, int]] = []
    stack = [_Place(str(folder), "", os.O_RDONLY | os.O_DIRECTORY)]  # it may be a link
    while stack:
        place = stack.pop()
        try:
            descriptor = os.open(place.path, place.flags)
        except OSError:
            continue
        try:
            _scan_open_folder(descriptor, place, found, stack)
        finally:
            os.close(descriptor)
    found.sort(key=itemgetter(0))
    return found


class _Place(NamedTuple):
    """A folder being scanned: its path, its files' name prefix, and how it was opened."""

    path: str
    prefix: str
    flags: int


def _scan_open_folder(
    descriptor: int, place: _Place, found: list[tuple[str, int, int]], stack: list[_Place]
) -> None:
    """Add the files of the folder open as `descriptor` to `found`, its folders to `stack`."""
    helper = StatHelper.start(descriptor)  # (before listing: it starts while we list)
    try:
        try:
            names = [name for name in os.listdir(descriptor) if not is_skipped_name(name)]
        except OSError:
            names = []
        theirs: list[str] = []
        if helper is not None:  # (any split will do: `scan_stats` sorts what is found)
            cut = len(names) - int(len(names) * HELPER_SHARE)
            if helper.send(names[cut:]):
                names, theirs = names[:cut], names[cut:]
        names.sort()  # (each part is sorted where it is stat'ed: inode order, see above)
        _stat_names(descriptor, place, names, found, stack)
        if helper is None or not theirs:
            return
        answer = helper.answer()
        if answer is None:
            _stat_names(descriptor, place, theirs, found, stack)
            return
        files, others = answer
        if place.prefix:
            files = [(place.prefix + name, size, mtime) for name, size, mtime in files]
        found += files
        _stat_names(descriptor, place, others, found, stack)
    finally:
        if helper is not None:
            helper.stop()


def _stat_names(
    descriptor: int,
    place: _Place,
    names: list[str],
    found: list[tuple[str, int, int]],
    stack: list[_Place],
) -> None:
    """`stat` each of `names` in the folder open as `descriptor`: a file (or a link to one)
    is added to `found`, a broken link too (as `BROKEN_LINK`), a real folder to `stack`."""
    append, stat, lstat = found.append, os.stat, os.lstat
    is_file, is_folder, is_link = stat_module.S_ISREG, stat_module.S_ISDIR, stat_module.S_ISLNK
    prefix = place.prefix
    for name in names:
        try:
            try:
                found_stat = stat(name, dir_fd=descriptor)  # follows links, as reading will
            except OSError:
                if is_link(lstat(name, dir_fd=descriptor).st_mode):  # (gone: raises)
                    append((prefix + name, *BROKEN_LINK))
                continue
            mode = found_stat.st_mode
            if is_file(mode):
                append((prefix + name, found_stat.st_size, found_stat.st_mtime_ns))
            elif is_folder(mode) and not is_link(lstat(name, dir_fd=descriptor).st_mode):
                inner = os.path.join(place.path, name)
                stack.append(_Place(inner, f"{prefix}{name}/", place.flags | os.O_NOFOLLOW))
        except OSError:
            continue


def read_record_file(
    path: str | os.PathLike[str],
    display: str,
    limits: Limits,
    root: str | os.PathLike[str] | None = None,
) -> FileResult:
    """Read one file into raw records, reporting every problem under `display`; a symbolic
    link is followed only to a file inside folder `root` (the file's own folder if None)."""
    result = FileResult()
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in RECORD_SUFFIXES:
        result.reports.append(
            Report(display, "file", f"not a record file ({suffix or 'no extension'})")
        )
        return result
    size_limit = (
        limits.max_record_bytes if suffix in FRONT_MATTER_SUFFIXES else limits.max_dump_bytes
    )
    try:
        raw = _read_at_most(name, size_limit + 1, root)
    except LinkLeadsOut:
        result.reports.append(Report(display, "file", LinkLeadsOut.reason))
        return result
    except OSError as exc:
        result.reports.append(Report(display, "file", f"cannot read: {exc.strerror or exc}"))
        return result
    if raw is None:
        result.reports.append(Report(display, "file", "not a regular file; skipped"))
        return result
    if len(raw) > size_limit:
        result.reports.append(
            Report(display, "file", f"larger than the {size_limit}-byte limit; skipped")
        )
        return result
    return read_record_bytes(raw, suffix, display, result)


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO does not wait
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)  # a symbolic link fails to open: see `_open_record`
)


class LinkLeadsOut(OSError):
    """A record file is a symbolic link to something outside the records folder."""

    reason = "a symbolic link out of the records folder; skipped"


def leads_out_of(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> bool:
    """True when `path` is a symbolic link whose target lies outside folder `root` (the
    link's own folder if None): a record set from elsewhere, say a cloned repository, may
    hold `a.md -> ~/.ssh/id_rsa`."""
    if not os.path.islink(path):
        return False
    home = os.path.realpath(os.path.dirname(path) if root is None else root)
    target = os.path.realpath(path)
    try:
        return os.path.commonpath((home, target)) != home
    except ValueError:  # another drive (Windows)
        return True


def _open_record(name: str, root: str | os.PathLike[str] | None) -> int:
    """A descriptor of file `name` for reading. Regular files open at the first try; a
    symbolic link, refused by `O_NOFOLLOW`, is opened at its target if that lies inside
    `root` (else `LinkLeadsOut`), so the check costs nothing for the usual file."""
    try:
        return os.open(name, _OPEN_FLAGS)
    except OSError:
        if not os.path.islink(name):
            raise
    if leads_out_of(name, root):
        raise LinkLeadsOut(name)
    return os.open(os.path.realpath(name), _OPEN_FLAGS)  # a loop still fails here


def _read_at_most(name: str, limit: int, root: str | os.PathLike[str] | None) -> bytes | None:
    """Up to `limit` bytes of file `name` (None if it is not a regular file: a FIFO swapped
    in would block), without a `limit`-sized buffer for every small file (2 MB each).

    Plain descriptor calls: about 20 us a file quicker than `Path.open` at 100k files.
    """
    descriptor = _open_record(name, root)
    try:
        found = os.fstat(descriptor)
        if not stat_module.S_ISREG(found.st_mode):
            return None
        raw = _read_up_to(descriptor, min(found.st_size, limit - 1) + 1)
        if found.st_size < len(raw) < limit:  # the file grew while being read
            raw += _read_up_to(descriptor, limit - len(raw))
        return raw
    finally:
        os.close(descriptor)


def _read_up_to(descriptor: int, count: int) -> bytes:
    """`count` bytes, or fewer at the end of the file (`os.read` may return less)."""
    raw = os.read(descriptor, count)
    if not raw or len(raw) == count:
        return raw
    parts = [raw]
    count -= len(raw)
    while count > 0:
        part = os.read(descriptor, count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def read_record_bytes(
    raw: bytes, suffix: str, display: str, result: FileResult | None = None
) -> FileResult:
    """Parse the bytes of a record file with suffix `suffix` (size limits already applied)."""
    result = FileResult() if result is None else result
    wide = wide_encoding(raw)
    if wide is not None:
        reason = f"{wide} text (by its byte-order mark); records must be UTF-8"
        result.reports.append(Report(display, "file", reason))
        return result
    if suffix in JSON_LINES_SUFFIXES and raw.strip():  # line by line: one bad line costs itself
        read_json_lines_bytes(raw, display, result)
        return result
    text = _decode(raw, display, result)
    if text is None:
        return result
    if suffix in FRONT_MATTER_SUFFIXES:
        _read_front_matter(text, display, result, may_hold_yaml_forbidden(raw))
    elif suffix in JSON_SUFFIXES:
        _read_json(text, display, result)
    else:
        result.reports.append(Report(display, "file", f"not a record file ({suffix})"))
    return result


def wide_encoding(raw: bytes) -> str | None:
    """ "UTF-16" or "UTF-32" when the bytes `raw` start with that encoding's byte-order mark
    (a file saved so reads as binary: every ASCII character comes with NUL bytes)."""
    if raw[:1] not in (b"\xff", b"\xfe", b"\x00"):  # the usual file: one check
        return None
    return next((name for bom, name in _WIDE_BOMS if raw.startswith(bom)), None)


def _decode(raw: bytes, display: str, result: FileResult) -> str | None:
    if not raw.strip():
        result.reports.append(Report(display, "file", "empty file"))
        return None
    if b"\x00" in raw:
        result.reports.append(Report(display, "file", "binary file (NUL bytes), not a record"))
        return None
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
        result.reports.append(Report(display, "file", "byte-order mark removed", skipped=False))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.reports.append(
            Report(display, "file", f"not UTF-8 text (bad byte at offset {exc.start})")
        )
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        result.reports.append(
            Report(display, "file", "CR/CRLF line ends read as LF", skipped=False)
        )
    return text


def may_hold_yaml_forbidden(raw: bytes) -> bool:
    """False when the UTF-8 bytes `raw` surely hold no character YAML forbids (a quick scan)."""
    return (
        len(raw.translate(None, _C0_BYTES)) != len(raw)
        or (b"\xc2" in raw and _C1_BYTES.search(raw) is not None)
        or any(noncharacter in raw for noncharacter in _NONCHARACTER_BYTES)
    )


class NoFrontMatter(ValueError):
    """A text file without a complete front matter block; the message says what is missing."""


def split_front_matter(text: str) -> tuple[str, str]:
    """The YAML header and the body of a front-matter text (raises `NoFrontMatter`)."""
    if not text.startswith("---") or not _DELIMITER.match(text):
        raise NoFrontMatter("no front matter (must start with '---')")
    start = text.find("\n") + 1 or len(text)
    at = start - 1  # where the line break before a candidate closing line can be
    while True:
        dashes, dots = text.find("\n---", at), text.find("\n...", at)
        if dashes < 0 and dots < 0:
            raise NoFrontMatter("front matter has no closing '---' line")
        at = dots if dashes < 0 or 0 <= dots < dashes else dashes
        closing = _CLOSING.match(text, at + 1)
        if closing is not None:
            break
        at += 1
    body = text[closing.end() + 1 :] if closing.end() < len(text) else ""
    return text[start : closing.start()], body


def _split_front_matter_general(text: str) -> tuple[str, str]:
    """`split_front_matter` by regular expressions alone (what the tests compare it with)."""
    if not _DELIMITER.match(text):
        raise NoFrontMatter("no front matter (must start with '---')")
    start = text.index("\n") + 1 if "\n" in text else len(text)
    closing = _CLOSING.search(text, start)
    if closing is None:
        raise NoFrontMatter("front matter has no closing '---' line")
    body = text[closing.end() + 1 :] if closing.end() < len(text) else ""
    return text[start : closing.start()], body


def _read_front_matter(text: str, display: str, result: FileResult, may_be_unclean: bool) -> None:
    try:
        header, body = split_front_matter(text)
    except NoFrontMatter as missing:
        result.reports.append(Report(display, "file", str(missing)))
        return
    forbidden = len(_YAML_FORBIDDEN.findall(header)) if may_be_unclean else 0
    if forbidden:
        header = _YAML_FORBIDDEN.sub("", header)
        result.reports.append(
            Report(display, "file", f"removed {forbidden} character(s) YAML forbids", skipped=False)
        )
    data = _load_yaml(header, display, result)
    if data is not None:
        result.records.append(RawRecord(display, data, body))


def _load_yaml(header: str, display: str, result: FileResult) -> dict[str, Any] | None:
    try:
        data = load_yaml(header)  # PyYAML's safe load, sped up where provably the same
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 2}" if exc.problem_mark else ""
        problem = exc.problem or exc.context or "syntax error"
        result.reports.append(Report(display, "front matter", f"not valid YAML: {problem}{where}"))
        return None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        result.reports.append(Report(display, "front matter", f"not valid YAML: {exc}"))
        return None
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        result.reports.append(
            Report(display, "front matter", f"must be a mapping of fields, not {kind}")
        )
        return None
    return data


def _read_json(text: str, display: str, result: FileResult) -> None:
    try:
        items, unread = _dump_items(RECORD_JSON.decode(text))
    except json.JSONDecodeError as exc:
        result.reports.append(Report(display, "file", f"not valid JSON: {exc}"))
        return
    except (ValueError, RecursionError):  # an integer too long, or nesting too deep
        try:
            items, unread = _items_one_by_one(text)
        except json.JSONDecodeError as exc:
            result.reports.append(Report(display, "file", f"not valid JSON: {exc}"))
            return
    if unread:
        reason = (
            f"{unread} item{'s' * (unread != 1)} not read: a dump's records are those under 'news'"
        )
        result.reports.append(Report(display, "value", reason))
    if not isinstance(items, list):
        result.reports.append(
            Report(
                display, "file", "JSON must be a list of records or hold one under 'news'/'value'"
            )
        )
        return
    for index, item in enumerate(items):
        if item is _TOO_DEEP:
            result.reports.append(Report(f"{display}[{index}]", "record", TOO_DEEP))
        else:
            append_item(item, f"{display}[{index}]", result)


class _Items(NamedTuple):
    """The items of a JSON dump (None: it holds no records), and how many items beside them
    are not read (a list under "value" beside one under "news")."""

    items: list[Any] | None
    unread: int = 0


def _dump_items(data: Any) -> _Items:
    """The items of a JSON dump: the document's list, or its object's under "news", else
    "value", or the object itself as one record if it has a title."""
    if isinstance(data, list):
        return _Items(data)
    if isinstance(data, dict):
        lists = {key: data[key] for key in DUMP_LIST_KEYS if isinstance(data.get(key), list)}
        if lists:
            return _chosen_list(lists)
        return _Items([data] if "title" in data else None)
    return _Items(None)


def _chosen_list(lists: dict[str, list[Any]]) -> _Items:
    """Of a dump object's lists by key, the one its records are read from: "news", else
    "value" (some APIs send both, with the records under "news")."""
    if "news" in lists:
        return _Items(lists["news"], len(lists.get("value", ())))
    return _Items(lists["value"])


DUMP_LIST_KEYS = ("news", "value")
"""The keys a JSON dump's object may hold its list under, in the order they are tried."""
_TOO_DEEP = object()  # an item `_items_one_by_one` could not read for its depth
_SPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _items_one_by_one(text: str) -> _Items:
    """`_dump_items` of JSON `text` that `RECORD_JSON` could not read whole, read with
    `LENIENT_JSON`: whole if its integers were the trouble, else value by value, where an
    item nested too deep is `_TOO_DEEP`, so that it alone is left out. Raises
    `JSONDecodeError` where `text` is not JSON (an item too deep is not looked into: nested
    so, it is left out whatever it holds)."""
    start = _skip_space(text, 0)
    try:
        value, end = LENIENT_JSON.raw_decode(text, start)
        items = _dump_items(value)
    except RecursionError:
        items, end = _deep_document_items(text, start)
    if _SPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise json.JSONDecodeError("Extra data", text, end)
    return items


def _deep_document_items(text: str, start: int) -> tuple[_Items, int]:
    """`_dump_items` of the JSON document at `start`, read value by value, and its end."""
    if text.startswith("[", start):
        listed, end = _list_one_by_one(text, start)
        return _Items(listed), end
    if not text.startswith("{", start):
        raise json.JSONDecodeError("Expecting value", text, start)
    lists: dict[str, list[Any]] = {}
    others: dict[str, Any] = {}
    position = _skip_space(text, start + 1)
    if text.startswith("}", position):
        return _Items(None), position + 1
    while True:
        if not text.startswith('"', position):
            raise json.JSONDecodeError("Expecting property name", text, position)
        key, position = LENIENT_JSON.raw_decode(text, position)
        position = _skip_space(text, position)
        if not text.startswith(":", position):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
        position = _skip_space(text, position + 1)
        if key in DUMP_LIST_KEYS and text.startswith("[", position):
            lists[key], position = _list_one_by_one(text, position)
            others.pop(key, None)
        else:
            others[key], position = _value_or_too_deep(text, position)
            lists.pop(key, None)  # the last value of a key counts, as in a whole read
        position = _skip_space(text, position)
        if text.startswith("}", position):
            break
        if not text.startswith(",", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
        position = _skip_space(text, position + 1)
    if lists:
        return _chosen_list(lists), position + 1
    return _Items([_TOO_DEEP] if "title" in others else None), position + 1  # one deep record


def _list_one_by_one(text: str, start: int) -> tuple[list[Any], int]:
    """The items of the JSON list at `start`, each read on its own, and where it ends."""
    items: list[Any] = []
    position = _skip_space(text, start + 1)
    if text.startswith("]", position):
        return items, position + 1
    while True:
        item, position = _value_or_too_deep(text, position)
        items.append(item)
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return items, position + 1
        if not text.startswith(",", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
        position = _skip_space(text, position + 1)


def _value_or_too_deep(text: str, start: int) -> tuple[Any, int]:
    """The JSON value at `start` and where it ends; `_TOO_DEEP` for one nested too deep to
    read, found to end where its brackets close (its strings skipped whole)."""
    try:
        return LENIENT_JSON.raw_decode(text, start)
    except RecursionError:
        pass
    depth, position = 0, start
    while True:
        found = _STRUCTURE.search(text, position)
        if found is None:
            raise json.JSONDecodeError("Unterminated value", text, start)
        position = found.end()
        mark = found.group()
        if mark == '"':
            rest = _STRING_REST.match(text, position)
            if rest is None:
                raise json.JSONDecodeError("Unterminated string", text, found.start())
            position = rest.end()
        elif mark in "[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return _TOO_DEEP, position


def _skip_space(text: str, position: int) -> int:
    """Where the white space from `position` on ends; raises at the end of `text`."""
    end = _SPACE.match(text, position).end()  # type: ignore[union-attr]
    if end == len(text):
        raise json.JSONDecodeError("Expecting value", text, end)
    return end


def read_json_lines_bytes(
    raw: bytes, display: str, result: FileResult, first_line: int = 1
) -> None:
    """The records of JSON Lines bytes (a whole file, or a part of one from `first_line` on).

    Line by line: bytes that are not UTF-8, or NULs, cost only the lines they are in, each
    reported by its number; a byte-order mark at the start and CRLF line ends are recovered
    with a report on the file; a lone CR does not end a line.
    """
    if first_line == 1 and raw.startswith(BOM):
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
    if text is not None:  # the usual case: the whole text at once
        for number, line in enumerate(text.split("\n"), start=first_line):
            read_json_line(line.removesuffix("\r"), f"{display}:{number}", result)
        return
    for number, line_bytes in enumerate(raw.split(b"\n"), start=first_line):
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


def read_json_line(line: str, source: str, result: FileResult) -> None:
    if not line.strip():
        return
    try:
        item = RECORD_JSON.decode(line)
    except json.JSONDecodeError as exc:
        result.reports.append(Report(source, "line", f"not valid JSON: {exc}"))
        return
    except (ValueError, RecursionError):  # an integer too long, or nesting too deep
        try:
            item = LENIENT_JSON.decode(line)
        except json.JSONDecodeError as exc:
            result.reports.append(Report(source, "line", f"not valid JSON: {exc}"))
            return
        except RecursionError:
            result.reports.append(Report(source, "line", TOO_DEEP))
            return
    append_item(item, source, result)


def append_item(item: Any, source: str, result: FileResult) -> None:
    if type(item) is _DuplicateKeys:
        reason = f"gives the key {item.key[:80]!r} twice; not a valid record"
        result.reports.append(Report(source, "record", reason))
    elif isinstance(item, dict):
        result.records.append(RawRecord(source, item, ""))
    else:
        kind = "null" if item is None else type(item).__name__
        result.reports.append(Report(source, "record", f"must be a JSON object, not {kind}"))
