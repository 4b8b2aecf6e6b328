"""Fixtures for the network sinks: real services, and readings to send them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from poller.protocol import Value
from poller.readings import Quality, Reading, ReadingBatch
from poller.sinks import Sink, SinkContext, WriteResult
from tests import services
from tests.builders import make_batch, make_reading

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BERLIN = dt.timezone(dt.timedelta(hours=1))


def reading(
    address: str,
    text: str,
    unit: str | None = None,
    *,
    meter: str = "12345678",
    obis: str | None = None,
    slot: dt.datetime | None = T0,
    **changes: Any,
) -> Reading:
    changes.setdefault("ident", "/LGZ4ZMD3104407.B32")
    return make_reading(
        bus="b1",
        meter=meter,
        address=address,
        obis=obis if obis is not None else address,
        values=(Value(text=text, unit=unit),),
        taken_at=T0 + dt.timedelta(seconds=7),
        slot=slot,
        **changes,
    )


def typical() -> list[Reading]:
    """One of each kind a readout gives: totals, power, grid values, gas, text, history."""
    return [
        reading("1.8.0", "042951.721", "kWh"),
        reading("2.8.0", "000017,5", "kWh"),  # decimal comma (Kamstrup)
        reading("1.7.0", "0.512", "kW"),
        reading("32.7", "231.4", "V"),
        reading("31.7", "2.10", "A"),
        reading("7-0:3.0.0", "00123.456", "m3", meter="gas-1", ident="/ELS5\\2GAS200"),
        reading("F.F", "00", None),
        reading("0.9.1", "12:34:56", None, quality=Quality.UNCHECKED),
        reading("1.8.0*12", "040000.000", "kWh"),
        reading(
            "P.01:1.5.0",
            "0.250",
            "kW",
            obis="1.5.0",
            slot=None,
            meter_time=dt.datetime(2026, 1, 1, 0, 15, tzinfo=BERLIN),
        ),
    ]


def many(count: int, *, meter: str = "12345678", start: dt.datetime = T0) -> list[Reading]:
    """``count`` readings with distinct keys: one register over consecutive slots."""
    return [
        reading("1.8.0", f"{i:06d}.000", "kWh", meter=meter, slot=start + dt.timedelta(minutes=i))
        for i in range(count)
    ]


async def write_and_close(sink: Sink, readings: list[Reading]) -> WriteResult:
    """One write of ``readings`` as a batch; the sink is closed after it."""
    try:
        return await sink.write(batch(readings))
    finally:
        await sink.close()


def batch(readings: list[Reading]) -> ReadingBatch:
    return make_batch(bus="b1", meter=readings[0].meter, taken_at=T0, readings=tuple(readings))


@pytest.fixture
def context(tmp_path: Path) -> SinkContext:
    return SinkContext(state_dir=tmp_path)


@pytest.fixture(scope="session")
def pg_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema of this test run's own, dropped at the end."""
    schema = f"iec_test_{uuid.uuid4().hex[:10]}"
    yield schema

    async def drop() -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    # Session-scoped: its teardown comes after every test's loop is gone, so it runs
    # a loop of its own rather than keep one open for the whole session.
    asyncio.run(drop())


@pytest.fixture
def pg_table(pg_schema: str) -> str:
    """A table name in the run's schema, one per test."""
    return f"{pg_schema}.t_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Influxd]:
    with services.influxd(tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[services.RecordingServer]:
    with services.recording_server() as server:
        yield server


MakeBatch = Callable[[list[Reading]], ReadingBatch]
