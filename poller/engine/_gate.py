"""Admission of sessions on a shared event loop: start one only while the loop keeps time.

Every bus of a daemon runs on one event loop, and a session's timing is tight: the
option select must go out within the meter's tt, the baud switch must be done
before the meter's tr (20 ms for some) has passed. A loop that is behind, because
the host is slow or because too many buses talk at once (a small gateway, or the
simulator at 100x speed), makes every session on it miss those windows; each then
fails, is retried, and the retries load the loop further.

So a bus asks the gate before it signs on. The gate measures how late the loop is
(one round trip through its ready queue, on the bus's own clock, so a simulated
bus at 100x counts lateness in its own time) and admits the session when the loop
is on time, or when no other session is running at all, which keeps every bus
progressing. Otherwise the bus waits until a running session ends and asks again.
On a healthy host the round trip is microseconds and every session starts at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from poller.transport import Clock

__all__ = ["DEFAULT_MAX_LAG", "SessionGate"]

DEFAULT_MAX_LAG: Final = 0.005
"""A quarter of the shortest reaction time a meter may use (20 ms)."""


class SessionGate:
    """Shared by the engines of one event loop; see the module docstring."""

    def __init__(self, max_lag: float = DEFAULT_MAX_LAG) -> None:
        if not max_lag > 0:
            raise ValueError("max_lag must be positive")
        self.max_lag = max_lag
        self.running = 0
        self.deferred = 0
        """Times a session was held back because the loop was late."""
        self._released = asyncio.Condition()

    @asynccontextmanager
    async def session(self, clock: Clock) -> AsyncIterator[None]:
        """Hold a place for one session, started once the loop keeps time."""
        while self.running and await self._lag(clock) > self.max_lag:
            self.deferred += 1
            async with self._released:
                await self._released.wait()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            async with self._released:
                # One waiter per ended session: waking every bus to measure the loop
                # at once would itself make it late. When none is left running, all
                # go (the first is admitted unconditionally; no waiter can be stranded).
                if self.running:
                    self._released.notify(1)
                else:
                    self._released.notify_all()

    @staticmethod
    async def _lag(clock: Clock) -> float:
        before = clock.now()
        await asyncio.sleep(0)
        return clock.now() - before
