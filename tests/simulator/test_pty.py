"""The pty server, driven like a serial port from another thread (real, scaled time)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from poller.protocol import DataMessage, OptionSelect, Request, decode_frames
from poller.simulator import ScaledClock, SimulatedMeter, VirtualBus, get_profile
from poller.simulator._pty import PtyServer, line_from_termios

from .helpers import EPOCH

ZMD = get_profile("lg-zmd")
SCALE = 0.25  # 4x faster than real time: tr is 50 ms of real time


@contextlib.contextmanager
def served() -> Iterator[PtyServer]:
    bus = VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)])
    server = PtyServer(bus, ScaledClock(time_scale=SCALE))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(server.close)
        thread.join(timeout=5)
        loop.close()


def set_baud(fd: int, baud: int, *, odd_parity: bool = False) -> None:
    attrs = termios.tcgetattr(fd)
    speed = getattr(termios, f"B{baud}")
    attrs[4] = attrs[5] = speed
    attrs[2] |= termios.PARENB | termios.CREAD | termios.CLOCAL
    if odd_parity:
        attrs[2] |= termios.PARODD
    attrs[3] &= ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def read_for(fd: int, seconds: float) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            out += os.read(fd, 4096)
    return bytes(out)


def read_line(fd: int, seconds: float) -> bytes:
    """Read up to a line end; the option select must follow within tt (0.5 s real)."""
    out = bytearray()
    deadline = time.monotonic() + seconds
    while not out.endswith(b"\n") and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            out += os.read(fd, 1)
    return bytes(out)


def test_mode_c_readout_over_the_pty() -> None:
    with served() as server:
        fd = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        try:
            set_baud(fd, 300)
            os.write(fd, Request(address=ZMD.address).to_bytes())
            ident = read_line(fd, 1.0)
            assert ident == ZMD.identification.to_bytes()
            os.write(fd, OptionSelect.readout("5").to_bytes())
            # As on a real UART: switch only once the 6 characters have left at 300 Bd
            # (200 ms simulated), and before the meter answers tr later.
            time.sleep(0.25 * SCALE)
            set_baud(fd, 9600)
            data = read_for(fd, 1.0)
        finally:
            os.close(fd)
    frames = decode_frames(ident + data)
    assert isinstance(frames[1].message, DataMessage)
    assert "1.8.0(" in frames[1].message.data


@pytest.mark.parametrize(("baud", "odd"), [(9600, False), (300, True)])
def test_client_at_the_wrong_settings_is_not_understood(baud: int, odd: bool) -> None:
    with served() as server:
        fd = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        try:
            set_baud(fd, baud, odd_parity=odd)
            os.write(fd, Request(address=ZMD.address).to_bytes())
            assert read_for(fd, 0.5) == b""
        finally:
            os.close(fd)


def test_what_the_master_sees() -> None:
    master, slave = os.openpty()
    try:
        set_baud(slave, 4800)
        line = line_from_termios(termios.tcgetattr(master))
        assert (line.baud, line.framing) == (4800, "7E1")
        set_baud(slave, 4800, odd_parity=True)
        assert line_from_termios(termios.tcgetattr(master)).framing == "8N1"
    finally:
        os.close(master)
        os.close(slave)
