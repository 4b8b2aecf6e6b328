"""Wall clocks for the scheduler: the system's, and a manual one for tests.

Schedules live on civil time (aware datetimes), unlike the bus engine, which runs on
a monotonic clock. ``SystemWallClock`` sleeps in short steps and looks at the time
again after each, so a clock stepped by NTP or a machine resumed from suspend is
noticed within ``STEP`` seconds instead of after the full original wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
from typing import Final, Protocol, runtime_checkable

from ._zones import require_aware

__all__ = ["ManualWallClock", "SystemWallClock", "WallClock"]


@runtime_checkable
class WallClock(Protocol):
    """Aware civil time, and a way to wait until a moment of it."""

    def now(self) -> dt.datetime: ...

    async def sleep_until(self, when: dt.datetime) -> None: ...


class SystemWallClock:
    """The machine's clock (UTC)."""

    STEP: Final = 30.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep_until(self, when: dt.datetime) -> None:
        require_aware(when, "when")
        when = when.astimezone(dt.UTC)
        while (remaining := (when - self.now()).total_seconds()) > 0:
            await asyncio.sleep(min(remaining, self.STEP))


class ManualWallClock:
    """UTC time that moves only when told; sleepers wake in time order as it passes them.

    ``advance_to`` sets the time to each sleeper's moment in turn, wakes it and lets
    the event loop run what that woke before going on, so a test sees every
    intermediate step exactly as it would happen, without a real wait.
    """

    SETTLE_ROUNDS: Final = 50
    """Event-loop turns given to woken tasks: enough for a scheduler and fake engines."""

    def __init__(self, start: dt.datetime) -> None:
        require_aware(start, "start")
        self._now = start.astimezone(dt.UTC)
        self._sleepers: list[tuple[dt.datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> dt.datetime:
        return self._now

    async def sleep_until(self, when: dt.datetime) -> None:
        require_aware(when, "when")
        when = when.astimezone(dt.UTC)
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        await future

    def next_wake(self) -> dt.datetime | None:
        """The earliest moment a task is sleeping until, if any."""
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    async def advance_to(self, when: dt.datetime) -> None:
        """Move to ``when``, waking every sleeper due on the way at its own moment."""
        require_aware(when, "when")
        when = when.astimezone(dt.UTC)
        await self._settle()
        while self._sleepers and self._sleepers[0][0] <= when:
            moment, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, moment)
            if not future.done():
                future.set_result(None)
                await self._settle()
        self._now = max(self._now, when)
        await self._settle()

    async def advance(self, delta: dt.timedelta) -> None:
        await self.advance_to(self._now + delta)

    async def jump_to(self, when: dt.datetime) -> None:
        """Step the clock to ``when`` at once (suspend, NTP step), then wake the overdue."""
        require_aware(when, "when")
        self._now = when.astimezone(dt.UTC)
        await self.advance_to(when)

    async def _settle(self) -> None:
        for _ in range(self.SETTLE_ROUNDS):
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
