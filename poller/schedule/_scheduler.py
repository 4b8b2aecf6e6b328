"""The scheduler: puts each meter's reads into its bus engine at the schedule's slots.

Theory of operation. Reads are grouped by bus, schedule and kind; one task per group
sleeps on the wall clock until the group's next slot and then submits one job per
meter, the slot recorded on the job (and so on every reading). It never piles up
work: a meter whose job from an earlier slot of the same group is still outstanding
is not queued again, and that slot is reported as missed for it (a warning with bus,
meter and slot, and ``stats.missed_slots``). When any job of the previous slot is
still outstanding, the bus's cycle overran its interval: a warning and
``stats.cycle_overruns``. Slots that passed while the loop was not running (the
machine suspended, the clock stepped forward) are reported missed too, and only the
latest is read. On start the first slot is the next one after now: after a restart
the schedule goes on from the clock, never from the time the daemon started.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import structlog

from poller.engine import ReadKind
from poller.readings import ReadingBatch

from ._base import Schedule
from ._clock import SystemWallClock, WallClock

__all__ = ["ReadSubmitter", "ScheduleStats", "ScheduledRead", "Scheduler"]

_log = structlog.get_logger("poller.schedule")


class ReadSubmitter(Protocol):
    """What the scheduler needs of a bus: ``BusEngine.submit``."""

    def submit(
        self, address: str, kind: ReadKind | None = None, slot: dt.datetime | None = None
    ) -> asyncio.Future[ReadingBatch]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledRead:
    """One meter read on one schedule; ``kind`` None lets the engine pick by mode."""

    bus: str
    address: str
    schedule: Schedule
    kind: ReadKind | None = None
    meter: str | None = None
    """The meter's name, for logs."""


@dataclass(slots=True)
class ScheduleStats:
    """Counters for the metrics endpoint; keys are ``(bus, address)`` and ``bus``."""

    submitted: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    missed_slots: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    cycle_overruns: collections.Counter[str] = field(default_factory=collections.Counter)


@dataclass(slots=True)
class _Group:
    bus: str
    schedule: Schedule
    kind: ReadKind | None
    reads: list[ScheduledRead]
    pending: dict[str, asyncio.Future[ReadingBatch]] = field(default_factory=dict)
    next_slot: dt.datetime | None = None


class Scheduler:
    """Fires scheduled reads into the engines; see the module docstring."""

    def __init__(
        self,
        engines: Mapping[str, ReadSubmitter],
        reads: Iterable[ScheduledRead],
        *,
        clock: WallClock | None = None,
    ) -> None:
        self._engines = dict(engines)
        self._clock: WallClock = clock or SystemWallClock()
        self.stats = ScheduleStats()
        groups: dict[tuple[str, Schedule, ReadKind | None], _Group] = {}
        for read in reads:
            if read.bus not in self._engines:
                raise KeyError(f"no engine for bus {read.bus!r}")
            key = (read.bus, read.schedule, read.kind)
            group = groups.setdefault(key, _Group(read.bus, read.schedule, read.kind, []))
            if any(r.address == read.address for r in group.reads):
                raise ValueError(f"meter {read.address} of bus {read.bus} is scheduled twice")
            group.reads.append(read)
        self._groups = list(groups.values())
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        """Start one task per group (once)."""
        if self._tasks:
            raise RuntimeError("the scheduler was already started")
        loop = asyncio.get_running_loop()
        now = self._clock.now()
        for group in self._groups:
            group.next_slot = group.schedule.next_slot(now)
        self._tasks = [
            loop.create_task(self._run(group), name=f"schedule {group.bus}: {i}")
            for i, group in enumerate(self._groups)
        ]

    async def stop(self) -> None:
        """Stop firing; jobs already in the engines are theirs to finish or cancel."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Scheduler:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def read_now(
        self, bus: str, address: str, kind: ReadKind | None = None
    ) -> asyncio.Future[ReadingBatch]:
        """An on-demand read, outside every schedule (its readings have no slot)."""
        engine = self._engines.get(bus)
        if engine is None:
            raise KeyError(f"no bus {bus!r}")
        return engine.submit(address, kind, None)

    def next_slots(self) -> list[tuple[ScheduledRead, dt.datetime]]:
        """Each scheduled read with the slot it waits for (for status pages)."""
        return [
            (read, group.next_slot)
            for group in self._groups
            if group.next_slot is not None
            for read in group.reads
        ]

    async def _run(self, group: _Group) -> None:
        slot = group.next_slot or group.schedule.next_slot(self._clock.now())
        while True:
            group.next_slot = slot
            await self._clock.sleep_until(slot)
            overdue = list(group.schedule.slots_between(slot, self._clock.now()))
            if overdue:
                for missed in [slot, *overdue[:-1]]:
                    for read in group.reads:
                        self._missed(read, missed, "the scheduler was not running")
                slot = overdue[-1]
            self._fire(group, slot)
            slot = group.schedule.next_slot(slot)

    def _fire(self, group: _Group, slot: dt.datetime) -> None:
        busy = [a for a, f in group.pending.items() if not f.done()]
        if busy:
            self.stats.cycle_overruns[group.bus] += 1
            _log.warning(
                "bus cycle overran its interval",
                bus=group.bus,
                schedule=group.schedule.describe(),
                slot=slot.isoformat(),
                outstanding=len(busy),
            )
        engine = self._engines[group.bus]
        for read in group.reads:
            if read.address in busy:
                self._missed(read, slot, "its read of the previous slot is still outstanding")
                continue
            try:
                future = engine.submit(read.address, read.kind, slot)
            except (KeyError, RuntimeError) as exc:
                # A bus that is stopping (reload, shutdown) refuses new jobs.
                _log.error("read not submitted", bus=read.bus, meter=_label(read), error=str(exc))
                continue
            future.add_done_callback(_retrieve)
            group.pending[read.address] = future
            self.stats.submitted[(read.bus, read.address)] += 1

    def _missed(self, read: ScheduledRead, slot: dt.datetime, reason: str) -> None:
        self.stats.missed_slots[(read.bus, read.address)] += 1
        _log.warning(
            "slot missed",
            bus=read.bus,
            meter=_label(read),
            slot=slot.isoformat(),
            schedule=read.schedule.describe(),
            reason=reason,
        )


def _label(read: ScheduledRead) -> str:
    return read.meter or read.address


def _retrieve(future: asyncio.Future[ReadingBatch]) -> None:
    # The engine logs and counts failures; retrieving the exception here keeps
    # asyncio from reporting it again as "never retrieved".
    if not future.cancelled():
        future.exception()
