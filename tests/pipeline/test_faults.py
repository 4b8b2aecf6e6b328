"""Faults end to end, each counting every reading at the real destination by key.

Simulated meters -> BusEngine -> spool.put -> SpoolDispatcher -> sink -> destination,
with the destination taken away and given back while polling goes on, a dispatcher
that dies between a write and its cursor, a reading the destination refuses, and a
spool that overflows its retention limit while its sink is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import aiomqtt
import asyncpg
import pytest
from structlog.testing import capture_logs

from poller.readings import ReadingBatch
from poller.sinks import Sink, SinkSettings, WriteResult
from poller.spool import Retention, Spool, encode_batch
from tests import services
from tests.engine.simport import EPOCH

from .helpers import (
    CYCLE,
    Poller,
    assert_all_at_least_once,
    assert_each_once,
    delivered,
    dispatcher,
    until,
)
from .test_end_to_end import make_sink, pg_rows


class Subscriber:
    """The test's MQTT client on the private broker; ``start`` again after a restart."""

    def __init__(self, port: int, topic: str) -> None:
        self.port = port
        self.topic = topic
        self.keys: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        subscribed = asyncio.Event()

        async def listen() -> None:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client("127.0.0.1", self.port, keepalive=5) as client:
                    await client.subscribe(self.topic, qos=1)
                    subscribed.set()
                    async for message in client.messages:
                        self.keys.append(json.loads(message.payload)["key"])

        self._task = asyncio.create_task(listen())
        await until(subscribed.is_set, "the subscriber to subscribe")

    async def gone(self) -> None:
        """Wait until the broker's death has ended the connection."""
        task = self._task
        if task is not None:
            await asyncio.wait_for(task, timeout=10)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_mqtt_broker_killed_and_restarted_while_polling_loses_nothing(
    tmp_path: Path, private_broker: services.PrivateMosquitto
) -> None:
    """The private broker is SIGKILLed (no persistence: it comes back empty) while
    the bus keeps polling; the sink's backlog waits in the spool and is published
    once the broker is back. At-least-once: every key arrives, duplicates allowed.

    The sink reaches the broker through a ``TcpProxy`` that is down exactly as long
    as the broker, and comes up only once the test's subscriber is subscribed again:
    a message published to a broker nobody listens to is gone for any subscriber,
    so the count would otherwise measure the test's reconnect race, not the poller.
    Likewise the broker is killed only once the subscriber has every reading the
    broker acknowledged: a non-persistent broker killed with messages in flight
    loses them after its PUBACK, which no client can prevent.
    """
    proxy = services.TcpProxy(("127.0.0.1", private_broker.port))

    async def main() -> tuple[list[str], list[str], int, int]:
        await proxy.start()
        sink = make_sink(
            tmp_path, type="mqtt", host="127.0.0.1", port=proxy.port, timeout=2.0,
            topic="e2e/{meter}/{register}", availability_topic="status/{sink}",
        )  # fmt: skip
        subscriber = Subscriber(private_broker.port, "e2e/#")
        await subscriber.start()
        async with Spool(tmp_path) as spool, Poller(spool) as poller:
            async with dispatcher(spool, sink) as feeding:
                await poller.cycle()
                await delivered(spool, "mqtt")
                before = len(poller.keys())
                await until(lambda: len(set(subscriber.keys)) >= before, "the first cycle")

                private_broker.stop()  # SIGKILL
                await proxy.stop()
                await subscriber.gone()
                await poller.cycle(3)  # polling goes on; puts are not held up
                await until(lambda: feeding.failures >= 3, "the sink to fail a few times")
                backlog = spool.stats().sinks["mqtt"].depth_readings
                assert backlog == len(poller.keys()) - before > 0

                private_broker.start()
                await subscriber.start()
                await proxy.start()  # the same port: the sink finds its broker again
                await poller.cycle()
                await delivered(spool, "mqtt")
                expected = len(poller.keys())
                await until(lambda: len(set(subscriber.keys)) >= expected, "the backlog")
                await asyncio.sleep(0.1)
            await subscriber.stop()
            await proxy.stop()
            return subscriber.keys, poller.keys(), backlog, spool.stats().batches

    found, produced, backlog, left = await main()
    count = assert_all_at_least_once(found, produced)
    assert count == len(produced) > 500
    assert backlog > 100
    assert left == 0


async def test_postgresql_unreachable_then_back_loses_and_duplicates_nothing(
    tmp_path: Path, postgres_dsn: str, pg_schema: str
) -> None:
    """The sink talks to the machine's PostgreSQL through a ``TcpProxy``; the proxy
    goes away (its connections cut, nothing listening) while the bus polls three
    cycles, then comes back on the same port. Rows = distinct keys = produced."""
    host, port = services.POSTGRES
    proxy = services.TcpProxy((host, port))
    table = f"{pg_schema}.readings"

    async def main() -> tuple[list[asyncpg.Record], list[str], int, int]:
        await proxy.start()
        dsn = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        sink = make_sink(
            tmp_path, type="postgresql", dsn=dsn, table=table, connect_timeout=2.0,
            command_timeout=5.0,
        )  # fmt: skip
        async with Spool(tmp_path) as spool, Poller(spool) as poller:
            async with dispatcher(spool, sink) as feeding:
                await poller.cycle(2)
                await delivered(spool, "postgresql")
                before = len(poller.keys())

                await proxy.stop()
                await poller.cycle(3)
                await until(lambda: feeding.failures >= 3, "the sink to fail a few times")
                backlog = spool.stats().sinks["postgresql"].depth_readings
                assert backlog == len(poller.keys()) - before  # all of it waited

                await proxy.start()
                await poller.cycle()
                await delivered(spool, "postgresql")
            await proxy.stop()
            return await pg_rows(postgres_dsn, table), poller.keys(), backlog, feeding.failures

    rows, produced, backlog, failures = await main()
    keys = [row["key"] for row in rows]
    assert len(rows) == len(set(keys)) == assert_each_once(keys, produced)
    assert backlog == 3 * 38  # three cycles of 20 + 7 + 6 + 5 readings
    assert failures == 0  # recovered


class CrashAfterWrite:
    """The real sink, but the process "dies" right after its ``crash_at``-th write
    returned: the destination has the batch, the spool's cursor has not moved."""

    settings_model: ClassVar[type[SinkSettings]] = SinkSettings

    def __init__(self, sink: Sink, crash_at: int) -> None:
        self.sink = sink
        self.crash_at = crash_at
        self.writes = 0
        self.crashed = asyncio.Event()

    @property
    def settings(self) -> SinkSettings:
        return self.sink.settings

    async def connect(self) -> None:
        await self.sink.connect()

    async def write(self, batch: ReadingBatch) -> WriteResult:
        result = await self.sink.write(batch)
        self.writes += 1
        if self.writes == self.crash_at:
            self.crashed.set()
            await asyncio.Event().wait()  # never returns: cancelled as by a crash
        return result

    async def close(self) -> None:
        await self.sink.close()


def file_keys(kind: str, state: Path) -> list[str]:
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(state / "readings.sqlite")) as db:
            return [row[0] for row in db.execute("SELECT key FROM readings ORDER BY rowid")]
    if kind == "jsonl":
        lines = (state / "readings.jsonl").read_text().splitlines()
        return [json.loads(line)["key"] for line in lines]
    with (state / "readings.csv").open(newline="") as file:
        return [row["key"] for row in csv.DictReader(file)]


def cut_last_line(path: Path) -> None:
    """The crash came in the middle of writing the last record: half of it is on disk."""
    data = path.read_bytes()
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    path.write_bytes(data[: start + (len(data) - start) // 2])


@pytest.mark.parametrize("kind", ["sqlite", "jsonl", "csv"])
async def test_a_dispatcher_crash_mid_backlog_loses_and_duplicates_nothing(
    tmp_path: Path, kind: str
) -> None:
    """A backlog of five cycles; the dispatcher dies after its sixth write returned
    and before the spool noted it. A new spool and dispatcher on the same state send
    that batch again; the sink must store each reading once. For the files the crash
    also cuts the last record in half, as a kill during the write would."""
    path = f"readings.{kind}"

    async def first_life() -> tuple[list[ReadingBatch], int, int]:
        async with Spool(tmp_path) as spool:
            async with Poller(spool) as poller:
                await poller.cycle(5)
            sink = CrashAfterWrite(make_sink(tmp_path, type=kind, path=path), crash_at=6)
            task = asyncio.create_task(dispatcher(spool, sink, fetch_limit=4).run())
            await asyncio.wait_for(sink.crashed.wait(), timeout=10)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await sink.close()
            return poller.acked, spool.cursor(kind), spool.stats().batches

    async def second_life() -> int:
        async with Spool(tmp_path) as spool:
            feeding = dispatcher(spool, make_sink(tmp_path, type=kind, path=path))
            async with feeding:
                await delivered(spool, kind)
            return spool.stats().sinks[kind].counters.delivered_batches

    acked, cursor, stored = await first_life()
    produced = [r.key for b in acked for r in b.readings]
    assert cursor == 5  # the sixth batch is at the destination, not noted in the spool
    assert file_keys(kind, tmp_path) == [r.key for b in acked[:6] for r in b.readings]
    if kind != "sqlite":
        cut_last_line(tmp_path / path)
    replayed = await second_life()
    # The spool kept the sixth batch and all after it (it forgets only what was noted)
    # and the new dispatcher sent them all: the sixth for the second time.
    assert replayed == stored == 4 * 5 - 5
    assert assert_each_once(file_keys(kind, tmp_path), produced) == len(produced) > 500


async def test_one_reading_the_database_refuses_is_set_aside_and_the_rest_delivered(
    tmp_path: Path, postgres_dsn: str, pg_schema: str
) -> None:
    """An operator's CHECK constraint refuses one reading of the second cycle: that
    reading is in the spool's rejected table with PostgreSQL's reason, and every other
    reading, before and after it in the same batch and in later ones, is stored."""
    table = f"{pg_schema}.readings"
    bad = f"10000001|1.8.0|{(EPOCH + dt.timedelta(seconds=CYCLE)).isoformat()}"

    async def main() -> tuple[Any, ...]:
        sink = make_sink(tmp_path, type="postgresql", dsn=postgres_dsn, table=table)
        await sink.connect()  # creates the table
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT not_that_one CHECK (key <> '{bad}')"
            )
        finally:
            await conn.close()
        async with Spool(tmp_path) as spool:
            async with dispatcher(spool, sink), Poller(spool) as poller:
                await poller.cycle(3)
                await delivered(spool, "postgresql")
            rejected = await spool.rejected("postgresql")
            stats = spool.stats()
        return await pg_rows(postgres_dsn, table), poller.keys(), rejected, stats

    rows, produced, rejected, stats = await main()
    assert bad in produced
    good = [k for k in produced if k != bad]
    assert assert_each_once([row["key"] for row in rows], good) == len(produced) - 1
    assert [(r.key, r.record["value"]) for r in rejected] == [(bad, rejected[0].record["value"])]
    assert "23514" in rejected[0].reason  # check_violation
    assert "not_that_one" in rejected[0].reason
    counters = stats.sinks["postgresql"].counters
    assert (counters.delivered_readings, counters.rejected_readings) == (len(good), 1)
    assert stats.batches == 0  # the batch with the bad reading did not stay behind


async def test_one_record_the_http_receiver_refuses_is_set_aside_and_the_rest_delivered(
    tmp_path: Path, http_server: services.RecordingServer
) -> None:
    """The receiver answers 400 to any request holding one particular record; the
    sink halves its way down to that record. Counted from the 2xx requests only."""
    bad = f"10000001|1.8.0|{(EPOCH + dt.timedelta(seconds=CYCLE)).isoformat()}"
    stored: list[str] = []

    def responder(request: services.Request) -> tuple[int, dict[str, str], bytes]:
        keys = [record["key"] for record in request.json()]
        if bad in keys:
            return 400, {}, b"bad record"
        stored.extend(keys)
        return 204, {}, b""

    http_server.responder = responder
    sink = make_sink(tmp_path, type="http", url=http_server.url)

    async def main() -> tuple[list[str], list[Any]]:
        async with Spool(tmp_path) as spool:
            async with dispatcher(spool, sink), Poller(spool) as poller:
                await poller.cycle(3)
                await delivered(spool, "http")
            return poller.keys(), await spool.rejected("http")

    produced, rejected = await main()
    assert assert_each_once(stored, [k for k in produced if k != bad]) == len(produced) - 1
    assert [(r.key, r.reason) for r in rejected] == [(bad, "HTTP 400 Bad Request: bad record")]


async def test_past_its_retention_limit_the_spool_drops_only_the_oldest_and_counts_them(
    tmp_path: Path, http_server: services.RecordingServer
) -> None:
    """The HTTP receiver is down (503) for six cycles and the spool may hold a little
    more than the profile backfill. When the receiver is back it gets exactly the
    newest batches that fitted; the older ones, and only those, are counted (spool and
    sink counters) and logged as dropped, and none of them reaches the receiver."""
    stored: list[str] = []
    up = False

    def responder(request: services.Request) -> tuple[int, dict[str, str], bytes]:
        if not up:
            return 503, {}, b"down"
        stored.extend(record["key"] for record in request.json())
        return 204, {}, b""

    http_server.responder = responder
    sink = make_sink(tmp_path, type="http", url=http_server.url)

    async def main() -> tuple[Any, ...]:
        nonlocal up
        async with Spool(tmp_path / "sizing") as sizing_spool, Poller(sizing_spool) as sizing:
            await sizing.cycle(2)  # the bus is deterministic: the same batches again
        sizes = [len(encode_batch(b).encode()) for b in sizing.acked]
        retention = Retention(max_bytes=max(sizes) + sum(sizes[4:]) // 2)
        with capture_logs() as logs:
            async with Spool(tmp_path / "state", retention=retention) as spool:
                async with dispatcher(spool, sink) as feeding, Poller(spool) as poller:
                    await poller.cycle(6)
                    await until(lambda: feeding.failures >= 2, "the sink to be failing")
                    up = True
                    await delivered(spool, "http")
                stats = spool.stats()
        return poller.acked, stats, logs

    acked, stats, logs = await main()
    dropped = stats.dropped_batches
    assert 0 < dropped < len(acked)
    oldest, kept = acked[:dropped], acked[dropped:]
    lost = sum(len(b.readings) for b in oldest)
    assert assert_each_once(stored, [r.key for b in kept for r in b.readings]) > 0
    assert stats.dropped_readings == lost > 0
    counters = stats.sinks["http"].counters
    assert (counters.dropped_batches, counters.dropped_readings) == (dropped, lost)
    assert counters.delivered_batches == len(kept)
    drops = [e for e in logs if e["event"].startswith("spool past its retention limit")]
    assert sum(e["readings"] for e in drops) == lost
    assert {e["log_level"] for e in drops} == {"error"}
    assert any(e["event"].startswith("spool near its retention limit") for e in logs)
    # The dispatcher held the first batch (or first few: what it had fetched) when
    # retention dropped them: it let them go rather than deliver batches counted lost.
    let_go = [e["seq"] for e in logs if e["event"] == "batch dropped by retention before delivery"]
    assert let_go[0] == 1
    assert max(let_go) <= dropped
