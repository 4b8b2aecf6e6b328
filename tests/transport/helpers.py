"""Lines for the transport tests: bare ptys, the simulator on a pty, a local TCP server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from poller.protocol import DataMessage, LineFraming, OptionSelect, Request, decode_frames
from poller.simulator import PtyServer, ScaledClock, SimulatedMeter, VirtualBus, get_profile
from poller.transport import Port

EPOCH = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ZMD = get_profile("lg-zmd")


class BarePty:
    """A pty whose master the test holds: it plays the far end byte by byte."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def received(self) -> bytes:
        with contextlib.suppress(BlockingIOError):
            return os.read(self.master, 4096)
        return b""

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.asynccontextmanager
async def bare_pty() -> AsyncIterator[BarePty]:
    pty = BarePty()
    try:
        yield pty
    finally:
        pty.close()


@contextlib.asynccontextmanager
async def served_meter(time_scale: float = 1.0) -> AsyncIterator[PtyServer]:
    """The simulator's lg-zmd on a pty, served by a task on the running loop."""
    bus = VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)])
    server = PtyServer(bus, ScaledClock(time_scale=time_scale))
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.close()
        await task


async def read_until(port: Port, done: Callable[[bytes], bool], timeout: float) -> bytes:
    out = bytearray()
    deadline = port.clock.now() + timeout
    while not done(bytes(out)):
        chunk = await port.read(deadline)
        if not chunk:
            break
        out += chunk
    return bytes(out)


@dataclass
class ModeCResult:
    raw: bytes
    sign_on_end: float
    sign_on_started: float
    switch_seconds: float
    frames: list[object] = field(default_factory=list)


async def mode_c_readout(
    port: Port, before_switch: Callable[[], Awaitable[None]] | None = None
) -> ModeCResult:
    """Sign on at 300 Bd, select 9600 Bd, switch once the ACK has left, read out."""
    clock = port.clock
    started = clock.now()
    sign_on_end = await port.write(Request(address=ZMD.address).to_bytes())
    ident = await read_until(port, lambda b: b.endswith(b"\n"), 3.0)
    assert ident == ZMD.identification.to_bytes()
    ack_end = await port.write(OptionSelect.readout("5").to_bytes())
    await clock.sleep_until(ack_end)
    if before_switch is not None:
        await before_switch()
    switch_start = clock.now()
    await port.set_line(9600, LineFraming.BITS_7E1)
    switch_seconds = clock.now() - switch_start
    data = await read_until(port, lambda b: b"\x03" in b[:-1], 3.0)
    frames = decode_frames(ident + data)
    assert isinstance(frames[1].message, DataMessage)
    assert "1.8.0(" in frames[1].message.data
    return ModeCResult(ident + data, sign_on_end, started, switch_seconds, list(frames))
