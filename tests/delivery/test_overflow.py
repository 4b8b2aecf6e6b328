"""A full disk while running: batches wait in memory, in order, and lose nothing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from poller.delivery import SpoolBackloggedError, SpoolWriter
from poller.spool import Retention, Spool

from ..sinks.helpers import batch


async def test_batches_wait_in_memory_while_the_spool_is_full_then_go_in_order(
    tmp_path: Path,
) -> None:
    # SQLite answers a file at its page cap exactly as a full disk (SQLITE_FULL).
    retention = Retention(max_bytes=10**9, max_file_bytes=64 * 1024)

    async def main():
        async with Spool(tmp_path, retention=retention) as spool:
            spool.register("sink")
            writer = SpoolWriter(spool, retry_interval=3600)
            sent = 0
            while writer.depth == 0:
                with contextlib.suppress(SpoolBackloggedError):
                    await writer.put(batch(sent, size=30))
                sent += 1
            full_at = sent
            for _ in range(5):  # polling goes on while the disk is full
                with pytest.raises(SpoolBackloggedError):
                    await writer.put(batch(sent, size=30))
                sent += 1
            waiting = writer.depth
            # A sink delivers: its batches are deleted and SQLite reuses the pages.
            delivered = []
            for entry in await spool.fetch("sink", limit=10_000):
                delivered.append(entry.batch)
                await spool.advance("sink", entry.seq, delivered=len(entry.batch.readings))
            assert await writer.flush()
            await writer.put(batch(sent, size=30))  # straight to the spool again
            sent += 1
            delivered += [e.batch for e in await spool.fetch("sink", limit=10_000)]
            await writer.close()
            return sent, full_at, waiting, delivered, writer

    sent, full_at, waiting, delivered, writer = await main()
    assert full_at > 1
    assert waiting == 6
    assert delivered == [batch(i, size=30) for i in range(sent)]
    assert writer.depth == 0
    assert writer.dropped_batches == 0


async def test_memory_is_bounded_and_the_oldest_waiting_are_dropped_and_counted(
    tmp_path: Path,
) -> None:
    async def main():
        spool = Spool(tmp_path)  # never opened: every put fails, as on a dead disk
        writer = SpoolWriter(spool, max_batches=3, retry_interval=3600)
        for i in range(5):
            with pytest.raises(SpoolBackloggedError):
                await writer.put(batch(i))
        await writer.close()
        return writer

    writer = await main()
    assert writer.depth == 3
    assert writer.dropped_batches == 2
    assert writer.dropped_readings == 6
