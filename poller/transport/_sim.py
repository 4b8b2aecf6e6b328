"""``sim://`` ports: the in-process simulator, with this layer's per-port options.

The simulator builds the port itself (``poller.simulator._url.open_simulated_port``:
profiles, counts, seeds, manual or scaled clocks); what it lacks is what a bus
option adds on top of any line, echo suppression and read gathering. ``FilteredPort``
adds those to any ``Port``, so the simulator's echoing heads (``Quirks.echo``) are
handled here exactly as a real head is by ``StreamPort``.

The simulator package imports this one (for the errors), so it is imported only
when a ``sim://`` URL is opened, never at import time.
"""

from __future__ import annotations

from poller.protocol import LineFraming

from ._echo import EchoFilter
from ._options import PortOptions
from ._port import Clock, Port

__all__ = ["FilteredPort", "sim_port"]


class FilteredPort:
    """``inner`` with echo suppression and ``inter_byte_read`` gathering."""

    def __init__(self, inner: Port, options: PortOptions) -> None:
        self.inner = inner
        self.options = options
        self.echo = EchoFilter()

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
        return f"FilteredPort({self.inner!r})"

    async def open(self) -> None:
        self.echo.reset()
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def write(self, data: bytes) -> float:
        if self.options.echo:
            self.echo.expect(data)
        return await self.inner.write(data)

    async def read(self, deadline: float) -> bytes:
        while True:
            data = self._filter(await self.inner.read(deadline))
            if data:
                return data + await self._gather(deadline)
            if self.clock.now() >= deadline:
                return b""

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        await self.inner.set_line(baud, framing)

    async def reset_input(self) -> None:
        await self.inner.reset_input()
        self.echo.reset()

    def _filter(self, data: bytes) -> bytes:
        return self.echo.feed(data) if self.options.echo else data

    async def _gather(self, deadline: float) -> bytes:
        gap = self.options.inter_byte_read
        out = bytearray()
        while gap > 0 and (now := self.clock.now()) < deadline:
            more = await self.inner.read(min(now + gap, deadline))
            if not more:
                break
            out += self._filter(more)
        return bytes(out)


def sim_port(url: str, options: PortOptions) -> Port:
    """The simulated bus ``url`` names; raises ``PortUnavailableError`` for a bad URL."""
    # Imported here: the simulator imports this package (for the errors).
    from poller.simulator._url import open_simulated_port

    port: Port = open_simulated_port(url)
    if options.echo or options.inter_byte_read:
        return FilteredPort(port, options)
    return port
