"""``sqlite``: the embedded default, a ``readings`` table in a local SQLite file.

Theory of operation
-------------------
One row per reading: the record's keys as columns (``values`` as JSON text), plus
``ts``, the UTC time the value belongs to (the meter's stamp, else the slot, else
when taken: the time the idempotency key names) written as fixed-width ISO 8601 so
it sorts and SQLite's date functions read it, and ``value_num``, the value as a
number for sums and plots (``value`` keeps the text as read). ``key`` is the
primary key and rows are inserted with ``ON CONFLICT DO NOTHING``, so a replayed
batch stores each reading once. Indexes serve the usual questions: one meter's
register over time, everything in a time range, one OBIS code across meters.

A batch is one transaction, committed with ``synchronous=FULL`` in WAL mode before
``write`` returns: once the spool lets a batch go, it is on disk here. A row the
database refuses (a constraint an operator added) is found by inserting row by row
under savepoints and rejected; a database-wide error (locked, disk full, I/O) makes
the whole batch "try again".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from pydantic import field_validator

from poller.readings import Reading, ReadingBatch

from ._base import ThreadedSink
from ._contract import Rejection, SinkContext, SinkSettings, SinkUnavailableError, WriteResult
from ._records import record_for

__all__ = ["SqliteSettings", "SqliteSink"]

# (column, declaration); the order is the insert's.
COLUMNS: Final = (
    ("key", "TEXT PRIMARY KEY NOT NULL"),
    ("ts", "TEXT NOT NULL"),
    ("bus", "TEXT NOT NULL"),
    ("meter", "TEXT NOT NULL"),
    ("meter_name", "TEXT"),
    ("ident", "TEXT"),
    ("address", "TEXT"),
    ("obis", "TEXT"),
    ("name", "TEXT"),
    ("value", "TEXT"),
    ("value_num", "REAL"),
    ("unit", "TEXT"),
    ("values", "TEXT NOT NULL"),
    ("taken_at", "TEXT NOT NULL"),
    ("slot", "TEXT"),
    ("meter_time", "TEXT"),
    ("quality", "TEXT NOT NULL"),
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Errors that are the row's fault; anything else is the database's.
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, OverflowError)


class SqliteSettings(SinkSettings):
    """``type: sqlite``."""

    type: Literal["sqlite"] = "sqlite"
    path: Path = Path("readings.sqlite")
    """Relative paths are under the daemon's state directory."""
    table: str = "readings"
    synchronous: Literal["full", "normal"] = "full"
    """``normal`` is faster, but a power cut may lose batches the spool already let go."""

    @field_validator("table")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _IDENTIFIER.fullmatch(value):
            raise ValueError("a table name of letters, digits and underscores")
        return value


def row_for(reading: Reading, settings: SinkSettings) -> tuple[Any, ...]:
    record = record_for(reading, settings)
    when = reading.meter_time or reading.slot or reading.taken_at
    record["ts"] = when.astimezone(dt.UTC).isoformat(timespec="microseconds")
    record["values"] = json.dumps(record["values"], ensure_ascii=False)
    number = reading.decimal
    record["value_num"] = float(number) if number is not None else None
    return tuple(record[name] for name, _ in COLUMNS)


class SqliteSink(ThreadedSink[SqliteSettings]):
    settings_model: ClassVar[type[SinkSettings]] = SqliteSettings

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self.path = context.state_dir / self._settings.path  # an absolute path stays as it is
        self._db: sqlite3.Connection | None = None
        table = self._settings.table
        names = ", ".join(f'"{name}"' for name, _ in COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        # The table name is validated as a plain identifier; the values are parameters.
        self._insert = (
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
            ' ON CONFLICT ("key") DO NOTHING'
        )

    def _describe(self) -> str:
        return f"path={str(self.path)!r}"

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        rows: list[tuple[int, tuple[Any, ...]]] = []
        rejected: list[Rejection] = []
        for index, reading in enumerate(batch.readings):
            try:
                rows.append((index, row_for(reading, self._settings)))
            except (ValueError, OverflowError) as exc:
                rejected.append(Rejection(reading, f"cannot be stored: {exc}"))
        refused = await self._run(self._store, [row for _, row in rows])
        for position, reason in refused:
            rejected.append(Rejection(batch.readings[rows[position][0]], reason))
        return WriteResult(accepted=len(rows) - len(refused), rejected=tuple(rejected))

    # -- on the sink's thread --------------------------------------------------------

    def _open_on_thread(self) -> None:
        if self._db is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise SinkUnavailableError(f"cannot open {self.path}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._settings.synchronous.upper()}")
            # A small, fixed page cache: memory stays flat as the file grows (SQLite's default
            # grows to 2 MB per connection); the OS page cache serves the rest.
            db.execute("PRAGMA cache_size=-128")
            self._create(db)
        except sqlite3.Error as exc:
            db.close()
            raise SinkUnavailableError(f"cannot prepare {self.path}: {exc}") from exc
        self._db = db

    def _create(self, db: sqlite3.Connection) -> None:
        table = self._settings.table
        columns = ",\n  ".join(f'"{name}" {decl}' for name, decl in COLUMNS)
        db.executescript(
            f"""
            BEGIN;
            CREATE TABLE IF NOT EXISTS "{table}" (
              {columns},
              inserted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            CREATE INDEX IF NOT EXISTS "{table}_meter_register_ts"
              ON "{table}" (meter, address, ts);
            CREATE INDEX IF NOT EXISTS "{table}_ts" ON "{table}" (ts);
            CREATE INDEX IF NOT EXISTS "{table}_obis_ts" ON "{table}" (obis, ts);
            COMMIT;
            """
        )

    def _store(self, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Insert all rows in one transaction; the positions and reasons of refused ones."""
        db = self._db
        if db is None:
            raise SinkUnavailableError("not connected")
        refused: list[tuple[int, str]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(self._insert, rows)
            except _ROW_ERRORS:
                refused = self._row_by_row(db, rows)
            db.execute("COMMIT")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            # A broken connection is rebuilt by the next connect().
            self._close_on_thread()
            raise
        return refused

    def _row_by_row(
        self, db: sqlite3.Connection, rows: list[tuple[Any, ...]]
    ) -> list[tuple[int, str]]:
        refused = []
        for position, row in enumerate(rows):
            db.execute("SAVEPOINT one_row")
            try:
                db.execute(self._insert, row)
            except _ROW_ERRORS as exc:
                db.execute("ROLLBACK TO one_row")
                refused.append((position, f"refused by the database: {exc}"))
            db.execute("RELEASE one_row")
        return refused

    def _close_on_thread(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()
