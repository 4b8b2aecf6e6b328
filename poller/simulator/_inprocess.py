"""The simulator as a transport object: no file descriptors, an injectable clock.

``SimulatedLine`` is the asyncio-free core: the client's end of a ``VirtualBus``
with an explicit ``now`` on every call. ``InProcessTransport`` wraps it for asyncio
code (the daemon, tests) behind ``write`` / ``read`` / ``set_line``, taking time from
a ``Clock``:

* ``ManualClock``: simulated time that only moves when a reader waits, so a test
  runs a 2-second option-select window in microseconds and every time is exact;
* ``ScaledClock``: real time; ``time_scale`` 0.01 makes the simulation run 100x
  faster with every timing relation kept (simulated = real / time_scale).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from ._bus import VirtualBus
from ._line import FRAMING_7E1, Framing, LineSettings

__all__ = ["Clock", "InProcessTransport", "ManualClock", "ScaledClock", "SimulatedLine"]


class Clock(Protocol):
    """Simulated seconds, and a way to wait for a simulated moment."""

    def now(self) -> float: ...

    async def sleep_until(self, when: float) -> None: ...


class ManualClock:
    """Simulated time that jumps to whatever moment is waited for."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep_until(self, when: float) -> None:
        self._now = max(self._now, when)
        await asyncio.sleep(0)


class ScaledClock:
    """Real (monotonic) time, sped up or slowed down by ``time_scale``."""

    def __init__(self, time_scale: float = 1.0, start: float = 0.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._origin = time.monotonic()
        self._start = start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._origin) / self.time_scale

    async def sleep_until(self, when: float) -> None:
        delay = (when - self.now()) * self.time_scale
        await asyncio.sleep(max(0.0, delay))


class SimulatedLine:
    """The client's end of a bus, sans-I/O: every call names the current time."""

    def __init__(self, bus: VirtualBus) -> None:
        self.bus = bus

    def write(self, data: bytes, now: float) -> float:
        """Send ``data``; returns when its last character has left."""
        return self.bus.client_write(data, now)

    def read(self, now: float) -> bytes:
        return self.bus.client_read(now)

    def set_line(self, baud: int, framing: Framing, now: float) -> None:
        self.bus.set_client_line(LineSettings(baud, framing), now)

    def next_event(self) -> float | None:
        return self.bus.next_event()


class InProcessTransport:
    """An asyncio serial-port stand-in talking to a simulated bus."""

    def __init__(self, bus: VirtualBus, clock: Clock) -> None:
        self.clock = clock
        self._line = SimulatedLine(bus)
        self._buffer = bytearray()
        self._closed = False

    @property
    def bus(self) -> VirtualBus:
        return self._line.bus

    def write(self, data: bytes) -> float:
        """Queue ``data`` on the line now; returns the simulated time it has all left."""
        self._check_open()
        return self._line.write(data, self.clock.now())

    def set_line(self, baud: int, framing: Framing = FRAMING_7E1) -> None:
        self._check_open()
        self._line.set_line(baud, framing, self.clock.now())

    async def drain(self) -> None:
        """Wait until everything written has left the client's UART."""
        await self.clock.sleep_until(self.bus.client_busy_until)

    async def read(self, max_bytes: int = 4096, *, timeout: float) -> bytes:
        """Up to ``max_bytes`` once any have arrived; ``b""`` after ``timeout`` seconds."""
        self._check_open()
        deadline = self.clock.now() + timeout
        while True:
            self._buffer += self._line.read(self.clock.now())
            if self._buffer:
                data = bytes(self._buffer[:max_bytes])
                del self._buffer[:max_bytes]
                return data
            now = self.clock.now()
            if now >= deadline:
                return b""
            upcoming = self._line.next_event()
            target = deadline if upcoming is None else min(deadline, max(upcoming, now))
            await self.clock.sleep_until(target)

    async def read_until_quiet(self, *, quiet: float, timeout: float) -> bytes:
        """Wait up to ``timeout`` for a first byte, then read until ``quiet`` s of silence."""
        out = bytearray(await self.read(timeout=timeout))
        while out:
            chunk = await self.read(timeout=quiet)
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def reset_input(self) -> None:
        """Drop everything received and not yet read."""
        self._check_open()
        self._buffer.clear()
        self._line.read(self.clock.now())

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("transport is closed")
