"""Profile cursors that survive restarts: one small SQLite file in the state directory.

A cursor is written after its batch reached the spool, and the spool is durable, so
a crash between the two only makes the next read ask again for what the spool
already holds; the readings carry the same idempotency keys, and idempotent sinks
store them once. Writes are tiny and rare (one per profile per read), so they go
through ``asyncio.to_thread`` on one connection guarded by a lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from pathlib import Path

__all__ = ["SqliteCursorStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    meter TEXT NOT NULL,
    profile TEXT NOT NULL,
    last TEXT NOT NULL,
    PRIMARY KEY (meter, profile)
)
"""


class SqliteCursorStore:
    """A ``CursorStore`` in ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # A small, fixed page cache: memory stays flat as the file grows (SQLite's default
            # grows to 2 MB per connection); the OS page cache serves the rest.
            self._db.execute("PRAGMA cache_size=-128")
            self._db.execute(_SCHEMA)

    async def get(self, meter: str, profile: str) -> dt.datetime | None:
        return await asyncio.to_thread(self._get, meter, profile)

    async def set(self, meter: str, profile: str, last: dt.datetime) -> None:
        if last.tzinfo is None:
            raise ValueError("a cursor is an aware datetime")
        await asyncio.to_thread(self._set, meter, profile, last.isoformat())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, meter: str, profile: str) -> dt.datetime | None:
        with self._lock:
            row = self._db.execute(
                "SELECT last FROM cursors WHERE meter = ? AND profile = ?", (meter, profile)
            ).fetchone()
        return None if row is None else dt.datetime.fromisoformat(row[0])

    def _set(self, meter: str, profile: str, last: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO cursors (meter, profile, last) VALUES (?, ?, ?) "
                "ON CONFLICT (meter, profile) DO UPDATE SET last = excluded.last",
                (meter, profile, last),
            )
