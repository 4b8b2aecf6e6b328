"""Between the engines and the spool: what happens to a batch when the disk is full.

``Spool.put`` is durable before it returns; when the file system is full (or the
spool at its hard cap) it raises and the batch is not stored. Dropping it would lose
a reading that was taken, so the batch waits here, in memory and in order, and every
later batch queues behind it until the spool takes them again (a sink delivering
frees pages, an operator frees the disk). The put still fails towards the engine, so
it does not move profile cursors: those intervals are read again, and their keys
make the second copy harmless.

Memory is bounded: past ``max_batches`` the oldest waiting batch is dropped, counted
and logged. At shutdown whatever still waits is logged as lost: it was never on disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Final

import structlog

from poller.readings import ReadingBatch
from poller.spool import Spool, SpoolError

__all__ = ["SpoolBackloggedError", "SpoolWriter"]

DEFAULT_MAX_BATCHES: Final = 10_000
DEFAULT_RETRY_INTERVAL: Final = 5.0

_log = structlog.get_logger("poller.daemon")


class SpoolBackloggedError(Exception):
    """The batch waits in memory: the spool could not store it (see the cause)."""


class SpoolWriter:
    """``put`` for the engines: the spool, or memory while the spool cannot store."""

    def __init__(
        self,
        spool: Spool,
        *,
        max_batches: int = DEFAULT_MAX_BATCHES,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        self.spool = spool
        self.max_batches = max_batches
        self.retry_interval = retry_interval
        self._waiting: collections.deque[ReadingBatch] = collections.deque()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped_batches = 0
        self.dropped_readings = 0

    @property
    def depth(self) -> int:
        """Batches waiting in memory for the spool."""
        return len(self._waiting)

    async def put(self, batch: ReadingBatch) -> None:
        if not self._waiting:
            try:
                await self.spool.put(batch)
            except SpoolError as exc:
                self._hold(batch)
                _log.error(
                    "spool cannot store; readings wait in memory",
                    error=str(exc),
                    waiting=self.depth,
                )
                self._start_retrying()
                raise SpoolBackloggedError(str(exc)) from exc
            return
        self._hold(batch)  # behind the earlier ones, to keep the order
        if not await self.flush():
            raise SpoolBackloggedError(f"{self.depth} batches wait in memory for the spool")

    async def flush(self) -> bool:
        """Move waiting batches into the spool, oldest first; True once none is left."""
        async with self._lock:
            moved = 0
            while self._waiting:
                try:
                    await self.spool.put(self._waiting[0])
                except SpoolError:
                    return False
                self._waiting.popleft()
                moved += 1
            if moved:
                _log.info("spool takes batches again; nothing waits in memory", stored=moved)
            return True

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._waiting and self.spool.is_open:
            await self.flush()
        if self._waiting:
            readings = sum(len(b.readings) for b in self._waiting)
            _log.error(
                "readings lost: never stored, the spool could not take them",
                batches=len(self._waiting),
                readings=readings,
            )

    def _hold(self, batch: ReadingBatch) -> None:
        self._waiting.append(batch)
        while len(self._waiting) > self.max_batches:
            oldest = self._waiting.popleft()
            self.dropped_batches += 1
            self.dropped_readings += len(oldest.readings)
            _log.error(
                "readings dropped: memory backlog full while the spool cannot store",
                bus=oldest.bus,
                meter=oldest.meter,
                readings=len(oldest.readings),
                limit=self.max_batches,
            )

    def _start_retrying(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._retry(), name="spool retry")

    async def _retry(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.retry_interval)
            await self.flush()
