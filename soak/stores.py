"""Reading what the run left: the spool, the sinks' tables, the daemon's log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from .fleet import PG_DSN
from .timeline import log, norm_slot


def spool_left(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])


def missed_slots(log_file: Path) -> set[tuple[str, str]]:
    """(meter, slot) the daemon logged as missed: the meter's previous read still running."""
    out = set()
    for line in log_file.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            event = json.loads(line)
            if event.get("event") == "slot missed":
                out.add((event["meter"], norm_slot(event["slot"])))
    return out


def drop_schema(schema: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        asyncio.run(drop())


def stored_sqlite(path: Path) -> list[tuple[str, str, str, str | None, str | None]]:
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows: list[tuple[str, str, str, str | None, str | None]] = db.execute(
            "SELECT key, meter, address, slot, meter_time FROM readings"
        ).fetchall()
        return rows


def stored_postgres(schema: str) -> list[tuple[str, str, str, str | None, str | None]]:
    import asyncpg

    async def fetch() -> list[tuple[str, str, str, str | None, str | None]]:
        conn = await asyncpg.connect(PG_DSN)
        try:
            rows = await conn.fetch(
                f'SELECT key, meter, address, slot, meter_time FROM "{schema}".readings'  # noqa: S608
            )
        finally:
            await conn.close()

        def text(value: Any) -> str | None:
            return value.isoformat() if isinstance(value, dt.datetime) else value

        return [(r[0], r[1], r[2], text(r[3]), text(r[4])) for r in rows]

    try:
        return asyncio.run(fetch())
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        log(f"postgresql: {exc}")
        return []
