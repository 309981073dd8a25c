"""Digests of the cached file list a block of names at a time, so that a rebuild reads back
only the cached file entries of the blocks where the folder changed.

A rebuild has to compare every file's (name, size, mtime_ns) with what the cache holds.
Reading 100,000 entries back from SQLite and comparing them took 90-125 ms of a 0.55-0.7 s
rebuild; the digests of the new scan's blocks take 25-30 ms, and only the entries of a
block whose digest changed are read (about a thousand for one changed file).

A block is the entries whose names lie between two boundary names (the first block's lower
bound is "", below every name). Its digest is that of the entries exactly as the cache
stores them (an entry stored racy has mtime -1, so its block never matches a scan and is
read again). The digests are written in the transaction that writes the entries, so they
describe the entries or are not there; a digest that does not match (changed files, or
a damaged digest) only means reading that block's entries.
"""

from __future__ import annotations

import hashlib
import marshal
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import NamedTuple

BLOCK_FILES = 1024
"""Entries a block is made with: about 100 blocks at 100k files, and one changed file reads
about a thousand entries back (1 ms)."""

Key = tuple[str, int, int]  # a file's name, size and mtime_ns


class Blocks(NamedTuple):
    """Block boundaries (`firsts[0]` is "") and each block's digest, in name order."""

    firsts: list[str]
    digests: list[bytes]


class Comparison(NamedTuple):
    """A scan split along the cache's blocks, and which blocks differ."""

    cuts: list[int]  # block k is scan entries cuts[k]:cuts[k+1]
    stale: list[int]  # the blocks whose digest differs from the cache's


def digest_of(entries: list[Key]) -> bytes:
    """The digest of a block's entries: `marshal` of the tuples (about 30 ms for 100k) in its
    version 2, whose bytes depend on the values only (from version 3 on, an object met twice
    is written as a reference to the first, so equal lists can give other bytes)."""
    return hashlib.blake2b(marshal.dumps(entries, 2), digest_size=16).digest()


def usable(rows: Iterable[tuple[object, object]]) -> Blocks | None:
    """The blocks stored as (first, digest) rows in name order, or None when they are not
    what feedpub writes (none yet, or altered): the caller then reads every entry."""
    firsts: list[str] = []
    digests: list[bytes] = []
    for first, digest in rows:
        if type(first) is not str or type(digest) is not bytes or len(digest) != 16:
            return None
        if firsts and first <= firsts[-1]:
            return None
        firsts.append(first)
        digests.append(digest)
    if not firsts or firsts[0] != "":
        return None
    return Blocks(firsts, digests)


def compare(scanned: list[Key], blocks: Blocks) -> Comparison:
    """Split the sorted `scanned` along `blocks` and find the blocks that differ."""
    cuts = _cuts(scanned, blocks.firsts)
    stale = [
        k
        for k, digest in enumerate(blocks.digests)
        if digest_of(scanned[cuts[k] : cuts[k + 1]]) != digest
    ]
    return Comparison(cuts, stale)


def name_ranges(blocks: Blocks, stale: list[int]) -> list[tuple[str, str | None]]:
    """The name ranges [low, high) of the `stale` blocks (None: no upper bound), runs of
    neighbouring blocks joined."""
    ranges: list[tuple[str, str | None]] = []
    last = len(blocks.firsts) - 1
    for k in stale:
        high = None if k == last else blocks.firsts[k + 1]
        if ranges and ranges[-1][1] == blocks.firsts[k]:
            ranges[-1] = (ranges[-1][0], high)
        else:
            ranges.append((blocks.firsts[k], high))
    return ranges


def blocks_containing(blocks: Blocks, names: Iterable[str]) -> list[int]:
    """The blocks whose ranges hold these names, in order."""
    return sorted({bisect_right(blocks.firsts, name) - 1 for name in names})


def updated(stored: list[Key], old: Blocks | None, changed: list[int]) -> Blocks:
    """The blocks of the entries as now `stored` (sorted): the `old` boundaries kept, with
    the digests of the `changed` blocks made again (the others' entries are as they were),
    while the blocks stay near their size; else new blocks of `BLOCK_FILES` entries."""
    if old is not None:
        cuts = _cuts(stored, old.firsts)
        sizes = [cuts[k + 1] - cuts[k] for k in range(len(old.firsts))]
        if max(sizes) <= 2 * BLOCK_FILES and (len(sizes) == 1 or min(sizes) >= BLOCK_FILES // 4):
            digests = list(old.digests)
            for k in changed:
                digests[k] = digest_of(stored[cuts[k] : cuts[k + 1]])
            return Blocks(list(old.firsts), digests)
    starts = range(0, max(len(stored), 1), BLOCK_FILES)
    firsts = ["", *(stored[at][0] for at in starts[1:])]
    return Blocks(firsts, [digest_of(stored[at : at + BLOCK_FILES]) for at in starts])


def redigested(
    old: Blocks, changed: list[int], read: Callable[[list[tuple[str, str | None]]], list[Key]]
) -> Blocks:
    """`old` with the digests of the `changed` blocks made again from their entries as `read`
    from the cache (by name ranges, as `name_ranges` gives them)."""
    digests = list(old.digests)
    for k in changed:
        digests[k] = digest_of(read(name_ranges(old, [k])))
    return Blocks(list(old.firsts), digests)


def _cuts(entries: list[Key], firsts: list[str]) -> list[int]:
    """Where each block begins in the sorted `entries`, and their end."""
    cuts = [0]
    cuts += [bisect_left(entries, first, key=itemgetter(0)) for first in firsts[1:]]
    cuts.append(len(entries))
    return cuts
