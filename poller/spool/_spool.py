"""The durable spool between the bus engines and the sinks.

Theory of operation
-------------------
``put`` appends a batch to an SQLite file (WAL, ``synchronous=FULL``) and returns
once it is on disk; it waits for nothing else, so a slow or dead sink never holds
up a bus. Each sink has a cursor, the ``seq`` of the last batch it has finished
with (accepted, rejected or skipped every reading); its dispatcher reads the batches
after it, oldest first. A batch is deleted once every registered sink's cursor has
passed it, so the file holds only what some sink still lacks.

All SQLite work runs on one thread with one connection: commits are serialised
anyway, and one thread keeps the event loop free without connection juggling. The
loop keeps a small index of the stored batches (``seq``, time, readings, bytes), from
which stats and retention are computed without touching the file.

Retention: past ``max_bytes`` of stored batches, or for batches older than
``max_age``, the oldest are deleted, counted and logged for each sink that had not
had them. From ``warn_ratio`` of either limit on, a warning is logged (again every
``warn_interval``) and ``stats().near_limit`` is set.

Failed sessions (``batch.error``, usually no readings) are stored like any batch,
so the record of a session survives with its neighbours, but sinks receive only
readings: a batch with no reading for a sink moves its cursor without a ``write``.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import functools
import json
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import structlog

from poller.readings import Reading, ReadingBatch

from ._errors import SpoolClosedError, SpoolError
from ._stats import SinkCounters, SinkStats, SpoolStats
from ._store import IndexEntry, RejectedRow, SpoolStore, StoredBatch, spool_error

__all__ = ["FILENAME", "RejectedReading", "Retention", "Spool"]

FILENAME: Final = "spool.sqlite"
_MiB: Final = 2**20
_REJECTED_PRUNE_EVERY: Final = 3600.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How much the spool may hold before it drops the oldest batches."""

    max_bytes: int = 256 * _MiB
    """Encoded size of the stored batches (about the file's size, without SQLite's overhead)."""
    max_age: float = 30 * 86400.0
    """Seconds a batch may wait for a sink."""
    warn_ratio: float = 0.8
    warn_interval: float = 300.0
    """Seconds between repeated warnings while the spool stays near its limit."""
    max_file_bytes: int | None = None
    """Hard cap of the file, past which SQLite answers "full" as on a full disk.

    None: 4 x ``max_bytes`` + 64 MiB, room for SQLite's pages and free lists, so only
    a runaway is stopped; ``max_bytes`` is what normally bounds the spool.
    """

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_age <= 0 or not 0 < self.warn_ratio <= 1:
            raise ValueError("retention needs max_bytes > 0, max_age > 0, 0 < warn_ratio <= 1")

    @property
    def file_cap(self) -> int:
        return self.max_file_bytes or 4 * self.max_bytes + 64 * _MiB


class Rejected(Protocol):
    """A reading a sink refused and why (the sinks' ``Rejection`` has this shape; the
    spool is storage below the sinks, so it names the shape rather than the class)."""

    @property
    def reading(self) -> Reading: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RejectedReading:
    sink_id: str
    seq: int
    key: str
    reason: str
    record: dict[str, Any]


class Spool:
    """``<state_dir>/spool.sqlite``; open with ``async with Spool(state_dir) as spool``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention = retention or Retention()
        self.path = Path(state_dir) / FILENAME
        self._clock = clock
        self._store = SpoolStore(self.path, max_file_bytes=self.retention.file_cap)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._index: list[IndexEntry] = []
        self._bytes = 0
        self._readings = 0
        self._cursors: dict[str, int] = {}
        self._sinks: dict[str, SinkCounters] = {}
        self._arrived = asyncio.Event()
        self._advancing = asyncio.Lock()
        self._near_limit = False
        self._last_warning = -math.inf
        self._last_prune = -math.inf
        self._puts = 0
        self._failed = 0
        self._dropped_batches = 0
        self._dropped_readings = 0
        self._dropped_through = 0
        self._log = structlog.get_logger("poller.spool").bind(spool=str(self.path))

    # -- life cycle ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._executor is not None

    async def open(self) -> None:
        """Check and open the file; raises ``SpoolError`` saying what is wrong and what to do."""
        if self._executor is not None:
            return
        executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="spool")
        try:
            loop = asyncio.get_running_loop()
            index, cursors = await loop.run_in_executor(executor, self._store.open)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor
        self._index = index
        self._bytes = sum(e.size for e in index)
        self._readings = sum(e.readings for e in index)
        self._cursors = cursors
        self._log.info("spool open", batches=len(index), bytes=self._bytes, sinks=sorted(cursors))
        await self._enforce_retention()

    async def close(self) -> None:
        """Wait for the work in progress, fold the WAL into the file, close it."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        self._wake()
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._store.close)
        finally:
            executor.shutdown(wait=True)
        self._log.info("spool closed", batches=len(self._index))

    async def __aenter__(self) -> Spool:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the engines' side -----------------------------------------------------------

    async def put(self, batch: ReadingBatch) -> None:
        """Store ``batch`` durably before returning; ``SpoolError`` if it cannot (a full disk).

        Fits ``BusEngine(on_batch=spool.put)``: the engine moves its profile cursors
        only after this returned, and logs the error otherwise.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._running(), self._store.insert, batch, self._clock())
        # The index follows the file even if the caller is cancelled while we wait.
        future.add_done_callback(self._inserted)
        try:
            await asyncio.shield(future)
        except sqlite3.Error as exc:
            raise self._failure(exc, "storing a batch", meter=batch.meter) from exc
        self._puts += 1
        self._failed += not batch.ok
        await self._enforce_retention()

    def _inserted(self, future: asyncio.Future[IndexEntry]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        entry = future.result()
        bisect.insort(self._index, entry, key=lambda e: e.seq)
        self._bytes += entry.size
        self._readings += entry.readings
        self._wake()

    # -- the dispatchers' side -------------------------------------------------------

    def register(self, sink_id: str) -> None:
        """Make ``sink_id`` a reader: batches are kept until it has had them.

        A sink never seen before starts with every batch still in the spool.
        """
        self._sinks.setdefault(sink_id, SinkCounters())
        self._cursors.setdefault(sink_id, 0)

    def unregister(self, sink_id: str) -> None:
        """``sink_id`` was removed (a reload): it no longer holds batches back.

        Its stored cursor stays, so a sink added again under the same id goes on from
        where it stopped rather than from the oldest batch.
        """
        self._sinks.pop(sink_id, None)

    def cursor(self, sink_id: str) -> int:
        return self._cursors.get(sink_id, 0)

    def dropped(self, seq: int) -> bool:
        """Whether retention deleted batch ``seq`` (a dispatcher holding it must let it go)."""
        return seq <= self._dropped_through

    def pending(self, sink_id: str) -> bool:
        return bool(self._index) and self._index[-1].seq > self.cursor(sink_id)

    async def wait(self, sink_id: str) -> None:
        """Return once a batch ``sink_id`` has not had is stored, or the spool closes."""
        while self.is_open and not self.pending(sink_id):
            await self._arrived.wait()

    async def fetch(self, sink_id: str, limit: int = 32) -> list[StoredBatch]:
        """The next batches after ``sink_id``'s cursor, oldest first."""
        return await self._call(self._store.fetch, self.cursor(sink_id), limit)

    async def reject(self, sink_id: str, seq: int, rejections: Sequence[Rejected]) -> None:
        """Keep rejected readings aside, with the reason, in the ``rejected`` table."""
        rows = [
            RejectedRow(r.reading.key, r.reason, json.dumps(r.reading.to_record()))
            for r in rejections
        ]
        await self._call(self._store.reject, sink_id, seq, rows)
        self._counters(sink_id).rejected_readings += len(rows)

    async def advance(self, sink_id: str, seq: int, *, delivered: int | None) -> None:
        """``sink_id`` is done with batch ``seq``: ``delivered`` readings, None if skipped."""
        # One at a time: two sinks finishing the same batch at once would each see the
        # other's old cursor, and neither would delete the batch both have had.
        async with self._advancing:
            cursors = {**{s: self.cursor(s) for s in self._sinks}, sink_id: seq}
            through = min(cursors.values()) if sink_id in self._sinks else None
            if through is not None and (not self._index or self._index[0].seq > through):
                through = None
            await self._call(self._store.advance, sink_id, seq, through)
            self._cursors[sink_id] = max(seq, self.cursor(sink_id))
        counters = self._counters(sink_id)
        if delivered is None:
            counters.skipped_batches += 1
        else:
            counters.delivered_batches += 1
            counters.delivered_readings += delivered
        if through is not None:
            self._forget_through(through)

    async def rejected(self, sink_id: str | None = None) -> list[RejectedReading]:
        rows = await self._call(self._store.rejected, sink_id)
        return [RejectedReading(*row) for row in rows]

    # -- stats -----------------------------------------------------------------------

    def stats(self) -> SpoolStats:
        now = self._clock()
        oldest_age = max(0.0, now - self._index[0].created) if self._index else 0.0
        retention = self.retention
        sinks = {sink_id: self._sink_stats(sink_id, now) for sink_id in self._sinks}
        return SpoolStats(
            batches=len(self._index),
            readings=self._readings,
            bytes=self._bytes,
            max_bytes=retention.max_bytes,
            oldest_age=oldest_age,
            max_age=retention.max_age,
            fill_ratio=self._fill(now),
            near_limit=self._near_limit,
            puts=self._puts,
            failed_batches=self._failed,
            dropped_batches=self._dropped_batches,
            dropped_readings=self._dropped_readings,
            sinks=sinks,
        )

    def _sink_stats(self, sink_id: str, now: float) -> SinkStats:
        first = bisect.bisect_right(self._index, self.cursor(sink_id), key=lambda e: e.seq)
        behind = self._index[first:]
        return SinkStats(
            sink_id=sink_id,
            depth_batches=len(behind),
            depth_readings=sum(e.readings for e in behind),
            lag_seconds=max(0.0, now - behind[0].created) if behind else 0.0,
            counters=self._counters(sink_id),
        )

    # -- retention -------------------------------------------------------------------

    def _fill(self, now: float) -> float:
        if not self._index:
            return 0.0
        retention = self.retention
        age = now - self._index[0].created
        return max(self._bytes / retention.max_bytes, age / retention.max_age)

    async def _enforce_retention(self) -> None:
        if not self.is_open:  # closed while a put was finishing: the next open enforces it
            return
        now = self._clock()
        retention = self.retention
        victims: list[IndexEntry] = []
        while self._index and (
            self._bytes > retention.max_bytes or now - self._index[0].created > retention.max_age
        ):
            victims.append(self._pop_oldest())
        prune_rejected = now - self._last_prune >= _REJECTED_PRUNE_EVERY
        if victims or prune_rejected:
            self._last_prune = now if prune_rejected else self._last_prune
            through = victims[-1].seq if victims else None
            cutoff = now - retention.max_age if prune_rejected else None
            await self._call(self._store.delete_through, through, cutoff)
        if victims:
            self._dropped_through = victims[-1].seq
            self._count_dropped(victims)
        self._warn_if_near(now)

    def _count_dropped(self, victims: list[IndexEntry]) -> None:
        batches, readings = len(victims), sum(v.readings for v in victims)
        self._dropped_batches += batches
        self._dropped_readings += readings
        lost: dict[str, int] = {}
        for sink_id in self._sinks:
            cursor = self.cursor(sink_id)
            missed = [v for v in victims if v.seq > cursor]
            if missed:
                counters = self._counters(sink_id)
                counters.dropped_batches += len(missed)
                counters.dropped_readings += sum(v.readings for v in missed)
                lost[sink_id] = sum(v.readings for v in missed)
        self._log.error(
            "spool past its retention limit: oldest batches dropped",
            batches=batches,
            readings=readings,
            first_seq=victims[0].seq,
            last_seq=victims[-1].seq,
            readings_lost_per_sink=lost,
            max_bytes=self.retention.max_bytes,
            max_age=self.retention.max_age,
        )

    def _warn_if_near(self, now: float) -> None:
        fill = self._fill(now)
        near = fill >= self.retention.warn_ratio
        if near and (
            not self._near_limit or now - self._last_warning >= self.retention.warn_interval
        ):
            self._last_warning = now
            behind = {s: self._sink_stats(s, now).depth_batches for s in self._sinks}
            self._log.warning(
                "spool near its retention limit: sinks are not keeping up",
                fill=round(fill, 3),
                bytes=self._bytes,
                max_bytes=self.retention.max_bytes,
                oldest_age=round(now - self._index[0].created, 1),
                max_age=self.retention.max_age,
                batches_behind=behind,
            )
        elif not near and self._near_limit:
            self._log.info("spool back below its warning level", fill=round(fill, 3))
        self._near_limit = near

    # -- helpers ---------------------------------------------------------------------

    def _pop_oldest(self) -> IndexEntry:
        entry = self._index.pop(0)
        self._bytes -= entry.size
        self._readings -= entry.readings
        return entry

    def _forget_through(self, seq: int) -> None:
        while self._index and self._index[0].seq <= seq:
            self._pop_oldest()

    def _counters(self, sink_id: str) -> SinkCounters:
        return self._sinks.setdefault(sink_id, SinkCounters())

    def _wake(self) -> None:
        # Every waiter holds the old event; a new one is armed for the next wait.
        self._arrived.set()
        self._arrived = asyncio.Event()

    def _running(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            raise SpoolClosedError(self.path, "it is not open", "open the spool first")
        return self._executor

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._running(), functools.partial(fn, *args))
        except sqlite3.Error as exc:
            raise self._failure(exc, f"in {fn.__name__}") from exc

    def _failure(self, exc: sqlite3.Error, doing: str, **context: Any) -> SpoolError:
        error = spool_error(self.path, exc, doing)
        self._log.error("spool write failed", error=str(error), **context)
        return error
