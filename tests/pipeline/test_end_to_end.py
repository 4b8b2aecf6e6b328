"""Every sink end to end: simulated meters -> BusEngine -> spool.put -> SpoolDispatcher
-> the sink -> the real destination, read back and counted by idempotency key.

The bus (``helpers.bus_meters``) has three readout meters and a programming meter
with R1 registers and an incrementally read load profile; three quarter-hour cycles
on simulated time give 490-odd readings, each with its own key.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import json
import sqlite3
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import asyncpg
import pytest

from poller.readings import Reading
from poller.sinks import Sink, SinkContext, build_sink, record_for, sink_config_models
from poller.sinks.console import format_reading
from poller.spool import Spool, SpoolStats
from tests import services
from tests.quiet import mqtt_flushed

from .helpers import Poller, assert_each_once, delivered, dispatcher, until

CYCLES = 3


def make_sink(state: Path, **config: Any) -> Sink:
    """As the daemon builds it: validated by its type's model, found by entry point."""
    settings = sink_config_models()[config["type"]].model_validate(config)
    return build_sink(settings, SinkContext(state_dir=state))


async def pipeline(state: Path, sink: Sink, cycles: int = CYCLES) -> tuple[Poller, SpoolStats]:
    """Poll ``cycles`` cycles with the sink's dispatcher running; wait until it caught up."""
    async with Spool(state) as spool:
        async with dispatcher(spool, sink):
            async with Poller(spool) as poller:
                await poller.cycle(cycles)
            await delivered(spool, sink.settings.sink_id)
        stats = spool.stats()
    return poller, stats


def check_stats(stats: SpoolStats, sink_id: str, readings: int) -> None:
    counters = stats.sinks[sink_id].counters
    assert counters.delivered_readings == readings
    assert (counters.rejected_readings, counters.dropped_readings) == (0, 0)
    assert stats.batches == 0  # every sink had every batch: the spool is empty


async def test_sqlite(tmp_path: Path) -> None:
    sink = make_sink(tmp_path, type="sqlite", path="out/readings.sqlite")
    poller, stats = await pipeline(tmp_path, sink)
    with contextlib.closing(sqlite3.connect(tmp_path / "out/readings.sqlite")) as db:
        rows = db.execute("SELECT key, value, unit, meter_time FROM readings").fetchall()
    produced = poller.readings()
    count = assert_each_once([row[0] for row in rows], poller.keys())
    assert {row[0]: row[1:3] for row in rows} == {r.key: (r.value, r.unit) for r in produced}
    assert count == len(produced) > 400
    check_stats(stats, "sqlite", count)


async def test_jsonl_records_are_the_products_records(tmp_path: Path) -> None:
    sink = make_sink(tmp_path, type="jsonl", path="readings.jsonl")
    poller, stats = await pipeline(tmp_path, sink)
    records = [json.loads(line) for line in (tmp_path / "readings.jsonl").read_text().splitlines()]
    count = assert_each_once([r["key"] for r in records], poller.keys())
    # Not only the keys: each line is the reading's whole record, in production order.
    assert records == [record_for(r, sink.settings) for r in poller.readings()]
    check_stats(stats, "jsonl", count)


async def test_csv(tmp_path: Path) -> None:
    sink = make_sink(tmp_path, type="csv", path="readings.csv")
    poller, stats = await pipeline(tmp_path, sink)
    with (tmp_path / "readings.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    count = assert_each_once([row["key"] for row in rows], poller.keys())
    assert [(row["meter"], row["address"], row["value"]) for row in rows] == [
        (r.meter, r.address, r.value) for r in poller.readings()
    ]
    check_stats(stats, "csv", count)


async def test_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sink = make_sink(tmp_path, type="console")
    capsys.readouterr()
    poller, stats = await pipeline(tmp_path, sink)
    lines = [line for line in capsys.readouterr().out.splitlines() if "  bus-1  " in line]
    # The console line has no key; it is compared whole, one per reading, in order.
    assert lines == [format_reading(r) for r in poller.readings()]
    check_stats(stats, "console", len(lines))


@contextlib.asynccontextmanager
async def subscriber(address: tuple[str, int], topic: str) -> AsyncIterator[list[aiomqtt.Message]]:
    """Every message on ``topic`` from a client of the test's own, subscribed at QoS 1."""
    messages: list[aiomqtt.Message] = []
    async with aiomqtt.Client(*address, identifier=f"count-{uuid.uuid4().hex[:8]}") as client:
        await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in client.messages:  # one by one, as they come
                messages.append(message)  # noqa: PERF401

        task = asyncio.create_task(collect())
        try:
            yield messages
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def message_keys(messages: list[aiomqtt.Message]) -> list[str]:
    return [json.loads(m.payload)["key"] for m in messages]


async def test_mqtt(tmp_path: Path, mosquitto: tuple[str, int]) -> None:
    root = f"e2e-{uuid.uuid4().hex[:10]}"
    status = f"{root}-status"
    sink = make_sink(
        tmp_path, type="mqtt", host=mosquitto[0], port=mosquitto[1],
        topic=root + "/{bus}/{meter}/{register}", availability_topic=status,
    )  # fmt: skip

    async def main() -> tuple[Poller, SpoolStats, list[str]]:
        async with subscriber(mosquitto, f"{root}/#") as messages:
            poller, stats = await pipeline(tmp_path, sink)
            expected = len(poller.keys())
            await until(lambda: len(messages) >= expected, "the subscriber to get every reading")
            await mqtt_flushed(mosquitto, f"{root}/quiet", messages)  # a duplicate would be in
            found = message_keys(messages)
        async with aiomqtt.Client(*mosquitto) as client:  # leave no retained status behind
            await client.publish(status, b"", qos=1, retain=True)
        return poller, stats, found

    poller, stats, found = await main()
    # QoS 1 is at-least-once; with no fault, each reading arrives exactly once.
    count = assert_each_once(found, poller.keys())
    check_stats(stats, "mqtt", count)


async def pg_rows(dsn: str, table: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(f"SELECT key, value, ts FROM {table}"))
    finally:
        await conn.close()


async def test_postgresql(tmp_path: Path, postgres_dsn: str, pg_schema: str) -> None:
    table = f"{pg_schema}.readings"
    sink = make_sink(tmp_path, type="postgresql", dsn=postgres_dsn, table=table)

    async def main() -> tuple[Poller, SpoolStats, list[asyncpg.Record]]:
        poller, stats = await pipeline(tmp_path, sink)
        return poller, stats, await pg_rows(postgres_dsn, table)

    poller, stats, rows = await main()
    count = assert_each_once([row["key"] for row in rows], poller.keys())
    assert {row["key"]: row["value"] for row in rows} == {r.key: r.value for r in poller.readings()}
    check_stats(stats, "postgresql", count)


def influx_points(influx: services.Influxd, db: str) -> list[str]:
    """Every stored point as ``meter|register|epoch ms``: a point is its series and time."""
    query = urllib.parse.urlencode(
        {"q": "SELECT raw FROM meter GROUP BY *", "db": db, "epoch": "ms"}
    )
    with urllib.request.urlopen(f"{influx.url}/query?{query}", timeout=10) as response:
        body = json.loads(response.read())
    points = []
    for series in body["results"][0].get("series", []):
        tags = series["tags"]
        points += [f"{tags['meter']}|{tags['register']}|{row[0]}" for row in series["values"]]
    return points


def point_key(reading: Reading) -> str:
    when = reading.meter_time or reading.slot or reading.taken_at
    ms = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    return f"{reading.meter}|{reading.address}|{ms}"


async def test_influxdb(tmp_path: Path, influx: services.Influxd) -> None:
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    influx.query(f"CREATE DATABASE {db}")
    sink = make_sink(tmp_path, type="influxdb", url=influx.url, api="v1", database=db)
    poller, stats = await pipeline(tmp_path, sink)
    produced = [point_key(r) for r in poller.readings()]
    assert len(set(produced)) == len(produced)
    count = assert_each_once(influx_points(influx, db), produced)
    check_stats(stats, "influxdb", count)


def posted_keys(server: services.RecordingServer) -> list[str]:
    return [record["key"] for request in server.requests for record in request.json()]


async def test_http(tmp_path: Path, http_server: services.RecordingServer) -> None:
    sink = make_sink(tmp_path, type="http", url=http_server.url + "/ingest")
    poller, stats = await pipeline(tmp_path, sink)
    count = assert_each_once(posted_keys(http_server), poller.keys())
    assert {r.path for r in http_server.requests} == {"/ingest"}
    check_stats(stats, "http", count)
