"""How fast the spool and the sqlite sink are on this machine (not a test).

    .venv/bin/python bench/spool_bench.py [--batches N] [--readings N] [--buses N] [--dir DIR]

Prints ``put`` latency (one bus, puts one after another), throughput with several
buses putting at once, the longest the event loop was held up meanwhile, the sqlite
sink's insert rate, and the end-to-end rate of a dispatcher draining a backlog into
it. Use ``--dir`` to measure the disk the daemon will really use (an SD card is far
slower than a tmpfs or an SSD: every put is an fsync).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from poller.delivery import SpoolDispatcher
from poller.protocol import Identification, ObisCode, Value
from poller.readings import BatchContext, Reading, ReadingBatch
from poller.sinks import SinkContext, build_sink, sink_config_models
from poller.spool import Spool
from poller.util import Backoff

EPOCH = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def make_batch(index: int, bus: int, size: int) -> ReadingBatch:
    taken_at = EPOCH + dt.timedelta(seconds=index)
    meter = f"{10_000_000 + bus * 1000 + index % 32}"
    context = BatchContext(
        bus=f"bus-{bus}",
        meter=meter,
        taken_at=taken_at,
        slot=taken_at,
        identification=Identification.parse_line("LGZ4ZMF100AC.M26"),
    )
    readings = tuple(
        Reading(
            context=context,
            address=f"1.8.{i}",
            obis=ObisCode.parse(f"1-0:1.8.{i}*255"),
            values=(Value(text=f"{index:06d}.{i:03d}", unit="kWh"),),
        )
        for i in range(size)
    )
    return ReadingBatch(context=context, readings=readings)


class LoopLag:
    """The longest a 1 ms sleep overran: how long something held the event loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - start - 0.001)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def bench_put(state: Path, batches: int, size: int, buses: int) -> None:
    async with Spool(state) as spool:
        latencies = []
        with LoopLag() as lag:
            start = time.perf_counter()
            for i in range(batches):
                t = time.perf_counter()
                await spool.put(make_batch(i, 0, size))
                latencies.append(time.perf_counter() - t)
            elapsed = time.perf_counter() - start
        latencies.sort()
        print(f"put, one bus, {batches} batches of {size} readings:")
        print(
            f"  latency mean {ms(statistics.mean(latencies))},"
            f" p50 {ms(latencies[len(latencies) // 2])},"
            f" p99 {ms(latencies[int(len(latencies) * 0.99)])}, max {ms(latencies[-1])}"
        )
        print(
            f"  {batches / elapsed:.0f} batches/s, {batches * size / elapsed:.0f} readings/s;"
            f" event loop held at most {ms(lag.worst)}"
        )

        async def bus(n: int) -> None:
            for i in range(batches // buses):
                await spool.put(make_batch(i, n, size))

        with LoopLag() as lag:
            start = time.perf_counter()
            await asyncio.gather(*(bus(n) for n in range(buses)))
            elapsed = time.perf_counter() - start
        total = batches // buses * buses
        print(f"put, {buses} buses at once, {total} batches:")
        print(
            f"  {total / elapsed:.0f} batches/s, {total * size / elapsed:.0f} readings/s;"
            f" event loop held at most {ms(lag.worst)}"
        )
        print(f"  spool holds {spool.stats().batches} batches, {spool.stats().bytes} bytes")


async def bench_sqlite_sink(state: Path, batches: int, size: int) -> None:
    settings = sink_config_models()["sqlite"].model_validate({"type": "sqlite"})
    sink = build_sink(settings, SinkContext(state))
    await sink.connect()
    start = time.perf_counter()
    for i in range(batches):
        await sink.write(make_batch(i, 9, size))
    elapsed = time.perf_counter() - start
    await sink.close()
    print(f"sqlite sink, {batches} writes of {size} readings (one transaction each):")
    print(f"  {batches * size / elapsed:.0f} readings/s, {ms(elapsed / batches)} per batch")


async def bench_drain(state: Path) -> None:
    """The backlog the put benchmark left, delivered to a fresh sqlite sink."""
    settings = sink_config_models()["sqlite"].model_validate(
        {"type": "sqlite", "path": "drained.sqlite"}
    )
    async with Spool(state) as spool:
        backlog = spool.stats()
        dispatcher = SpoolDispatcher(
            spool, build_sink(settings, SinkContext(state)), backoff=Backoff(initial=0.0)
        )
        start = time.perf_counter()
        await dispatcher.drain()
        elapsed = time.perf_counter() - start
        await dispatcher.stop()
    print(f"dispatcher draining a backlog of {backlog.batches} batches into sqlite:")
    print(
        f"  {backlog.batches / elapsed:.0f} batches/s, {backlog.readings / elapsed:.0f} readings/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--readings", type=int, default=30, help="readings per batch")
    parser.add_argument("--buses", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        state = Path(tmp)
        print(f"state directory {state}")
        await bench_put(state, args.batches, args.readings, args.buses)
        await bench_sqlite_sink(state, args.batches // 4, args.readings)
        await bench_drain(state)


if __name__ == "__main__":
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main())
