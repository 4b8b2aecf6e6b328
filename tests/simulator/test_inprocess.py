"""The asyncio transport over a simulated bus: manual (simulated) and scaled real time."""

from __future__ import annotations

import pytest

from poller.protocol import DataMessage, OptionSelect, Request, decode_frames
from poller.simulator import (
    InProcessTransport,
    ManualClock,
    ScaledClock,
    SimulatedMeter,
    VirtualBus,
    get_profile,
)

from .helpers import EPOCH

ZMD = get_profile("lg-zmd")


def transport(clock: ManualClock | ScaledClock) -> InProcessTransport:
    return InProcessTransport(VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)]), clock)


async def readout(port: InProcessTransport) -> bytes:
    port.set_line(300)
    port.write(Request(address=ZMD.address).to_bytes())
    ident = await port.read_until_quiet(quiet=0.1, timeout=2.0)
    port.write(OptionSelect.readout("5").to_bytes())
    await port.drain()
    port.set_line(9600)
    return ident + await port.read_until_quiet(quiet=0.1, timeout=2.0)


async def test_manual_clock_runs_a_readout_in_simulated_time() -> None:
    clock = ManualClock()
    port = transport(clock)
    raw = await readout(port)
    frames = decode_frames(raw)
    assert frames[0].message == ZMD.identification
    assert isinstance(frames[1].message, DataMessage)
    # Request (13 chars), tr, ident (19), 0.1 s quiet, option select (6), tr, readout
    # at 9600 Bd, 0.1 s quiet: every step on simulated time, none slept.
    readout_chars = len(frames[1].raw)
    expected = (13 + 19 + 6) / 30 + 0.2 + 0.1 + 0.2 + readout_chars / 960 + 0.1
    assert clock.now() == pytest.approx(expected)


async def test_read_times_out_with_empty_bytes() -> None:
    clock = ManualClock()
    port = transport(clock)
    assert await port.read(timeout=5.0) == b""
    assert clock.now() == pytest.approx(5.0)


async def test_scaled_clock_keeps_the_timing_relations() -> None:
    clock = ScaledClock(time_scale=0.002)  # 500x faster: the readout takes ~4 ms
    raw = await readout(transport(clock))
    assert decode_frames(raw)[0].message == ZMD.identification


def test_closed_transport_refuses_io() -> None:
    port = transport(ManualClock())
    port.close()
    with pytest.raises(RuntimeError):
        port.write(b"/?!\r\n")


def test_scaled_clock_rejects_nonpositive_scale() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        ScaledClock(time_scale=0)
