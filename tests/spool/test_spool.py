"""The spool alone: order, cursors, deletion after delivery, retention, stats."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from poller.delivery import SpoolDispatcher
from poller.spool import Retention, Spool, SpoolClosedError, encode_batch

from ..sinks.helpers import batch, failed_batch
from .helpers import NO_WAIT, ScriptedSink


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_put_returns_increasing_seqs_and_fetch_gives_them_oldest_first(
    tmp_path: Path,
) -> None:
    async def main():
        async with Spool(tmp_path) as spool:
            for i in range(5):
                await spool.put(batch(i))
            seqs = [e.seq for e in await spool.fetch("a")]
            spool.register("a")
            fetched = await spool.fetch("a", limit=3)
            await spool.advance("a", fetched[-1].seq, delivered=9)
            rest = await spool.fetch("a")
            return seqs, fetched, rest, spool.stats()

    seqs, fetched, rest, stats = await main()
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert [e.batch for e in fetched] == [batch(i) for i in range(3)]
    assert [e.batch for e in rest] == [batch(3), batch(4)]
    # Batch 0..2 were delivered to the only sink: gone from the spool.
    assert stats.batches == 2
    assert stats.readings == 6
    assert stats.sinks["a"].depth_batches == 2
    assert stats.sinks["a"].counters.delivered_readings == 9


async def test_each_sink_has_its_own_cursor_kept_across_restarts(tmp_path: Path) -> None:
    async def first():
        async with Spool(tmp_path) as spool:
            for i in range(4):
                await spool.put(batch(i))
            spool.register("fast")
            spool.register("slow")
            for entry in await spool.fetch("fast"):
                await spool.advance("fast", entry.seq, delivered=3)
            entry = (await spool.fetch("slow", limit=1))[0]
            await spool.advance("slow", entry.seq, delivered=3)

    async def second():
        async with Spool(tmp_path) as spool:
            spool.register("fast")
            spool.register("slow")
            return (
                await spool.fetch("fast"),
                [e.batch for e in await spool.fetch("slow")],
                spool.stats(),
            )

    await first()
    fast, slow, stats = await second()
    assert fast == []
    assert slow == [batch(1), batch(2), batch(3)]
    # Only what the slow sink still lacks is kept.
    assert stats.batches == 3
    assert stats.sinks["slow"].depth_batches == 3
    assert stats.sinks["fast"].depth_batches == 0


async def test_a_new_sink_gets_everything_still_in_the_spool(tmp_path: Path) -> None:
    async def main():
        async with Spool(tmp_path) as spool:
            for i in range(3):
                await spool.put(batch(i))
            spool.register("late")
            return [e.batch for e in await spool.fetch("late")]

    assert await main() == [batch(0), batch(1), batch(2)]


async def test_failed_sessions_are_spooled_but_sinks_get_only_readings(tmp_path: Path) -> None:
    sink = ScriptedSink()

    async def main():
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0))
            await spool.put(failed_batch(1))
            await spool.put(batch(2))
            stored = [e.batch for e in await spool.fetch("other")]
            dispatcher = SpoolDispatcher(spool, sink, backoff=NO_WAIT)
            await dispatcher.drain()
            return stored, spool.stats()

    stored, stats = await main()
    assert stored[1] == failed_batch(1)
    assert [b.meter for b in sink.writes] == ["12345678", "12345678"]
    assert stats.failed_batches == 1
    counters = stats.sinks["scripted"].counters
    assert (counters.delivered_batches, counters.skipped_batches) == (2, 1)


async def test_past_the_size_limit_only_the_oldest_are_dropped_and_counted(tmp_path: Path) -> None:
    size = len(encode_batch(batch(0)).encode())
    retention = Retention(max_bytes=size * 10 + size // 2)

    async def main():
        async with Spool(tmp_path, retention=retention) as spool:
            spool.register("down")
            with capture_logs() as logs:
                for i in range(14):
                    await spool.put(batch(i))
            kept = [e.batch for e in await spool.fetch("down", limit=100)]
            return kept, spool.stats(), logs

    kept, stats, logs = await main()
    assert kept == [batch(i) for i in range(4, 14)]
    assert (stats.dropped_batches, stats.dropped_readings) == (4, 12)
    down = stats.sinks["down"].counters
    assert (down.dropped_batches, down.dropped_readings) == (4, 12)
    drops = [e for e in logs if e["log_level"] == "error"]
    assert len(drops) == 4
    assert drops[0]["readings_lost_per_sink"] == {"down": 3}
    warnings = [e for e in logs if e["log_level"] == "warning"]
    # Loud once when crossing 80 %, not at every put after.
    assert len(warnings) == 1
    assert warnings[0]["fill"] >= 0.8
    assert stats.near_limit
    assert stats.fill_ratio > 0.9


async def test_nearing_the_age_limit_warns_before_anything_is_dropped(tmp_path: Path) -> None:
    clock = FakeTime()

    async def main():
        async with Spool(tmp_path, retention=Retention(max_age=3600.0), clock=clock) as spool:
            spool.register("down")
            with capture_logs() as logs:
                for i in range(4):  # puts at 0, 1000, 2000, 3000 s: the last at 83 %
                    await spool.put(batch(i))
                    clock.now += 1000.0
            return [e.batch for e in await spool.fetch("down")], spool.stats(), logs

    kept, stats, logs = await main()
    assert kept == [batch(i) for i in range(4)]
    assert stats.near_limit
    assert stats.dropped_batches == 0
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "spool near its retention limit: sinks are not keeping up"
    ]
    assert stats.sinks["down"].lag_seconds == pytest.approx(stats.oldest_age) == 4000.0


async def test_age_retention_applies_at_the_next_put(tmp_path: Path) -> None:
    clock = FakeTime()

    async def main():
        async with Spool(tmp_path, retention=Retention(max_age=100.0), clock=clock) as spool:
            spool.register("down")
            await spool.put(batch(0))
            clock.now += 101.0
            await spool.put(batch(1))
            return [e.batch for e in await spool.fetch("down")], spool.stats()

    kept, stats = await main()
    assert kept == [batch(1)]
    assert stats.sinks["down"].counters.dropped_batches == 1


async def test_stats_give_depth_and_lag_per_sink(tmp_path: Path) -> None:
    clock = FakeTime()

    async def main():
        async with Spool(tmp_path, clock=clock) as spool:
            spool.register("a")
            spool.register("b")
            for i in range(3):
                await spool.put(batch(i, size=2))
                clock.now += 60.0
            first = (await spool.fetch("a", limit=1))[0]
            await spool.advance("a", first.seq, delivered=2)
            return spool.stats()

    stats = await main()
    a, b = stats.sinks["a"], stats.sinks["b"]
    assert (a.depth_batches, a.depth_readings, a.lag_seconds) == (2, 4, 120.0)
    assert (b.depth_batches, b.depth_readings, b.lag_seconds) == (3, 6, 180.0)
    assert stats.puts == 3
    assert stats.oldest_age == 180.0


async def test_put_on_a_closed_spool_raises(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with pytest.raises(SpoolClosedError, match="not open"):
        await spool.put(batch(0))


async def test_an_unregistered_sink_no_longer_holds_batches_but_keeps_its_cursor(
    tmp_path: Path,
) -> None:
    async def main():
        async with Spool(tmp_path) as spool:
            spool.register("kept")
            spool.register("removed")
            for i in range(3):
                await spool.put(batch(i))
            first = (await spool.fetch("removed", limit=1))[0]
            await spool.advance("removed", first.seq, delivered=3)
            entries = await spool.fetch("kept")
            await spool.advance("kept", entries[0].seq, delivered=3)
            held = spool.stats().batches  # "removed" has had only the first
            spool.unregister("removed")
            await spool.advance("kept", entries[-1].seq, delivered=3)
            after = spool.stats()
            spool.register("removed")  # added again by a later reload
            return held, after, spool.cursor("removed"), first.seq

    held, after, cursor, first_seq = await main()
    assert held == 2
    assert after.batches == 0
    assert "removed" not in after.sinks
    assert cursor == first_seq


async def test_a_dropped_batch_is_known_as_dropped(tmp_path: Path) -> None:
    """A dispatcher holding a batch that retention deleted must let it go, not deliver it."""
    size = len(encode_batch(batch(0)).encode())

    async def main():
        async with Spool(tmp_path, retention=Retention(max_bytes=size * 3 + size // 2)) as spool:
            spool.register("down")
            await spool.put(batch(0))
            held = (await spool.fetch("down", limit=1))[0]  # a dispatcher retrying it
            before = spool.dropped(held.seq)
            for i in range(1, 6):
                await spool.put(batch(i))
            oldest_kept = (await spool.fetch("down", limit=1))[0]
            return before, spool.dropped(held.seq), spool.dropped(oldest_kept.seq)

    before, after, kept = await main()
    assert (before, after, kept) == (False, True, False)


async def test_two_sinks_finishing_one_batch_at_once_delete_it(tmp_path: Path) -> None:
    async def main():
        async with Spool(tmp_path) as spool:
            spool.register("a")
            spool.register("b")
            await spool.put(batch(0))
            entry = (await spool.fetch("a"))[0]
            await asyncio.gather(
                spool.advance("a", entry.seq, delivered=3),
                spool.advance("b", entry.seq, delivered=3),
            )
            return spool.stats().batches

    assert await main() == 0
