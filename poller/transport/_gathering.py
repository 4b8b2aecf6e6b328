"""Echo suppression and read gathering: the one wrapper between the engine and any port.

Theory of operation
-------------------
A raw port (a serial device, a TCP converter, the simulator, a plug-in's) does its
own job only: bytes, wire time, line settings, loss. It hands over what it has
received in whatever chunks its driver delivered. ``GatheringPort`` wraps one and
adds what every line needs the same way whatever carries it. ``port_for_url`` wraps
every port it builds, and the session runner wraps any other port it is given, so
there is one place that decides when received bytes are handed on:

* Echo (``PortOptions.echo``): what we write is expected back and dropped
  (``EchoFilter``), at read time. A chunk that was all echo is not data: the read
  goes on waiting with the same deadline.
* Gathering (``PortOptions.inter_byte_read``): once a read has bytes, more that
  follow within that many seconds are added, never past the read's deadline, so a
  message arrives in few chunks rather than one per USB packet. The pause is counted
  from the last byte handed on, so an echo arriving meanwhile does not extend it.
* Bursts (``read_burst``, the session runner's read): bytes that follow each other
  within ``burst_gap(baud)`` are one burst, stamped with the time the last of them
  arrived; the session answers a reaction time after that stamp. The baud is the
  one ``set_line`` last set (``INITIAL_BAUD`` after an open). A burst that may be a
  whole message (``may_end_message``) is handed over at once rather than after the
  gap, which would add up to 15 ms to every answer at 300 Bd; one that grows past
  ``MAX_BURST_BYTES`` or lasts ``span`` seconds is handed over in pieces, so a meter
  streaming junk or a long block cannot keep its reader from looking up.

A line lost while bytes are being gathered (a ``PortError`` from the inner read)
does not lose them: they are returned, and the error is raised by the next read.

Every wait is the inner port's own read (for a serialx port, an ``asyncio.timeout``
scope around an event, never ``wait_for``): no task is created on the way, since each
one costs turns of the loop between the meter's last byte and our answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from poller.protocol import INITIAL_BAUD, LineFraming, burst_gap, may_end_message

from ._echo import EchoFilter
from ._options import PortOptions
from ._port import Clock, Port, PortError

__all__ = ["MAX_BURST_BYTES", "Burst", "GatheringPort", "gathering_port"]

MAX_BURST_BYTES: Final = 4096
"""A burst longer than this is handed over in pieces (a meter streaming junk)."""


@dataclass(frozen=True, slots=True)
class Burst:
    """Bytes that arrived close together, and the clock time the last one came."""

    data: bytes
    at: float


class GatheringPort:
    """``inner`` with echo suppression, ``inter_byte_read`` gathering and bursts."""

    def __init__(self, inner: Port, options: PortOptions | None = None) -> None:
        self.inner = inner
        self.options = options or PortOptions()
        self.echo = EchoFilter()
        self.baud = INITIAL_BAUD
        """The rate ``set_line`` last set: what the burst gap is counted in."""
        self._lost: PortError | None = None

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def clock(self) -> Clock:
        return self.inner.clock

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    def __repr__(self) -> str:
        return f"GatheringPort({self.inner!r})"

    async def open(self) -> None:
        # Opening an open port changes nothing (StreamPort) or fails (the simulator):
        # either way what was expected and read so far still holds.
        if not self.inner.is_open:
            self._forget()
            self.baud = INITIAL_BAUD
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def write(self, data: bytes) -> float:
        if self.options.echo:
            self.echo.expect(data)
        return await self.inner.write(data)

    async def read(self, deadline: float) -> bytes:
        if self._lost is not None:
            lost, self._lost = self._lost, None
            raise lost
        while True:
            data = self._filter(await self.inner.read(deadline))
            if data:
                if self.options.inter_byte_read > 0:
                    data += await self._gather(deadline)
                return data
            if self.clock.now() >= deadline:
                return b""

    async def read_burst(
        self, deadline: float, *, limit: float = math.inf, span: float = math.inf
    ) -> Burst:
        """Wait until ``deadline`` for bytes, then take those that follow closely.

        The burst is never extended past ``limit``, nor once it has lasted ``span``
        seconds; an empty burst means nothing came by ``deadline``.
        """
        data = await self.read(deadline)
        first = last = self.clock.now()
        if not data:
            return Burst(b"", last)
        gap = burst_gap(self.baud)
        buffer = bytearray(data)
        while len(buffer) < MAX_BURST_BYTES and last - first < span:
            if may_end_message(buffer):
                break
            until = min(last + gap, limit)
            if self.clock.now() >= until:
                break
            more = await self.read(until)
            if not more:
                break
            buffer += more
            last = self.clock.now()
        return Burst(bytes(buffer), last)

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        await self.inner.set_line(baud, framing)
        self.baud = baud

    async def reset_input(self) -> None:
        await self.inner.reset_input()
        self._forget()

    def _forget(self) -> None:
        self.echo.reset()
        self._lost = None

    def _filter(self, data: bytes) -> bytes:
        return self.echo.feed(data) if self.options.echo else data

    async def _gather(self, deadline: float) -> bytes:
        gap = self.options.inter_byte_read
        out = bytearray()
        until = min(self.clock.now() + gap, deadline)
        while self.clock.now() < until:
            try:
                more = self._filter(await self.inner.read(until))
            except PortError as exc:
                self._lost = exc
                break
            if more:
                out += more
                until = min(self.clock.now() + gap, deadline)
        return bytes(out)


def gathering_port(port: Port) -> GatheringPort:
    """``port`` itself if it gathers already, else ``port`` wrapped with no options."""
    return port if isinstance(port, GatheringPort) else GatheringPort(port)
