"""A ``Port`` over the simulator's ``VirtualBus`` on a ``ManualClock``, with fault hooks.

The engine runs unchanged on it: every wait jumps simulated time to the next byte
or deadline, so a 32-meter cycle runs in well under a second of real time while
every timing relation stays exact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence

from poller.protocol import LineFraming
from poller.simulator import LineSettings, ManualClock, MeterSpec, SimulatedMeter, VirtualBus
from poller.transport import PortClosedError, PortUnavailableError

EPOCH = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
# The simulated meters keep UTC+1 standard time all year.
METER_TZ = dt.timezone(dt.timedelta(hours=1))


class SimPort:
    """The client's end of a virtual bus as a ``Port``.

    ``echo_suppression`` strips our own bytes from what is read (adapters that hear
    themselves). ``outage`` is a (start, end) clock window in which the port is gone:
    reads and writes raise ``PortClosedError`` and ``open`` raises
    ``PortUnavailableError``.
    """

    def __init__(
        self,
        bus: VirtualBus,
        clock: ManualClock,
        *,
        echo_suppression: bool = False,
        outage: tuple[float, float] | None = None,
    ) -> None:
        self.bus = bus
        self._clock = clock
        self.echo_suppression = echo_suppression
        self.outage = outage
        self._open = False
        self._pending_echo = bytearray()
        self.opens = 0
        self.writes: list[tuple[float, bytes]] = []
        self.line_changes: list[tuple[float, int, LineFraming]] = []
        self.resets = 0

    @property
    def url(self) -> str:
        return "sim://test"

    @property
    def clock(self) -> ManualClock:
        return self._clock

    @property
    def is_open(self) -> bool:
        return self._open

    def _gone(self) -> bool:
        if self.outage is None:
            return False
        start, end = self.outage
        return start <= self._clock.now() < end

    def _check(self) -> None:
        if not self._open:
            raise PortClosedError(self.url, "not open")
        if self._gone():
            self._open = False
            raise PortClosedError(self.url, "device vanished")

    async def open(self) -> None:
        await asyncio.sleep(0)
        if self._gone():
            raise PortUnavailableError(self.url, "no such device")
        self._open = True
        self.opens += 1
        self.bus.set_client_line(LineSettings(300, "7E1"), self._clock.now())

    async def close(self) -> None:
        self._open = False

    async def write(self, data: bytes) -> float:
        self._check()
        now = self._clock.now()
        self.writes.append((now, data))
        if self.echo_suppression:
            self._pending_echo += data
        return self.bus.client_write(data, now)

    async def read(self, deadline: float) -> bytes:
        while True:
            self._check()
            now = self._clock.now()
            data = self._strip_echo(self.bus.client_read(now))
            if data:
                return data
            if now >= deadline:
                return b""
            upcoming = self.bus.next_event()
            target = deadline if upcoming is None else min(deadline, max(upcoming, now))
            await self._clock.sleep_until(target)

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        self._check()
        line = LineSettings(baud, framing.value)  # type: ignore[arg-type]
        if line != self.bus.client_line:
            self.line_changes.append((self._clock.now(), baud, framing))
            self.bus.set_client_line(line, self._clock.now())

    async def reset_input(self) -> None:
        self._check()
        self.resets += 1
        self.bus.client_read(self._clock.now())
        self._pending_echo.clear()

    def _strip_echo(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if self._pending_echo and byte == self._pending_echo[0]:
                del self._pending_echo[0]
                continue
            self._pending_echo.clear()
            out.append(byte)
        return bytes(out)


def sim_bus(
    specs: Sequence[MeterSpec], **port_options: object
) -> tuple[SimPort, ManualClock, list[SimulatedMeter]]:
    clock = ManualClock()
    meters = [SimulatedMeter(spec, epoch=EPOCH) for spec in specs]
    bus = VirtualBus(meters)
    return SimPort(bus, clock, **port_options), clock, meters  # type: ignore[arg-type]


def wall_clock(clock: ManualClock) -> Callable[[], dt.datetime]:
    """Wall-clock time that follows the simulation, as the meters see it."""
    return lambda: EPOCH + dt.timedelta(seconds=clock.now())
