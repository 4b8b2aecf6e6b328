"""``postgresql``: readings into a table, each stored once (asyncpg).

Theory of operation
-------------------
The sink creates its schema and table on ``connect`` (unless told not to): one row
per reading with the record's keys as columns, times as ``timestamptz``, the value
both as text (as read) and as ``numeric`` (where it is a number), the values as
``jsonb``. ``ts`` is the time the value belongs to (meter stamp, else slot, else
taken), the time the idempotency key names.

A batch is one ``INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT
(key, ts) DO NOTHING``: one round trip and one statement, so it is stored all or
nothing, and a replay stores nothing twice. The unique key is ``(key, ts)`` rather
than ``key`` alone because TimescaleDB requires the time column in every unique
index of a hypertable; ``ts`` follows from ``key``, so the two say the same.

Errors are sorted by SQLSTATE class:

* 22 (data exception: a NUL in text, a value out of range) and 23 (integrity: a
  CHECK or NOT NULL the operator added) are the data's fault. The batch is halved
  until the refused readings stand alone (``_net.isolate``); they are rejected and
  the rest is stored.
* Everything else (the connection lost, the server shutting down (57), out of
  resources (53), a table dropped under us (42)) is "later": the readings are
  retried and the connection is rebuilt on the next write. A connection found dead
  at the start of a write (the server restarted while we were idle) is rebuilt and
  the write tried once more at once.
* Except what no retry cures: a login refused (28: a wrong password, an unknown
  role), no such database (3D000), a privilege missing (42501: to create the
  table, to insert). These are fatal (``SinkFatalError``, ``fatal=True``): the
  spool keeps the readings and stops sending here until a reload.

TimescaleDB: when the extension is installed in the database, the table becomes a
hypertable on ``ts`` (``create_hypertable(..., if_not_exists => TRUE)``); when it is
not, a plain table does the same job.

The DSN is never shown: not in the repr, the logs or an error text (host and port
and database are, from the parsed DSN).
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Sequence
from typing import Any, ClassVar, Final, Literal

# No stubs ship with asyncpg (asyncpg-stubs would type it; see the sink's report).
import asyncpg
from pydantic import Field, SecretStr, field_validator

from poller.readings import Reading, ReadingBatch

from ._base import BaseSink
from ._contract import (
    SinkContext,
    SinkFatalError,
    SinkSettings,
    SinkUnavailableError,
    WriteResult,
)
from ._net import Attempt, isolate_chunks, redact_url, scrub
from ._records import register_name

__all__ = ["PostgresSettings", "PostgresSink"]

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_DATA_CLASSES: Final = frozenset({"22", "23"})
# No retry cures these until the configuration (or the server's grants) change:
# 28 a login refused (a wrong password, an unknown role), 3D000 no such database,
# 42501 a privilege missing (to create the schema or table, to insert).
_FATAL_CLASSES: Final = frozenset({"28"})
_FATAL_STATES: Final = frozenset({"3D000", "42501"})
# What connecting, preparing or closing can raise: the server's or the network's fault.
_SESSION_ERRORS: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

# (column, SQL type, array type for unnest); the order is the insert's.
_COLUMNS: Final = (
    ("ts", "timestamptz NOT NULL", "timestamptz[]"),
    ("key", "text NOT NULL", "text[]"),
    ("bus", "text NOT NULL", "text[]"),
    ("meter", "text NOT NULL", "text[]"),
    ("meter_name", "text", "text[]"),
    ("ident", "text", "text[]"),
    ("address", "text", "text[]"),
    ("obis", "text", "text[]"),
    ("name", "text", "text[]"),
    ("value", "text", "text[]"),
    ("value_num", "numeric", "numeric[]"),
    ("unit", "text", "text[]"),
    ("values", "jsonb NOT NULL", "jsonb[]"),
    ("taken_at", "timestamptz NOT NULL", "timestamptz[]"),
    ("slot", "timestamptz", "timestamptz[]"),
    ("meter_time", "timestamptz", "timestamptz[]"),
    ("quality", "text NOT NULL", "text[]"),
)


class PostgresSettings(SinkSettings):
    """``type: postgresql``."""

    type: Literal["postgresql"] = "postgresql"
    dsn: str = Field(default="postgresql://127.0.0.1:5432/postgres", repr=False)
    """libpq-style URL or key=value DSN; may hold a password (never shown)."""
    password: SecretStr | None = None
    """The password, when it is kept out of the DSN."""
    table: str = "iec_poller.readings"
    """``schema.table`` or ``table`` (schema ``public``)."""
    create_table: bool = True
    timescale: Literal["auto", "off"] = "auto"
    """``auto``: a hypertable when the timescaledb extension is installed."""
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=30.0, gt=0)
    max_batch: int = Field(default=5000, ge=1)

    @field_validator("table")
    @classmethod
    def _qualified(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
            raise ValueError("expected schema.table or table, each a plain SQL identifier")
        return value


class PostgresSink(BaseSink[PostgresSettings]):
    """Stores each reading once in a PostgreSQL (or TimescaleDB) table."""

    settings_model: ClassVar[type[SinkSettings]] = PostgresSettings
    log_name = "poller.sinks.postgresql"
    log_outcomes = True

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        settings = self._settings
        self._conn: asyncpg.Connection | None = None
        schema, _, table = settings.table.rpartition(".")
        self._schema = schema or "public"
        self._table = f'"{self._schema}"."{table}"'
        self._target = _describe(settings.dsn)
        self._secrets = _dsn_secrets(settings)
        self._insert = _insert_sql(self._table)
        self.hypertable: bool | None = None
        """After ``connect``: whether the table is a TimescaleDB hypertable."""

    def _describe(self) -> str:
        return f"{self._target}, table={self._table}"

    async def _open(self) -> None:
        await self._connect()

    async def _close(self) -> None:
        await self._drop_connection(graceful=True)

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        readings = batch.readings
        was_connected = self._conn is not None and not self._conn.is_closed()
        try:
            await self._connect()
        except SinkUnavailableError as exc:
            return WriteResult.all_retry(readings, str(exc), fatal=exc.fatal)
        result = await self._insert_chunked(readings)
        if result.fatal or not (result.retry and was_connected and self._conn is None):
            return result
        # The connection had died while idle (a server restart): one fresh try at once.
        try:
            await self._connect()
        except SinkUnavailableError:
            return result
        again = await self._insert_chunked(result.retry)
        return WriteResult(
            accepted=result.accepted + again.accepted,
            rejected=result.rejected + again.rejected,
            retry=again.retry,
            retry_reason=again.retry_reason,
            fatal=again.fatal,
        )

    async def _insert_chunked(self, readings: Sequence[Reading]) -> WriteResult:
        result, _ = await isolate_chunks(readings, self._insert_rows, step=self._settings.max_batch)
        return result

    async def _insert_rows(self, readings: Sequence[Reading]) -> Attempt:
        conn = self._conn
        if conn is None:
            return Attempt("retry", f"not connected to {self._target}")
        names = self._settings.names
        columns = _columns(readings, names)
        try:
            await conn.execute(self._insert, *columns, timeout=self._settings.command_timeout)
        except asyncpg.PostgresError as exc:
            reason = self._reason(exc)
            if str(exc.sqlstate)[:2] in _DATA_CLASSES:
                return Attempt("refused", reason)
            # Whatever else went wrong, a fresh session is cheap and clears any state
            # a half-dead one could hold (an aborted transaction, a server going away).
            await self._drop_connection(graceful=False)
            return Attempt("retry", reason, fatal=_fatal(exc))
        except asyncpg.DataError as exc:  # asyncpg could not encode an argument
            return Attempt("refused", self._reason(exc))
        except (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError, TimeoutError) as exc:
            await self._drop_connection(graceful=False)
            return Attempt("retry", self._reason(exc))
        return Attempt("ok")

    def _reason(self, exc: BaseException) -> str:
        sqlstate = getattr(exc, "sqlstate", None)
        text = f"{type(exc).__name__}" + (f" [{sqlstate}]" if sqlstate else "") + f": {exc}"
        return scrub(text, self._secrets)

    async def _connect(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        self._conn = None
        s = self._settings
        password = s.password.get_secret_value() if s.password else None
        try:
            conn = await asyncpg.connect(
                s.dsn,
                password=password,
                timeout=s.connect_timeout,
                command_timeout=s.command_timeout,
                server_settings={"application_name": f"iec-poller:{s.sink_id}"},
            )
        except _SESSION_ERRORS as exc:
            error = SinkFatalError if _fatal(exc) else SinkUnavailableError
            raise error(f"cannot connect to {self._target}: {self._reason(exc)}") from None
        try:
            if s.create_table:
                await self._create(conn)
            elif self.hypertable is None:
                self.hypertable = False
        except _SESSION_ERRORS as exc:
            conn.terminate()
            error = SinkFatalError if _fatal(exc) else SinkUnavailableError
            raise error(
                f"cannot prepare {self._table} on {self._target}: {self._reason(exc)}"
            ) from None
        self._conn = conn
        self._log.info("postgresql_connected", target=self._target, hypertable=self.hypertable)

    async def _create(self, conn: asyncpg.Connection) -> None:
        columns = ",\n  ".join(f'"{name}" {sql}' for name, sql, _ in _COLUMNS)
        bare = self._table.rpartition(".")[2].strip('"')
        async with conn.transaction():
            # Two sinks (or two daemons) starting at once: the lock keeps one DDL at a time.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (\n  {columns},\n"
                "  inserted_at timestamptz NOT NULL DEFAULT now(),\n"
                "  PRIMARY KEY (key, ts)\n)"
            )
            await conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{bare}_meter_register_ts" '
                f"ON {self._table} (meter, address, ts DESC)"
            )
            self.hypertable = False
            if self._settings.timescale == "auto":
                version = await conn.fetchval(
                    "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
                )
                if version is not None:
                    await conn.execute(
                        "SELECT create_hypertable($1::regclass, 'ts', "
                        "if_not_exists => TRUE, migrate_data => TRUE)",
                        self._table,
                    )
                    self.hypertable = True

    async def _drop_connection(self, *, graceful: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        if graceful:
            try:
                await asyncio.wait_for(conn.close(), timeout=5.0)
            except _SESSION_ERRORS:
                conn.terminate()
        else:
            conn.terminate()


def _fatal(exc: BaseException) -> bool:
    """Whether the server refused us for good: the login, the database, a privilege."""
    sqlstate = str(getattr(exc, "sqlstate", None) or "")
    return sqlstate[:2] in _FATAL_CLASSES or sqlstate in _FATAL_STATES


def _insert_sql(table: str) -> str:
    names = ", ".join(f'"{name}"' for name, _, _ in _COLUMNS)
    arrays = ", ".join(f"${i}::{array}" for i, (_, _, array) in enumerate(_COLUMNS, start=1))
    return (
        f"INSERT INTO {table} ({names})\n"
        f"SELECT * FROM unnest({arrays})\n"
        "ON CONFLICT (key, ts) DO NOTHING"
    )


def _columns(readings: Sequence[Reading], names: dict[str, str]) -> list[list[Any]]:
    rows = [_row(r, names) for r in readings]
    return [list(column) for column in zip(*rows, strict=True)]


def _row(reading: Reading, names: dict[str, str]) -> tuple[Any, ...]:
    record = reading.to_record()
    return (
        reading.meter_time or reading.slot or reading.taken_at,
        reading.key,
        reading.bus,
        reading.meter,
        reading.meter_name,
        reading.ident,
        reading.address,
        record["obis"],
        register_name(reading, names),
        reading.value,
        reading.decimal,
        reading.unit,
        json.dumps(record["values"], ensure_ascii=False),
        reading.taken_at,
        reading.slot,
        reading.meter_time,
        reading.quality.value,
    )


def _describe(dsn: str) -> str:
    """``postgresql://host:port/db`` without user or password, for messages."""
    if "://" in dsn:
        parts = urllib.parse.urlsplit(redact_url(dsn))
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    # key=value form: show only where it goes.
    pairs = (item.split("=", 1) for item in dsn.split() if "=" in item)
    fields = {key: value for key, value in pairs if key != "password"}
    host = fields.get("host", "localhost")
    port = fields.get("port", "5432")
    return f"postgresql://{host}:{port}/{fields.get('dbname', '')}"


def _dsn_secrets(settings: PostgresSettings) -> list[str | None]:
    found: list[str | None] = []
    if settings.password is not None:
        found.append(settings.password.get_secret_value())
    dsn = settings.dsn
    if "://" in dsn:
        parts = urllib.parse.urlsplit(dsn)
        if parts.password:
            found.extend([parts.password, urllib.parse.unquote(parts.password)])
        for key, value in urllib.parse.parse_qsl(parts.query):
            if key == "password":
                found.append(value)
    else:
        found.extend(item.split("=", 1)[1] for item in dsn.split() if item.startswith("password="))
    return found
