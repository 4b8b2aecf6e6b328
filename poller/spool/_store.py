"""The spool's SQLite file. Every method runs on the spool's one thread.

Durability: WAL with ``synchronous=FULL``. In WAL mode ``NORMAL`` survives a killed
process but may lose the last commits on power loss, and the engine moves its
load-profile cursors as soon as ``put`` returns: a lost commit would be intervals
never read again. ``FULL`` syncs the WAL on every commit; batches come at most a
few per second per bus (each is a whole session on a slow line), so one fsync each
is cheap (see ``bench/spool_bench.py``).

``seq`` is ``AUTOINCREMENT`` so that a number is never given twice, even after the
batches holding the highest ones were deleted: cursors compare against it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from poller.readings import ReadingBatch

from ._codec import decode_batch, encode_batch
from ._errors import SpoolCorruptError, SpoolError, SpoolFullError

__all__ = ["IndexEntry", "RejectedRow", "SpoolStore", "StoredBatch", "spool_error"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    bus TEXT NOT NULL,
    meter TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    readings INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    sink_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    sink_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (sink_id, seq, key)
);
CREATE INDEX IF NOT EXISTS rejected_at ON rejected (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the spool keeps in memory of each stored batch, for retention and stats."""

    seq: int
    created: float
    readings: int
    size: int


@dataclass(frozen=True, slots=True)
class StoredBatch:
    seq: int
    created: float
    batch: ReadingBatch


@dataclass(frozen=True, slots=True)
class RejectedRow:
    key: str
    reason: str
    record: str


def spool_error(path: Path, exc: sqlite3.Error, doing: str) -> SpoolError:
    """The operator's version of an SQLite error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return SpoolFullError(
            path,
            f"no space left while {doing} ({exc})",
            "free space on its file system, or lower spool.max_bytes; "
            "nothing in the spool was lost",
        )
    corrupt = code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    if corrupt or type(exc) is sqlite3.DatabaseError:
        return SpoolCorruptError(
            path,
            f"the file is corrupt ({exc})",
            "stop the daemon, move the file aside (undelivered readings may be saved with "
            f"`sqlite3 {path} .recover`) and start again with a new, empty spool",
        )
    if code == sqlite3.SQLITE_CANTOPEN or code == sqlite3.SQLITE_READONLY:
        return SpoolError(
            path,
            f"cannot open it for writing ({exc})",
            "check that the state directory exists and the daemon's user may write it",
        )
    return SpoolError(path, f"SQLite failed while {doing} ({exc})", "see the log; retry")


class SpoolStore:
    """One connection to ``path``; not thread-safe by design (one thread uses it)."""

    def __init__(self, path: Path, *, max_file_bytes: int | None) -> None:
        self.path = path
        self._max_file_bytes = max_file_bytes
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("spool store used before open")
        return self._db

    def open(self) -> tuple[list[IndexEntry], dict[str, int]]:
        """Check, prepare and probe the file; the batches' index and the cursors."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(
                self.path, f"cannot create its directory ({exc})", "check the state directory"
            ) from exc
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
            return self._prepare()
        except sqlite3.Error as exc:
            self.close(checkpoint=False)
            raise spool_error(self.path, exc, "opening the spool") from exc

    def _prepare(self) -> tuple[list[IndexEntry], dict[str, int]]:
        db = self.db
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise SpoolCorruptError(
                self.path,
                "the file is corrupt (quick_check: " + "; ".join(map(str, problems[:3])) + ")",
                "stop the daemon, move the file aside (undelivered readings may be saved with "
                f"`sqlite3 {self.path} .recover`) and start again with a new, empty spool",
            )
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise SpoolError(self.path, f"WAL mode refused ({mode})", "use a local file system")
        db.execute("PRAGMA synchronous=FULL")
        # A small, fixed page cache: memory stays flat as the file grows (SQLite's default
        # grows to 2 MB per connection); the OS page cache serves the rest.
        db.execute("PRAGMA cache_size=-128")
        if self._max_file_bytes is not None:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            db.execute(f"PRAGMA max_page_count={max(1, self._max_file_bytes // page_size)}")
        db.executescript(f"BEGIN;{_SCHEMA}COMMIT;")
        # A write now, so that a full disk is found at start-up, not at the first reading.
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('opened_at', ?)", (str(time.time()),)
        )
        index = [
            IndexEntry(*row)
            for row in db.execute(
                "SELECT seq, created, readings, length(CAST(body AS BLOB))"
                " FROM batches ORDER BY seq"
            )
        ]
        cursors = dict(db.execute("SELECT sink_id, seq FROM cursors").fetchall())
        return index, cursors

    def insert(self, batch: ReadingBatch, created: float) -> IndexEntry:
        body = encode_batch(batch)
        size = len(body.encode())
        cursor = self.db.execute(
            "INSERT INTO batches (created, bus, meter, taken_at, readings, ok, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                created,
                batch.bus,
                batch.meter,
                batch.taken_at.isoformat(),
                len(batch.readings),
                batch.ok,
                body,
            ),
        )
        assert cursor.lastrowid is not None
        return IndexEntry(cursor.lastrowid, created, len(batch.readings), size)

    def fetch(self, after: int, limit: int) -> list[StoredBatch]:
        rows = self.db.execute(
            "SELECT seq, created, body FROM batches WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [StoredBatch(seq, created, decode_batch(body)) for seq, created, body in rows]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # Autocommit connection: one explicit transaction is one fsync, not one per row.
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def advance(self, sink_id: str, seq: int, delete_through: int | None) -> None:
        """Move a cursor and delete what every sink has now delivered, in one commit."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO cursors (sink_id, seq, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (sink_id)"
                " DO UPDATE SET seq = excluded.seq, updated = excluded.updated",
                (sink_id, seq, time.time()),
            )
            if delete_through is not None:
                db.execute("DELETE FROM batches WHERE seq <= ?", (delete_through,))

    def delete_through(self, seq: int | None, rejected_before: float | None) -> None:
        with self._transaction() as db:
            if seq is not None:
                db.execute("DELETE FROM batches WHERE seq <= ?", (seq,))
            if rejected_before is not None:
                db.execute("DELETE FROM rejected WHERE at < ?", (rejected_before,))

    def reject(self, sink_id: str, seq: int, rows: Iterable[RejectedRow]) -> None:
        # OR IGNORE: a batch replayed after a crash is rejected again, and kept once.
        now = time.time()
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO rejected (sink_id, seq, key, reason, at, record)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(sink_id, seq, r.key, r.reason, now, r.record) for r in rows],
            )

    def rejected(self, sink_id: str | None) -> list[tuple[str, int, str, str, dict[str, object]]]:
        sql = "SELECT sink_id, seq, key, reason, record FROM rejected"
        args: tuple[str, ...] = ()
        if sink_id is not None:
            sql += " WHERE sink_id = ?"
            args = (sink_id,)
        rows = self.db.execute(sql + " ORDER BY at, seq", args).fetchall()
        return [(s, q, k, why, json.loads(rec)) for s, q, k, why, rec in rows]

    def close(self, *, checkpoint: bool = True) -> None:
        if self._db is None:
            return
        db, self._db = self._db, None
        try:
            if checkpoint:
                # Fold the WAL into the file so a copied spool is whole without its -wal.
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
