"""Serve a simulated bus on a pseudo-terminal, for any serial program to talk to.

A pty has no wire, so the simulator puts the wire in: bytes the client writes reach
the master at once and enter the bus as a transmission starting then, taking their
10 bits per character at the client's rate; the meters' bytes are written to the
master as the bus says they arrive (on the scaled clock).

The client's line settings are read from the master (``tcgetattr`` on the master
returns the slave's termios, PROTOCOL.md 13), at every byte and every tick:

* the baud rate (``ospeed``) is seen exactly, so a client at the wrong rate is heard
  as junk and hears junk;
* the settings are sampled every tick (10 ms of real time) and before each read; bytes
  are taken to have been sent at the settings in force when we read them. A pty
  delivers at once, so a client that switches rate right after writing (before its
  bytes would have left a real UART) can beat us to it and be heard at the new rate;
  such a client would cut its own last characters on real hardware too. Wait the
  message's wire time before switching (PROTOCOL.md 13);
* 7E1 and 8N1 cannot be told apart, because the pty driver forces CS8 and clears
  PARENB on every set: a client at 8N1 is taken to be at 7E1. Odd, mark or space
  parity and two stop bits do show, and such a client is heard as garbage.

We never call ``tcsetattr`` on the client's behalf after setup, and the slave is put
in raw mode only once, before its path is handed out: this glibc fails a no-op 7E1
reconfiguration on a pty with EINVAL (pyserial issue 196), so a client must be able
to set what it wants without us touching the settings in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from typing import Final

from ._bus import VirtualBus
from ._inprocess import Clock, ScaledClock
from ._line import FRAMING_7E1, FRAMING_8N1, LineSettings

__all__ = ["PtyServer", "line_from_termios"]

# Linux's "stick parity" flag, which Python's termios does not export.
_CMSPAR: Final = 0o10000000000
_RATES: Final = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_SPEEDS: Final = {getattr(termios, f"B{rate}"): rate for rate in _RATES}
# Longest real-time sleep between looks at the client's settings and the bus.
_TICK: Final = 0.01


def line_from_termios(attrs: list[object]) -> LineSettings:
    """The line a client on the slave has set, as far as a pty master can see it."""
    cflag, ospeed = attrs[2], attrs[5]
    assert isinstance(cflag, int)
    assert isinstance(ospeed, int)
    baud = _SPEEDS.get(ospeed, -ospeed)  # an unknown rate matches no meter
    odd = cflag & (termios.PARODD | termios.CSTOPB | _CMSPAR)
    # Not 7E1: hearing it as 8N1 turns its characters into parity errors, i.e. garbage.
    return LineSettings(baud, FRAMING_8N1 if odd else FRAMING_7E1)


class PtyServer:
    """A pty whose slave path (``path``) leads to the bus's meters."""

    def __init__(self, bus: VirtualBus, clock: Clock | None = None) -> None:
        self.bus = bus
        self.clock: Clock = clock or ScaledClock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        # Keep our own slave fd open: without it the master reads EIO whenever no
        # client has the port open, e.g. between two runs of a poller.
        self.path = os.ttyname(self._slave)
        os.set_blocking(self._master, False)
        self._pending = bytearray()
        self._wake = asyncio.Event()
        self._closed = False
        self._serving = False

    async def serve(self) -> None:
        """Run until ``close``; meant to be a task of its own."""
        loop = asyncio.get_running_loop()
        if self._closed:
            return
        loop.add_reader(self._master, self._on_readable)
        self._serving = True
        try:
            while not self._closed:
                self._sync_line()
                self._pending += self.bus.client_read(self.clock.now())
                self._flush()
                await self._sleep()
        finally:
            loop.remove_reader(self._master)
            self._serving = False
            self._close_fds()

    def close(self) -> None:
        """Stop serving; the fds close once ``serve`` has let go of them (or now)."""
        self._closed = True
        self._wake.set()
        if not self._serving:
            self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _sync_line(self) -> None:
        line = line_from_termios(termios.tcgetattr(self._master))
        if line != self.bus.client_line:
            self.bus.set_client_line(line, self.clock.now())

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        if data:
            self._sync_line()
            self.bus.client_write(data, self.clock.now())
            self._wake.set()

    def _flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                return  # the client is not reading; try again next tick
            del self._pending[:written]

    async def _sleep(self) -> None:
        upcoming = self.bus.next_event()
        now = self.clock.now()
        scale = getattr(self.clock, "time_scale", 1.0)
        delay = _TICK if upcoming is None else min(_TICK, max(0.0, (upcoming - now) * scale))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            # A timeout scope rather than wait_for, whose task of its own would cost
            # two more turns of the loop before the meters hear the client.
            async with asyncio.timeout(delay):
                await self._wake.wait()
