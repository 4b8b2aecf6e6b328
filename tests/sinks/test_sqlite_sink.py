"""The sqlite sink: a queryable table, each reading once, bad rows rejected alone."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from poller.readings import ReadingBatch
from poller.sinks import RECORD_KEYS, SinkContext, WriteResult, build_sink, sink_config_models
from poller.sinks.sqlite import SqliteSink
from tests.builders import make_batch

from .helpers import METER_TZ, batch, reading


def make(state: Path, **changes: Any) -> SqliteSink:
    settings = sink_config_models()["sqlite"].model_validate({"type": "sqlite", **changes})
    sink = build_sink(settings, SinkContext(state))
    assert isinstance(sink, SqliteSink)
    return sink


async def write_all(sink: SqliteSink, batches: list[ReadingBatch]) -> list[WriteResult]:
    await sink.connect()
    await sink.connect()  # idempotent
    try:
        return [await sink.write(b) for b in batches]
    finally:
        await sink.close()
        await sink.close()  # safe twice


def query(state: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(state / "readings.sqlite")) as db:
        return db.execute(sql, args).fetchall()


async def test_every_record_key_is_a_column(tmp_path: Path) -> None:
    await write_all(make(tmp_path, names={"1.8.0": "import"}), [batch(0)])
    columns = [row[1] for row in query(tmp_path, "PRAGMA table_info(readings)")]
    assert set(RECORD_KEYS) <= set(columns)
    row = query(
        tmp_path,
        'SELECT name, value, value_num, unit, "values", ts, quality FROM readings'
        " WHERE address = '1.8.0'",
    )
    assert row == [
        (
            "import",
            "0000000000.000",
            0.0,
            "kWh",
            '[{"value": "0000000000.000", "unit": "kWh"}]',
            "2026-03-02T10:00:00.000000+00:00",
            "good",
        )
    ]


async def test_a_replayed_batch_stores_each_reading_once(tmp_path: Path) -> None:
    results = await write_all(make(tmp_path), [batch(0), batch(1), batch(0)])
    assert [r.accepted for r in results] == [3, 3, 3]
    await write_all(make(tmp_path), [batch(1), batch(2)])  # after a restart too
    assert query(tmp_path, "SELECT count(*), count(DISTINCT key) FROM readings") == [(9, 9)]


async def test_ts_is_the_keys_time_in_utc_and_sorts(tmp_path: Path) -> None:
    stamped = reading(meter_time=dt.datetime(2026, 3, 2, 11, 15, tzinfo=METER_TZ))
    one = make_batch(bus="bus-1", meter="12345678", taken_at=stamped.taken_at, readings=(stamped,))
    await write_all(make(tmp_path), [one])
    assert query(tmp_path, "SELECT ts, meter_time FROM readings") == [
        ("2026-03-02T10:15:00.000000+00:00", "2026-03-02T11:15:00+01:00")
    ]


async def test_queries_by_meter_register_and_time_use_indexes(tmp_path: Path) -> None:
    await write_all(make(tmp_path), [batch(i) for i in range(5)])
    plan = query(
        tmp_path,
        "EXPLAIN QUERY PLAN SELECT value FROM readings"
        " WHERE meter = ? AND address = ? AND ts BETWEEN ? AND ?",
        "12345678",
        "1.8.0",
        "2026-03-02",
        "2026-03-03",
    )
    assert "readings_meter_register_ts" in str(plan)
    plan = query(tmp_path, "EXPLAIN QUERY PLAN SELECT * FROM readings WHERE ts > ?", "2026")
    assert "readings_ts" in str(plan)


async def test_a_row_the_database_refuses_is_rejected_alone(tmp_path: Path) -> None:
    sink = make(tmp_path)
    await write_all(sink, [])  # creates the table
    with contextlib.closing(sqlite3.connect(tmp_path / "readings.sqlite")) as db, db:
        # An operator's rule: no negative energy.
        db.execute(
            "CREATE TRIGGER no_negative BEFORE INSERT ON readings WHEN NEW.value_num < 0"
            " BEGIN SELECT RAISE(ABORT, 'negative'); END"
        )
    bad = reading(address="1.8.0", text="-5")
    good = [reading(address=f"1.8.{i}", text=str(i)) for i in range(1, 4)]
    mixed = make_batch(
        bus="bus-1", meter="12345678", taken_at=bad.taken_at, readings=(good[0], bad, *good[1:])
    )
    (result,) = await write_all(make(tmp_path), [mixed])
    assert result.accepted == 3
    assert [(r.reading, "negative" in r.reason) for r in result.rejected] == [(bad, True)]
    assert query(tmp_path, "SELECT address FROM readings ORDER BY address") == [
        ("1.8.1",),
        ("1.8.2",),
        ("1.8.3",),
    ]


async def test_a_custom_table_name_and_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "meters.db"
    await write_all(make(tmp_path / "state", path=str(target), table="flat_3"), [batch(0)])
    with contextlib.closing(sqlite3.connect(target)) as db:
        assert db.execute("SELECT count(*) FROM flat_3").fetchone() == (3,)
