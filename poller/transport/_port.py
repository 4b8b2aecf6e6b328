"""The one interface between the bus engine and whatever carries its bytes.

A ``Port`` is a half-duplex serial line seen from the client: a USB RS-485 adapter
or optical head (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``), a TCP-serial converter
(``socket://host:port``, ``rfc2217://host:port``) or the in-process simulator
(``sim://PROFILE``). All its times are on its ``clock``: real monotonic seconds for
hardware, simulated seconds for the simulator, so the engine above never reads a
clock of its own and runs unchanged, and exactly, on simulated time in tests.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from poller.protocol import LineFraming

__all__ = [
    "Clock",
    "Port",
    "PortClosedError",
    "PortError",
    "PortUnavailableError",
]


@runtime_checkable
class Clock(Protocol):
    """Seconds on some monotonic scale, and a way to wait for a moment on it."""

    def now(self) -> float: ...

    async def sleep_until(self, when: float) -> None: ...


class PortError(Exception):
    """Base of the transport's errors; ``url`` never holds credentials."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class PortUnavailableError(PortError):
    """The port cannot be opened: device absent, busy, permission, connection refused."""


class PortClosedError(PortError):
    """The port went away while in use (adapter unplugged, converter rebooted)."""


@runtime_checkable
class Port(Protocol):
    """A serial line the bus engine owns exclusively while it is open."""

    @property
    def url(self) -> str:
        """The port's URL with any password removed, for logs."""
        ...

    @property
    def clock(self) -> Clock: ...

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None:
        """Open exclusively at 300 Bd 7E1; raises ``PortUnavailableError``."""
        ...

    async def close(self) -> None:
        """Close; safe to call on a closed or never-opened port."""
        ...

    async def write(self, data: bytes) -> float:
        """Queue ``data`` and return the clock time its last character leaves the wire.

        That time is computed from the byte count and the current rate, never from
        the driver's word alone: USB adapters report "drained" while bytes are still
        in their FIFO, and a baud switch before this time cuts the message.
        """
        ...

    async def read(self, deadline: float) -> bytes:
        """Bytes received so far, waiting until some arrive or ``deadline`` passes (b"").

        A raw port returns every byte it received, our echo too; the ``GatheringPort``
        around it drops the echo where configured.
        """
        ...

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        """Switch rate and framing now; a no-op when nothing changes (PROTOCOL.md 13)."""
        ...

    async def reset_input(self) -> None:
        """Drop everything received and not yet read (stale bytes before a sign-on)."""
        ...
