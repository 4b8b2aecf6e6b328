"""A minimal scripted client for driving simulated meters on simulated time.

It is built only from the protocol codecs and a client-role ``FrameDecoder``, so the
tests check the simulator against the standard's messages rather than against the
poller's own session logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from poller.protocol import NEED_TAIL, READOUT_TAIL_WAIT, Frame, FrameDecoder, Role, wire_time
from poller.simulator import LineSettings, MeterSpec, SimulatedMeter, VirtualBus

EPOCH = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Received:
    time: float
    """When the frame's last byte arrived."""
    frame: Frame


class ScriptedClient:
    def __init__(self, bus: VirtualBus) -> None:
        self.bus = bus
        self.now = bus.now
        self.decoder = FrameDecoder(role=Role.CLIENT)
        self.raw = bytearray()
        self._last_rx = 0.0

    @classmethod
    def on(cls, *specs: MeterSpec) -> ScriptedClient:
        return cls(VirtualBus([SimulatedMeter(s, epoch=EPOCH) for s in specs]))

    @property
    def meters(self) -> list[SimulatedMeter]:
        return self.bus.meters

    def send(self, data: bytes, *, at: float | None = None) -> float:
        """Write at ``at`` (default: now); the client's time moves to the end of it."""
        if at is not None:
            self.wait_until(at)
        self.now = self.bus.client_write(data, self.now)
        return self.now

    def set_line(self, baud: int, framing: str = "7E1", *, at: float | None = None) -> None:
        if at is not None:
            self.wait_until(at)
        assert framing in ("7E1", "8N1")
        self.bus.set_client_line(LineSettings(baud, framing), self.now)  # type: ignore[arg-type]

    def wait_until(self, until: float) -> list[Received]:
        """Read everything that arrives up to ``until``, frame by frame, with times."""
        out: list[Received] = []
        while True:
            t = self.bus.next_event()
            if t is None or t > until:
                break
            self.now = max(self.now, t)
            out.extend(self._settle(t))
            out.extend(self._take(t))
        self.now = max(self.now, until)
        out.extend(self._settle(until))
        out.extend(self._take(until))
        return out

    def _take(self, t: float) -> list[Received]:
        data = self.bus.client_read(t)
        if data:
            self._last_rx = t
        self.raw += data
        self.decoder.receive_data(data)
        return [Received(t, f) for f in self.decoder.frames()]

    def _settle(self, t: float) -> list[Received]:
        """A block without STX, taken as the session takes it: once nothing has
        followed its line end for ``READOUT_TAIL_WAIT`` by ``t``."""
        taken = self._last_rx + READOUT_TAIL_WAIT
        if self.decoder.waiting is not NEED_TAIL or t < taken:
            return []
        self.now = max(self.now, taken)
        return [Received(taken, f) for f in self.decoder.end_of_data()]

    def expect(self, *, within: float = 30.0) -> Received:
        """The next frame, arriving within ``within`` seconds."""
        deadline = self.now + within
        while True:
            t = self.bus.next_event()
            settled = self._settle(deadline if t is None else min(t, deadline))
            if settled:
                assert len(settled) == 1, settled
                return settled[0]
            if t is None or t > deadline:
                raise AssertionError(f"no frame by {deadline:.3f} s (got {bytes(self.raw)!r})")
            self.now = max(self.now, t)
            got = self._take(t)
            if got:
                assert len(got) == 1, got
                return got[0]

    def silence(self, seconds: float) -> bytes:
        """Wait ``seconds`` and return the raw bytes that arrived meanwhile."""
        before = len(self.raw)
        self.wait_until(self.now + seconds)
        return bytes(self.raw[before:])


def chars(n: int, baud: int = 300) -> float:
    return wire_time(n, baud)
