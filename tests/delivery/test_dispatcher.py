"""Dispatchers: every reading reaches its sink, in order, through failures and replays."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from poller.delivery import SpoolDispatcher
from poller.readings import ReadingBatch
from poller.sinks import Sink, SinkContext, SinkSettings, WriteResult, build_sink
from poller.spool import Spool
from poller.util import Backoff

from ..sinks.helpers import batch
from ..spool.helpers import NO_WAIT, ScriptedSettings, ScriptedSink, keys


async def until_delivered(spool: Spool, sink_id: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while spool.pending(sink_id):
            await asyncio.sleep(0.001)


def all_keys(batches: list[ReadingBatch]) -> list[str]:
    return [r.key for b in batches for r in b.readings]


async def test_a_sink_down_for_a_while_gets_everything_in_order(tmp_path: Path) -> None:
    sink = ScriptedSink(raise_for=5, retry_for=3, half_retry_for=2)
    originals = [batch(i, size=4) for i in range(20)]

    async def main():
        async with Spool(tmp_path) as spool:
            async with SpoolDispatcher(spool, sink, backoff=NO_WAIT) as dispatcher:
                for b in originals:  # puts go on while the sink fails
                    await spool.put(b)
                    await asyncio.sleep(0)
                await until_delivered(spool, "scripted")
                failures = dispatcher.failures
            return spool.stats(), failures

    stats, failures = await main()
    assert keys(sink.stored) == all_keys(originals)  # all of them, once, in order
    assert failures == 0
    assert sink.closed
    assert sink.connects >= 11  # connect is called again before every retry
    counters = stats.sinks["scripted"].counters
    assert (counters.delivered_batches, counters.delivered_readings) == (20, 80)
    assert stats.batches == 0  # delivered everywhere: deleted


async def test_retries_back_off_exponentially(tmp_path: Path) -> None:
    sink = ScriptedSink(raise_for=4)
    backoff = Backoff(initial=0.001, factor=2.0, maximum=0.004, jitter=0.0)

    async def main():
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0))
            with capture_logs() as logs:
                await SpoolDispatcher(spool, sink, backoff=backoff).drain()
        return logs

    logs = await main()
    waits = [e["retry_in"] for e in logs if e["event"] == "sink write failed; retrying"]
    assert waits == [0.001, 0.002, 0.004, 0.004]
    assert any(e["event"] == "sink recovered" for e in logs)
    assert len(sink.stored) == 3


async def test_a_rejected_reading_is_kept_aside_and_the_rest_delivered(tmp_path: Path) -> None:
    bad = batch(3).readings[1]
    sink = ScriptedSink(reject=lambda r: "value out of range" if r.key == bad.key else None)
    originals = [batch(i) for i in range(6)]

    async def main():
        async with Spool(tmp_path) as spool:
            for b in originals:
                await spool.put(b)
            await SpoolDispatcher(spool, sink, backoff=NO_WAIT).drain()
            return await spool.rejected(), spool.stats()

    rejected, stats = await main()
    assert keys(sink.stored) == [k for k in all_keys(originals) if k != bad.key]
    assert [(r.sink_id, r.key, r.reason) for r in rejected] == [
        ("scripted", bad.key, "value out of range")
    ]
    assert rejected[0].record == bad.to_record()
    assert stats.sinks["scripted"].counters.rejected_readings == 1
    assert len(sink.writes) == 6  # never sent again


class StoresThenFails:
    """A real sink whose first write succeeds but is reported as an error: a replay."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.settings_model = type(inner).settings_model
        self.failed = False

    @property
    def settings(self) -> SinkSettings:
        return self.inner.settings

    async def connect(self) -> None:
        await self.inner.connect()

    async def write(self, batch: ReadingBatch) -> WriteResult:
        result = await self.inner.write(batch)
        if not self.failed:
            self.failed = True
            raise ConnectionResetError("lost the answer")
        return result

    async def close(self) -> None:
        await self.inner.close()


def count_stored(kind: str, state: Path) -> tuple[int, int]:
    """(rows, distinct keys) at the destination."""
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(state / "readings.sqlite")) as db:
            return db.execute("SELECT count(*), count(DISTINCT key) FROM readings").fetchone()
    lines = (state / f"readings.{kind}").read_text().splitlines()
    if kind == "csv":
        lines = lines[1:]
    return len(lines), len(set(lines))


@pytest.mark.parametrize("kind", ["sqlite", "jsonl", "csv"])
async def test_a_replayed_batch_is_stored_once(tmp_path: Path, kind: str) -> None:
    originals = [batch(i, size=5) for i in range(4)]

    async def main():
        settings = SinkSettings.model_validate({"type": kind})
        sink = StoresThenFails(build_sink(settings, SinkContext(tmp_path)))
        async with Spool(tmp_path) as spool:
            for b in originals:
                await spool.put(b)
            async with SpoolDispatcher(spool, sink, backoff=NO_WAIT):
                await until_delivered(spool, kind)

    await main()
    assert count_stored(kind, tmp_path) == (20, 20)


async def test_a_sink_that_miscounts_is_retried_not_trusted(tmp_path: Path) -> None:
    class Miscounting(ScriptedSink):
        async def write(self, batch: ReadingBatch) -> WriteResult:
            result = await super().write(batch)
            if len(self.writes) == 1:
                return WriteResult(accepted=result.accepted - 1)
            return result

    sink = Miscounting()

    async def main():
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0))
            await SpoolDispatcher(spool, sink, backoff=NO_WAIT).drain()

    await main()
    assert len(sink.writes) == 2
    assert len(sink.stored) == 6


async def test_filters_and_names_are_applied_before_the_sink(tmp_path: Path) -> None:
    config = ScriptedSettings(meters=("11111111", "kitchen"), registers=("1.8.0", "1-0:2.8.0*255"))
    sink = ScriptedSink(config=config)

    async def main():
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0, meter="11111111"))
            await spool.put(batch(1, meter="22222222"))
            await spool.put(batch(2, meter="33333333", meter_name="kitchen"))
            await SpoolDispatcher(spool, sink, backoff=NO_WAIT).drain()
            return spool.stats()

    stats = await main()
    # Meter by address or by name; register by address or OBIS; 0.9.1 is filtered out.
    assert [(r.meter, r.address) for r in sink.stored] == [
        ("11111111", "1.8.0"),
        ("11111111", "2.8.0"),
    ]
    assert stats.sinks["scripted"].counters.skipped_batches == 2


async def test_the_kitchen_meter_is_selected_by_its_name(tmp_path: Path) -> None:
    config = ScriptedSettings(meters=("kitchen",))
    sink = ScriptedSink(config=config)
    plain = batch(0, meter="33333333")
    kitchen = dataclasses.replace(plain.context, meter_name="kitchen")
    named = dataclasses.replace(
        plain,
        readings=tuple(dataclasses.replace(r, context=kitchen) for r in plain.readings),
    )

    async def main():
        async with Spool(tmp_path) as spool:
            await spool.put(named)
            await SpoolDispatcher(spool, sink, backoff=NO_WAIT).drain()

    await main()
    assert len(sink.stored) == 3


async def test_stop_leaves_the_backlog_in_the_spool(tmp_path: Path) -> None:
    sink = ScriptedSink(raise_for=10**6)
    slow = Backoff(initial=30.0, maximum=30.0, jitter=0.0)

    async def main():
        async with Spool(tmp_path) as spool:
            dispatcher = SpoolDispatcher(spool, sink, backoff=slow)
            dispatcher.start()
            await spool.put(batch(0))
            await asyncio.sleep(0.05)
            started = asyncio.get_running_loop().time()
            await dispatcher.stop()
            took = asyncio.get_running_loop().time() - started
            return took, spool.stats()

    took, stats = await main()
    assert took < 1.0
    assert sink.closed
    assert stats.sinks["scripted"].depth_batches == 1


async def test_a_bus_engine_feeding_the_spool_delivers_every_reading_to_sqlite(
    tmp_path: Path,
) -> None:
    from poller.simulator import get_profile

    from ..engine.helpers import read_all, rig
    from ..engine.simport import EPOCH

    meters = [
        get_profile(p).with_address(str(20_000_000 + i), seed=i)
        for i, p in enumerate(["lg-zmd", "iskra-mt174", "lg-zmd", "iskra-mt174"])
    ]

    async def main():
        async with Spool(tmp_path) as spool:
            sink = build_sink(
                SinkSettings.model_validate({"type": "sqlite"}), SinkContext(tmp_path)
            )
            async with SpoolDispatcher(spool, sink, backoff=NO_WAIT):
                r = rig(meters, on_batch=spool.put)
                batches = []
                async with r.engine:
                    for cycle in range(3):
                        slot = EPOCH + dt.timedelta(minutes=15 * cycle)
                        batches += await read_all(r, slot=slot)
                await until_delivered(spool, "sqlite")
            return batches, spool.stats()

    batches, stats = await main()
    assert all(b.ok for b in batches)
    assert len(batches) == 12
    expected = {r.key for b in batches for r in b.readings}
    with contextlib.closing(sqlite3.connect(tmp_path / "readings.sqlite")) as db:
        stored = {k for (k,) in db.execute("SELECT key FROM readings")}
    assert stored == expected
    assert len(expected) > 12 * 5
    assert stats.puts == 12
    assert stats.sinks["sqlite"].counters.delivered_batches == 12
