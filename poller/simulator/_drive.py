"""Run a client session against a virtual bus on simulated time.

This is the smallest engine there is: it executes a ``ClientSession``'s actions
against a ``VirtualBus`` without asyncio, a port or a clock, jumping simulated time
straight to the next byte or deadline. Tests, the demo and benchmarks use it to run
whole conversations in microseconds while keeping every timing relation exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from poller.protocol import (
    Action,
    ClientSession,
    Done,
    Failed,
    Send,
    SetLine,
    Wait,
    char_time,
)

from ._bus import VirtualBus
from ._line import LineSettings

__all__ = ["Exchange", "SessionRun", "printable", "run_session"]

# Bytes closer together than this many character times arrive as one burst.
_BURST_GAP_CHARS = 3
# A session that has not ended after this many steps is stuck: a bug, not a slow meter.
_MAX_STEPS = 100_000


@dataclass(frozen=True, slots=True)
class Exchange:
    """One step seen on the line, for logs and demos."""

    time: float
    direction: str
    """``">"`` client to meter, ``"<"`` meter to client, ``"="`` a line change."""
    text: str


@dataclass(slots=True)
class SessionRun:
    """What ``run_session`` saw: the final action, when it ended, and the exchanges."""

    outcome: Done | Failed
    end: float
    exchanges: list[Exchange] = field(default_factory=list)


def run_session(bus: VirtualBus, session: ClientSession, *, start: float) -> SessionRun:
    """Drive ``session`` on ``bus`` from simulated time ``start`` until it ends."""
    exchanges: list[Exchange] = []
    now = max(start, bus.now)
    actions: list[Action] = session.start(now)
    for _ in range(_MAX_STEPS):
        following: list[Action] | None = None
        for action in actions:
            if isinstance(action, Send):
                now = max(now, action.not_before, bus.client_busy_until)
                bus.client_write(action.data, now)
                exchanges.append(Exchange(now, ">", action.description))
            elif isinstance(action, SetLine):
                now = max(now, action.at)
                bus.set_client_line(LineSettings(action.baud, action.framing.value), now)
                exchanges.append(Exchange(now, "=", f"{action.baud} {action.framing.value}"))
            elif isinstance(action, Wait):
                following, now = _wait(bus, session, action, now, exchanges)
                break
            else:
                assert isinstance(action, Done | Failed)
                return SessionRun(action, now, exchanges)
        if following is None:
            raise RuntimeError("session returned actions without a Wait, Done or Failed")
        actions = following
    raise RuntimeError(f"session did not end within {_MAX_STEPS} steps")


def _wait(
    bus: VirtualBus,
    session: ClientSession,
    wait: Wait,
    now: float,
    exchanges: list[Exchange],
) -> tuple[list[Action], float]:
    while True:
        when = bus.next_event()
        if when is None or when > wait.deadline:
            now = max(now, wait.deadline)
            bus.advance(now)
            return session.timeout(now), now
        now = max(now, when)
        data = bus.client_read(now)
        if not data:
            continue
        # Hand the session a whole burst, stamped with its last byte's time, as a
        # serial driver would after a short inter-character silence.
        first = now
        gap = _BURST_GAP_CHARS * char_time(bus.client_line.baud)
        while (more := bus.next_event()) is not None and more <= min(now + gap, wait.deadline):
            now = max(now, more)
            data += bus.client_read(now)
        exchanges.append(Exchange(first, "<", printable(data)))
        return session.receive_data(data, now), now


_NAMES = {0x01: "<SOH>", 0x02: "<STX>", 0x03: "<ETX>", 0x04: "<EOT>", 0x06: "<ACK>"}
_NAMES |= {0x15: "<NAK>", 0x0D: "<CR>", 0x0A: "<LF>", 0x00: "<NUL>"}


def printable(data: bytes) -> str:
    """Bytes for a log line: ASCII as is, control characters as ``<STX>``, others as hex."""
    return "".join(_NAMES.get(b, chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>") for b in data)
