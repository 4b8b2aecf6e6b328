"""The clock of hardware ports: the monotonic clock the event loop also runs on."""

from __future__ import annotations

import asyncio
import time

__all__ = ["MonotonicClock"]


class MonotonicClock:
    """Real seconds from ``time.monotonic``, which never jumps with NTP or DST."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
