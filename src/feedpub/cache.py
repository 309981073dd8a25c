"""The persistent record cache: parsed, validated articles and reports per file, in SQLite.

A file's entry is keyed by its path (relative to the records folder), size and
mtime_ns; a rebuild converts only new and changed files and drops removed ones.
The cache also keeps, per output file, a digest of what it was rendered from, so
feeds whose entries did not change are not rendered again.

The cache is a disposable copy: anything unexpected in it (not SQLite, another
schema, another feedpub or other limits: see `feedpub.fingerprint`) makes it start empty.
One build uses a cache at a time (an exclusive lock on `lock` in its folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from feedpub.codec import ArticleRow, CacheCorrupt, decode_topics
from feedpub.dumps import DumpPart

SCHEMA_VERSION = 10
APPLICATION_ID = 0x46445042  # "FDPB"
DB_NAME = "records.sqlite"
LOCK_NAME = "lock"
PAGE_SIZE = 16_384
"""Bytes per database page. With SQLite's default 4 KiB a 100k first build spent 2.6 s storing
rows; with 16 KiB 2.1 s (fewer, fuller B-tree pages for ~1 KB article rows), 4% of its time."""
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE files(
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    records INTEGER NOT NULL, unpublished INTEGER NOT NULL, reports TEXT
) WITHOUT ROWID;
CREATE TABLE articles(
    file TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, published INTEGER NOT NULL,
    updated INTEGER NOT NULL, source TEXT NOT NULL, topics TEXT NOT NULL, digest BLOB NOT NULL,
    winner INTEGER NOT NULL DEFAULT 0, shared_keys INTEGER NOT NULL, withdrawn INTEGER NOT NULL,
    PRIMARY KEY(file, seq)
) WITHOUT ROWID;
CREATE TABLE topics(
    file TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    published INTEGER NOT NULL, id TEXT NOT NULL, winner INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(file, seq, name)
) WITHOUT ROWID;
CREATE TABLE topic_counts(
    key TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(key, name)
) WITHOUT ROWID;
CREATE TABLE bodies(file TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE parts(
    file TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL,
    first_number INTEGER NOT NULL, last_number INTEGER NOT NULL, digest BLOB NOT NULL,
    records INTEGER NOT NULL, unpublished INTEGER NOT NULL, reports TEXT,
    PRIMARY KEY(file, start)
) WITHOUT ROWID;
CREATE TABLE outputs(
    path TEXT PRIMARY KEY, digest BLOB NOT NULL, sha BLOB NOT NULL, stamp TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE blocks(first TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID;
"""


# Secondary indexes: an empty cache is filled without them, then they are built (sorted) once.
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS bodies_key ON bodies(file, seq)",
    "CREATE INDEX IF NOT EXISTS articles_id ON articles(id)",
    "CREATE INDEX IF NOT EXISTS articles_feed ON articles(winner, published DESC, id)",
    "CREATE INDEX IF NOT EXISTS articles_shared_keys ON articles(winner) WHERE shared_keys = 1",
    "CREATE INDEX IF NOT EXISTS articles_withdrawn ON articles(withdrawn) WHERE withdrawn != 0",
    "CREATE INDEX IF NOT EXISTS topics_feed ON topics(winner, key, published DESC, id)",
    # The files with reports, which every build passes on: 5-9 ms a build to find at 100k
    # files without it.
    "CREATE INDEX IF NOT EXISTS files_reported ON files(name) WHERE reports IS NOT NULL",
)


KEPT_TOPICS = "SELECT key, name FROM topics WHERE {} AND +winner = 1"
"""The kept topics of the articles a condition on `file` (and `seq`) selects: the `+` keeps
SQLite from choosing the index that leads with `winner` (topics_feed) and walking every kept
article's topics (115 ms a file at 100k articles, instead of a look-up by primary key)."""


class StoredOutput(NamedTuple):
    """What the cache keeps of one output file: the digest of what it is rendered from, the
    SHA-256 of its bytes, and the `stat` stamp of the file once those bytes were read back
    from it ("" when none was taken: see `rerender.output_stamp`)."""

    digest: bytes
    sha: bytes
    stamp: str


class StoredPart(NamedTuple):
    """A part of a dump as the cache keeps it: the part, its counts and its reports."""

    part: DumpPart
    records: int
    unpublished: int
    reports: str | None


class StoredFile(NamedTuple):
    """A converted file's rows in the form they are inserted (built in the pool workers)."""

    name: str
    articles: list[tuple[Any, ...]]
    topics: list[tuple[Any, ...]]
    bodies: list[tuple[str, int, str]]


def stored_file(name: str, rows: list[ArticleRow], first_seq: int = 0) -> StoredFile:
    """The `articles`, `topics` and `bodies` rows of the articles of file `name`, keyed by
    their position from `first_seq` on."""
    return StoredFile(
        name,
        [(name, seq, *r[:6], r.shared_keys, r.withdrawn) for seq, r in enumerate(rows, first_seq)],
        [
            (name, seq, key, topic, r.published, r.id)
            for seq, r in enumerate(rows, first_seq)
            for key, topic in r.keyed_topics
        ],
        [(name, seq, r.data) for seq, r in enumerate(rows, first_seq) if not r.withdrawn],
    )


# SQLite's result codes for trouble around the cache, not in it: a full disk, an I/O error,
# a read-only file or folder, no memory, a lock another program holds. The cache may well
# be sound: it is kept, and the build goes on without it (see `build._through_cache`).
_TROUBLE_AROUND = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
})  # fmt: skip


def is_trouble_around(error: BaseException) -> bool:
    """True for an SQLite error that says nothing of the cache's contents (`_TROUBLE_AROUND`):
    throwing the cache away would not help, and the next build may use it again."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.Error) and code is not None and code & 0xFF in _TROUBLE_AROUND


class RecordCache:
    """An open, locked, validated cache; use as a context manager."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        self.fingerprint = fingerprint
        self.rebuilt = False
        self._lock: Any = None
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> RecordCache:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = (self.folder / LOCK_NAME).open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and release the lock."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "the cache is not open"
        return self._db

    def _open(self) -> None:
        try:
            self._db = self._connect()
            if self._valid():
                return
        except sqlite3.DatabaseError as error:
            if is_trouble_around(error):
                raise
        self.reset()

    def _connect(self, journal: str = "WAL") -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute("PRAGMA synchronous=NORMAL")
        # 4 MiB: a 100k first build is as quick as with 16 or 64 MiB (its rows are appended in
        # key order), and its parent process peaks at 96 MB RSS instead of 155 (with 16 KiB
        # pages); rebuilds too (0.54 s). The OS keeps the file's pages cached anyway.
        db.execute("PRAGMA cache_size=-4096")
        return db

    def _valid(self) -> bool:
        db = self.db
        if db.execute("PRAGMA application_id").fetchone() != (APPLICATION_ID,):
            return False
        if db.execute("PRAGMA user_version").fetchone() != (SCHEMA_VERSION,):
            return False
        row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        return bool(row == (self.fingerprint,))

    def reset(self) -> None:
        """Throw the cache away and start an empty one."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()
        # An empty cache is filled in one big transaction: a rollback journal writes each
        # page once where WAL writes it twice (log, then checkpoint). WAL comes after.
        db = self._db = self._connect(journal="TRUNCATE")
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before the first table: it is fixed then
        db.executescript(
            f"BEGIN; {_SCHEMA}{';'.join(_INDEXES)};"
            f"PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        )
        db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,))
        db.execute("COMMIT")
        self.rebuilt = True

    # -- reading ------------------------------------------------------------------------------

    def keys(self, names: list[str] | None = None) -> list[tuple[str, int, int]]:
        """Every cached file's (name, size, mtime_ns), or those of `names`, by name
        (code point order)."""
        if names is None:
            return self.db.execute(
                "SELECT name, size, mtime_ns FROM files ORDER BY name"
            ).fetchall()
        marks = ",".join("?" * len(names))
        query = f"SELECT name, size, mtime_ns FROM files WHERE name IN ({marks}) ORDER BY name"
        return self.db.execute(query, names).fetchall()

    def keys_in(self, ranges: list[tuple[str, str | None]]) -> list[tuple[str, int, int]]:
        """The (name, size, mtime_ns) of the cached files whose names lie in these ranges
        [low, high) (None: no upper bound), given in order, by name."""
        found: list[tuple[str, int, int]] = []
        for low, high in ranges:
            if high is None:
                query = "SELECT name, size, mtime_ns FROM files WHERE name >= ? ORDER BY name"
                found += self.db.execute(query, (low,))
            else:
                query = "SELECT name, size, mtime_ns FROM files WHERE name >= ? AND name < ?"
                found += self.db.execute(query + " ORDER BY name", (low, high))
        return found

    def blocks(self) -> list[tuple[Any, Any]]:
        """The stored (first name, digest) of each block of the file list (`scan_blocks`)."""
        return self.db.execute("SELECT first, digest FROM blocks ORDER BY first").fetchall()

    def store_blocks(self, firsts: list[str], digests: list[bytes]) -> None:
        """Replace the blocks of the file list (inside the transaction that wrote its entries)."""
        self.db.execute("DELETE FROM blocks")
        self.db.executemany("INSERT INTO blocks VALUES (?, ?)", zip(firsts, digests, strict=True))

    def totals(self) -> tuple[int, int]:
        """Records and unpublished records in all cached files."""
        row = self.db.execute("SELECT SUM(records), SUM(unpublished) FROM files").fetchone()
        return (row[0] or 0, row[1] or 0)

    def reports(self) -> list[tuple[str, str]]:
        """(name, reports) of the files that have reports."""
        return list(self.db.execute("SELECT name, reports FROM files WHERE reports IS NOT NULL"))

    def index_rows(self) -> Iterator[tuple[Any, ...]]:
        """(file, seq, id, published, updated, source, topics, digest, withdrawn) in file and
        record order."""
        yield from self.db.execute(
            "SELECT file, seq, id, published, updated, source, topics, digest, withdrawn"
            " FROM articles ORDER BY file, seq"
        )

    def bodies(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The stored JSON of the articles with these (file, seq) keys."""
        found: dict[tuple[str, int], str] = {}
        query = "SELECT data FROM bodies WHERE file = ? AND seq = ?"
        for key in keys:
            row = self.db.execute(query, key).fetchone()
            if row is None:
                raise CacheCorrupt(f"article {key} is missing")
            found[key] = row[0]
        return found

    def parts(self, name: str) -> list[StoredPart]:
        """The parts of dump `name` as last read (see `dumps.plan_parts`), in order."""
        rows = self.db.execute(
            "SELECT start, stop, first_number, last_number, digest, records, unpublished, reports"
            " FROM parts WHERE file = ? ORDER BY start",
            (name,),
        )
        found: list[StoredPart] = []
        end, numbered = 0, 0  # where the parts so far end: a byte offset, a line or item
        for start, stop, first, last, digest, records, unpublished, reports in rows:
            numbers = (start, stop, first, last, records, unpublished)
            if not all(type(n) is int for n in numbers) or type(digest) is not bytes:
                raise CacheCorrupt(f"bad part of {name}")
            if not end <= start < stop or first != numbered + 1 or last < numbered:
                # A stale part's articles are dropped by its numbers (`forget_parts`): they
                # must not reach a kept part's, so the parts must follow on, each once.
                raise CacheCorrupt(f"parts of {name} overlap or leave a gap")
            end, numbered = stop, last
            part = DumpPart(start, stop, first, last, digest)
            found.append(StoredPart(part, records, unpublished, reports))
        return found

    def outputs(self) -> dict[str, StoredOutput]:
        """Each output path's digests and stamp at the last build (a stamp that is not text,
        damage, is no stamp: the file is read back)."""
        rows = self.db.execute("SELECT path, digest, sha, stamp FROM outputs")
        return {
            path: StoredOutput(digest, sha, stamp if type(stamp) is str else "")
            for path, digest, sha, stamp in rows
        }

    def rendered_state(self) -> str | None:
        """What the outputs were last rendered from (see `store_outputs`), unless the cached
        records changed since."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'rendered'").fetchone()
        return row[0] if row is not None and type(row[0]) is str else None

    def forget_rendered(self) -> None:
        """The cached records change (inside the transaction that changes them): the outputs
        no longer follow from them."""
        self.db.execute("DELETE FROM meta WHERE key = 'rendered'")

    # -- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together, or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # Nothing to roll back when it came between a `commit_step`'s COMMIT and BEGIN (a
            # Ctrl-C during a COMMIT is raised once it returns): ROLLBACK would fail, and its
            # error, taken for a damaged cache, threw the committed steps away.
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        if self.rebuilt:
            self.db.execute("PRAGMA journal_mode=WAL")  # small transactions from now on

    def commit_step(self) -> None:
        """Commit what a long transaction wrote so far, and go on in a new one."""
        self.db.execute("COMMIT")
        self.db.execute("BEGIN IMMEDIATE")

    def bulk_unfinished(self) -> bool:
        """Whether a bulk store committed some steps but was stopped before it was done (its
        winner flags and secondary indexes are not made yet: see `begin_bulk`)."""
        return self.db.execute("SELECT 1 FROM meta WHERE key = 'bulk'").fetchone() is not None

    def begin_bulk(self) -> None:
        """Mark a bulk store under way (inside its transaction): a build stopped after one of
        its `commit_step`s leaves its rows, and the next build ends the bulk store."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('bulk', 'unfinished')")

    def end_bulk(self) -> None:
        """The bulk store is done (in the transaction that makes its flags and indexes)."""
        self.db.execute("DELETE FROM meta WHERE key = 'bulk'")

    def forget(self, name: str) -> list[str]:
        """Drop a file's entry and articles (inside a transaction); their ids."""
        self.db.execute("DELETE FROM files WHERE name = ?", (name,))
        self.db.execute("DELETE FROM parts WHERE file = ?", (name,))
        return self._drop_articles("file = ?", (name,))

    def forget_files(self, names: list[str]) -> None:
        """Drop many files' entries, parts and articles at once (inside a transaction), in one
        pass over each table; the winner flags and topic counts are left for
        `update_winners(everything=True)` to redo. For a bulk store, whose secondary indexes
        are dropped: there, each file's own `forget` would read every stored body."""
        db = self.db
        db.execute("CREATE TEMP TABLE forgotten(name TEXT PRIMARY KEY) WITHOUT ROWID")
        try:
            db.executemany("INSERT OR IGNORE INTO forgotten VALUES (?)", ((n,) for n in names))
            db.execute("DELETE FROM files WHERE name IN (SELECT name FROM forgotten)")
            for table in ("parts", "articles", "topics", "bodies"):
                db.execute(f"DELETE FROM {table} WHERE file IN (SELECT name FROM forgotten)")
        finally:
            db.execute("DROP TABLE temp.forgotten")

    def forget_parts(self, name: str, parts: Iterable[DumpPart]) -> list[str]:
        """Drop a dump's entry and the articles and entries of its `parts` (inside a
        transaction); their ids. A part's articles are keyed from its first number on."""
        self.db.execute("DELETE FROM files WHERE name = ?", (name,))
        ids: list[str] = []
        for part in parts:
            keys = (name, part.first - 1, part.last)
            ids += self._drop_articles("file = ? AND seq >= ? AND seq < ?", keys)
            self.db.execute("DELETE FROM parts WHERE file = ? AND start = ?", (name, part.start))
        return ids

    def _drop_articles(self, where: str, keys: tuple[Any, ...]) -> list[str]:
        """Drop the articles `where` selects, with their topics and bodies, from the topic
        counts too; their ids."""
        db = self.db
        articles = db.execute(f"SELECT id, topics, winner FROM articles WHERE {where}", keys)
        rows = articles.fetchall()
        kept = db.execute(KEPT_TOPICS.format(where), keys).fetchall()
        named = sum(len(set(decode_topics(topics))) for _id, topics, won in rows if won == 1)
        if len(kept) != named:
            # a topic row lost (or a file name flipped): the counts would drift for good
            raise CacheCorrupt(f"the topic rows of {keys[0]!r} do not match its articles")
        self.count_topics(kept, -1)
        for table in ("articles", "topics", "bodies"):
            db.execute(f"DELETE FROM {table} WHERE {where}", keys)
        return [ident for ident, _topics, _won in rows]

    def store_parts(self, name: str, parts: list[StoredPart]) -> None:
        """Record the entries of parts of dump `name` just read (inside a transaction)."""
        self.db.executemany(
            "INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (name, *stored.part, stored.records, stored.unpublished, stored.reports)
                for stored in parts
            ],
        )

    def store(
        self,
        entries: list[tuple[str, int, int, int, int, str | None]],
        files: list[StoredFile],
        winners: bool = False,
    ) -> None:
        """Record files' entries (name, size, mtime_ns, records, unpublished, reports) and
        their articles (inside a transaction, after `forget`), flagged as winners when
        `winners` (for a bulk store that every flag is recomputed after), else not."""
        db = self.db
        flag = int(winners)
        db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)", entries)
        db.executemany(
            "INSERT INTO articles VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
            f" {flag} * (1 + ?10), ?9, ?10)",  # a withdrawal that wins: 2 (see cache_select)
            chain.from_iterable(file.articles for file in files),
        )
        db.executemany(
            f"INSERT OR IGNORE INTO topics VALUES (?, ?, ?, ?, ?, ?, {flag})",
            chain.from_iterable(file.topics for file in files),
        )
        db.executemany(
            "INSERT INTO bodies VALUES (?, ?, ?)", chain.from_iterable(f.bodies for f in files)
        )

    def drop_indexes(self) -> None:
        """Drop the secondary indexes (inside a transaction) before filling an empty cache."""
        for statement in _INDEXES:
            name = statement.split(" ON ")[0].rsplit(" ", 1)[1]
            self.db.execute(f"DROP INDEX IF EXISTS {name}")

    def create_indexes(self) -> None:
        """Build the secondary indexes again (inside the same transaction)."""
        for statement in _INDEXES:
            self.db.execute(statement)

    def count_topics(self, pairs: list[tuple[str, str]], change: int) -> None:
        """Add `change` to the count of kept articles of each (topic key, name)."""
        self.db.executemany(
            "INSERT INTO topic_counts VALUES (?, ?, ?)"
            " ON CONFLICT(key, name) DO UPDATE SET count = count + excluded.count",
            [(key, name, change) for key, name in pairs],
        )

    def renew_output_stamps(self, stamps: dict[str, str]) -> None:
        """Keep these outputs' new stamps (each file read back and found right)."""
        with self.transaction():
            self.db.executemany(
                "UPDATE outputs SET stamp = ? WHERE path = ?",
                [(stamp, path) for path, stamp in stamps.items()],
            )

    def store_outputs(self, outputs: dict[str, StoredOutput], state: str) -> None:
        """Replace the output digests: every output of a build rendered (or found unchanged)
        from the cached records as they are now, under `state` (see `rendered_state`)."""
        with self.transaction():
            self.db.execute("DELETE FROM outputs")
            self.db.executemany(
                "INSERT INTO outputs VALUES (?, ?, ?, ?)",
                [(path, *stored) for path, stored in outputs.items()],
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('rendered', ?)", (state,))
