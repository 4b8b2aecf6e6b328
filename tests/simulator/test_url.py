"""``sim://`` URLs: a ``Port`` onto a simulated bus, on simulated or scaled time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from poller.protocol import DataMessage, LineFraming, OptionSelect, Request, decode_frames
from poller.simulator import ManualClock, ScaledClock, SimulatedPort, open_simulated_port
from poller.transport import Port, PortClosedError, PortUnavailableError

EXAMPLE = Path(__file__).parents[2] / "config" / "simulator.example.yaml"
EPOCH = "2026-03-02T10:00:00%2B00:00"  # the + of the offset, URL-encoded


async def read_meter(port: SimulatedPort, address: str, baud_char: str, baud: int) -> bytes:
    """Sign on, switch rate and read out, through the ``Port`` interface only."""
    await port.open()
    clock = port.clock
    await port.write(Request(address=address).to_bytes())
    raw = bytearray()
    while not raw.endswith(b"\r\n"):
        chunk = await port.read(clock.now() + 2.0)
        assert chunk, bytes(raw)
        raw += chunk
    sent_at = await port.write(OptionSelect.readout(baud_char).to_bytes())
    await clock.sleep_until(sent_at)
    await port.set_line(baud, LineFraming.BITS_7E1)
    while not raw.endswith(b"\x03") or len(raw) < 30:
        chunk = await port.read(clock.now() + 2.0)
        if not chunk:
            break
        raw += chunk
    raw += await port.read(clock.now() + 0.1)  # the BCC
    await port.close()
    return bytes(raw)


async def test_profile_url_on_manual_clock_is_a_port_reading_in_simulated_time() -> None:
    port = open_simulated_port(f"sim://lg-zmd?count=3&clock=manual&epoch={EPOCH}")
    assert isinstance(port, Port)
    assert isinstance(port.clock, ManualClock)
    assert [m.spec.address for m in port.bus.meters] == ["31002781", "31002782", "31002783"]
    raw = await read_meter(port, "31002783", "5", 9600)
    frames = decode_frames(raw)
    assert isinstance(frames[1].message, DataMessage)
    assert frames[1].check.value == "ok"
    assert port.bus.meters[0].epoch == datetime(2026, 3, 2, 10, tzinfo=UTC)
    # About 2 s on the wire (300 Bd sign-on, two reaction times, the readout at
    # 9600 Bd), and nothing waited for in real time.
    assert 1.0 < port.clock.now() < 3.0


async def test_time_scale_and_seed() -> None:
    # Real time scaled: the meter's 200 ms reaction time is 20 ms here, which a
    # loaded machine still meets (a 20 ms meter at 0.01 would leave 0.2 ms).
    port = open_simulated_port("sim://lg-zmd?time_scale=0.1&seed=5&count=2")
    assert isinstance(port.clock, ScaledClock)
    assert port.clock.time_scale == 0.1
    assert [m.spec.seed for m in port.bus.meters] == [5, 6]
    raw = await read_meter(port, "31002782", "5", 9600)
    assert isinstance(decode_frames(raw)[1].message, DataMessage)


def test_yaml_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE.parents[1])
    relative = open_simulated_port("sim://config/simulator.example.yaml?clock=manual")
    assert len(relative.bus.meters) == 4
    absolute = open_simulated_port(f"sim://{EXAMPLE}?seed=3")
    assert {m.spec.seed for m in absolute.bus.meters} == {3}


async def test_a_closed_port_refuses_io_and_open_is_exclusive() -> None:
    port = open_simulated_port("sim://lg-zmd?clock=manual")
    with pytest.raises(PortClosedError):
        await port.write(b"/?!\r\n")
    await port.open()
    with pytest.raises(PortUnavailableError, match="already open"):
        await port.open()
    await port.write(b"/?!\r\n")
    await port.read(port.clock.now() + 1.0)
    await port.reset_input()
    assert await port.read(port.clock.now() + 0.01) == b""
    await port.close()
    await port.close()
    assert not port.is_open


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("tcp://lg-zmd", "not a sim://"),
        ("sim://no-such-meter", "no built-in profile"),
        ("sim://lg-zmd?colour=red", "unknown parameter(s) colour"),
        ("sim://lg-zmd?count=x", "invalid literal"),
        ("sim://lg-zmd?time_scale=0", "time_scale"),
        ("sim://lg-zmd?clock=wall", "clock"),
        ("sim://lg-zmd?epoch=2026-03-02T10:00", "time zone"),
        ("sim://missing.yaml", "cannot read"),
        (f"sim://{EXAMPLE}?count=2", "only with a profile"),
    ],
)
def test_bad_urls_are_unavailable_ports(url: str, reason: str) -> None:
    with pytest.raises(PortUnavailableError) as info:
        open_simulated_port(url)
    assert reason in str(info.value)
    assert info.value.url == url
