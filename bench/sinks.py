"""Item 5: sink throughput. Readings per second into SQLite, PostgreSQL and MQTT.

Each sink is built from its settings as the daemon builds it (``build_sink``) and
fed with ``write`` one batch after another, as the spool's dispatcher does, awaiting
each (so the figure includes every commit or acknowledgement, not a pipeline):

* batches of 30 readings (about one meter's readout: one session, one batch) and of
  1000 (a backlog, or a meter's load profile);
* SQLite: a file in a temporary folder, ``synchronous=full`` (the default);
* PostgreSQL: the local server (``postgresql://postgres@127.0.0.1:5432/test``) in a
  schema of the run's own, dropped at the end;
* MQTT: the local Mosquitto (127.0.0.1:1883), QoS 1 (the default: ``write``
  returns once the broker acknowledged every message), one message per reading;
  a subscriber counts what arrived;
* SQLite again, through the spool: the batches are first ``put`` into a spool, then
  a ``SpoolDispatcher`` drains the backlog into the sink (``fetch``, ``write``,
  cursor commit per batch): the daemon's own delivery path.

Every reading has a key of its own (no conflicts). Each figure is repeated; median
[min..max]. A service that is not reachable is reported as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from harness.ports import reachable
from poller.delivery import SpoolDispatcher
from poller.protocol import Identification, Value
from poller.readings import BatchContext, Reading, ReadingBatch
from poller.sinks import SinkContext, build_sink, sink_config_models
from poller.spool import Spool
from poller.util import Backoff

from .common import fmt, spread

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
MQTT = ("127.0.0.1", 1883)
SIZES = (30, 1000)
EPOCH = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
# Registers of an lg-zmd readout: realistic addresses, values and units.
_REGISTERS = (
    ("1.8.0", "kWh"),
    ("1.8.1", "kWh"),
    ("1.8.2", "kWh"),
    ("2.8.0", "kWh"),
    ("2.8.1", "kWh"),
    ("2.8.2", "kWh"),
    ("32.7", "V"),
    ("52.7", "V"),
    ("72.7", "V"),
    ("31.7", "A"),
)


class Batches:
    """Batches of ``size`` readings whose keys never repeat within a run."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._n = 0

    def next(self) -> ReadingBatch:
        n, self._n = self._n, self._n + 1
        meter = f"{50_000_000 + n % 1000}"
        taken_at = EPOCH + dt.timedelta(minutes=n)
        context = BatchContext(
            bus="bench",
            meter=meter,
            taken_at=taken_at,
            slot=taken_at,
            identification=Identification.parse_line("LGZ5ZMD310CR.S40"),
        )
        readings = tuple(
            Reading(
                context=context,
                address=f"{_REGISTERS[i % 10][0]}*{i // 10}" if i >= 10 else _REGISTERS[i][0],
                obis=None,
                values=(Value(text=f"{n % 100000:06d}.{i:03d}", unit=_REGISTERS[i % 10][1]),),
            )
            for i in range(self.size)
        )
        return ReadingBatch(context=context, readings=readings)


async def _write_rate(sink: Any, size: int, readings: int) -> float:
    """Readings per second through ``sink.write`` of ``readings`` in batches of ``size``."""
    batches = Batches(size)
    todo = [batches.next() for _ in range(max(1, readings // size))]
    await sink.connect()
    started = time.perf_counter()
    for batch in todo:
        result = await sink.write(batch)
        if result.accepted != len(batch.readings):
            raise RuntimeError(f"sink accepted {result.accepted} of {len(batch.readings)}")
    elapsed = time.perf_counter() - started
    return len(todo) * size / elapsed


def _settings(kind: str, **keys: Any) -> Any:
    return sink_config_models()[kind].model_validate({"type": kind, **keys})


async def _sqlite(size: int, readings: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as folder:
        sink = build_sink(_settings("sqlite"), SinkContext(Path(folder)))
        try:
            return await _write_rate(sink, size, readings)
        finally:
            await sink.close()


async def _dispatcher(size: int, readings: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as folder:
        state = Path(folder)
        batches = Batches(size)
        count = max(1, readings // size)
        async with Spool(state) as spool:
            for _ in range(count):
                await spool.put(batches.next())
            sink = build_sink(_settings("sqlite"), SinkContext(state))
            dispatcher = SpoolDispatcher(spool, sink, backoff=Backoff(initial=0.0))
            started = time.perf_counter()
            await dispatcher.drain()
            elapsed = time.perf_counter() - started
            await dispatcher.stop()
        return count * size / elapsed


async def _postgresql(size: int, readings: int) -> float:
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    sink = build_sink(
        _settings("postgresql", dsn=PG_DSN, table=f"{schema}.readings", timescale="off"),
        SinkContext(Path(tempfile.gettempdir())),
    )
    try:
        return await _write_rate(sink, size, readings)
    finally:
        await sink.close()
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def _mqtt(size: int, readings: int) -> tuple[float, int]:
    import aiomqtt

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    received = 0
    subscribed = asyncio.Event()

    async def count() -> None:
        nonlocal received
        async with aiomqtt.Client(MQTT[0], MQTT[1]) as client:
            await client.subscribe(f"{prefix}/#", qos=1)
            subscribed.set()
            async for _ in client.messages:
                received += 1

    counter = asyncio.create_task(count())
    await asyncio.wait_for(subscribed.wait(), 10)
    sink = build_sink(
        _settings("mqtt", host=MQTT[0], port=MQTT[1], topic=prefix + "/{meter}/{address}"),
        SinkContext(Path(tempfile.gettempdir())),
    )
    try:
        rate = await _write_rate(sink, size, readings)
        sent = max(1, readings // size) * size
        deadline = time.monotonic() + 10
        while received < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await sink.close()
        counter.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await counter
    return rate, received


async def _measure(
    name: str, fn: Callable[[int, int], Awaitable[Any]], readings: int, repeats: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in SIZES:
        rates, extra = [], []
        for _ in range(repeats):
            value = await fn(size, readings)
            if isinstance(value, tuple):
                rates.append(value[0])
                extra.append(value[1])
            else:
                rates.append(value)
        entry: dict[str, Any] = {"readings_per_s": spread(rates), "readings": readings}
        if extra:
            entry["received_by_subscriber"] = extra
        out[str(size)] = entry
    return out


async def _all(readings: int, mqtt_readings: int, repeats: int) -> dict[str, Any]:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    results: dict[str, Any] = {}
    results["sqlite"] = await _measure("sqlite", _sqlite, readings, repeats)
    results["sqlite via spool dispatcher"] = await _measure(
        "dispatcher", _dispatcher, readings, repeats
    )
    if reachable("127.0.0.1", 5432, timeout=1.0):
        results["postgresql"] = await _measure("postgresql", _postgresql, readings, repeats)
    else:
        results["postgresql"] = {"skipped": "PostgreSQL not reachable at 127.0.0.1:5432"}
    if reachable(*MQTT, timeout=1.0):
        results["mqtt qos1"] = await _measure("mqtt", _mqtt, mqtt_readings, repeats)
    else:
        results["mqtt qos1"] = {"skipped": "Mosquitto not reachable at 127.0.0.1:1883"}
    return results


def run(*, readings: int = 30_000, mqtt_readings: int = 10_000, repeats: int = 3) -> dict[str, Any]:
    return {
        "batch_sizes": list(SIZES),
        "repeats": repeats,
        "sinks": asyncio.run(_all(readings, mqtt_readings, repeats)),
    }


def table(result: dict[str, Any]) -> list[str]:
    sizes = result["batch_sizes"]
    lines = [
        f"5. Sink throughput: readings/s through write(), batch after batch; median [min..max] "
        f"of {result['repeats']}",
        "   sink                          " + "".join(f"batch {s:<25}" for s in sizes),
    ]
    for name, per in result["sinks"].items():
        if "skipped" in per:
            lines.append(f"   {name:<30}skipped: {per['skipped']}")
            continue
        row = f"   {name:<30}"
        for size in sizes:
            s = per[str(size)]["readings_per_s"]
            row += f"{fmt(s['median'], 0)} [{fmt(s['min'], 0)}..{fmt(s['max'], 0)}]".ljust(31)
        lines.append(row.rstrip())
        for size in sizes:
            got = per[str(size)].get("received_by_subscriber")
            if got is not None:
                sent = per[str(size)]["readings"] // size * size
                lines.append(f"     batch {size}: subscriber received {got} of {sent} per run")
    return lines


if __name__ == "__main__":
    print("\n".join(table(run(repeats=1))))
