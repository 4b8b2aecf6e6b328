"""Every mode and meter behaviour the engine must read, one meter at a time."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from poller.engine import ReadKind
from poller.protocol import LineFraming, Mode, Password, SessionMode, wire_time
from poller.readings import Quality, ReadingBatch
from poller.simulator import Quirks, get_profile

from .helpers import client_sends, rig, settings, spec


async def read_one(
    meter_spec, meter_settings=None, kind=None, **rig_options
) -> tuple[ReadingBatch, object]:
    r = rig([meter_spec], [meter_settings or settings(meter_spec)], **rig_options)
    async with r.engine:
        batch = await r.engine.submit(meter_spec.address, kind)
    return batch, r


def by_address(batch: ReadingBatch) -> dict[str, object]:
    return {r.address: r for r in batch.readings}


async def test_mode_c_readout() -> None:
    zmd = get_profile("lg-zmd")
    batch, r = await read_one(zmd)
    assert batch.ok, batch.error
    assert batch.baud == 9600
    assert batch.ident == "/LGZ5ZMD310CR.S40"
    reading = by_address(batch)["1.8.0"]
    assert reading.unit == "kWh"
    assert isinstance(reading.decimal, Decimal)
    assert reading.quality is Quality.GOOD
    assert reading.meter == zmd.address
    assert r.batches == [batch]
    assert client_sends(r)[0] == b"/?31002781!\r\n"  # addressed
    assert r.port.resets == 1  # stale input flushed before the sign-on


async def test_mode_a_readout_at_300_baud() -> None:
    meter = spec("lg-zmd", mode=Mode.A, baud_char="0")
    batch, r = await read_one(meter, settings(meter, force_mode=Mode.A))
    assert batch.ok, batch.error
    assert batch.baud == 300
    assert "1.8.0" in by_address(batch)
    assert client_sends(r) == [b"/?31002781!\r\n"]  # no option select in mode A


async def test_mode_b_switches_after_the_identification() -> None:
    meter = spec("lg-zmd", mode=Mode.B, baud_char="E")
    batch, r = await read_one(meter)
    assert batch.ok, batch.error
    assert batch.baud == 9600
    assert [baud for _, baud, _ in r.port.line_changes] == [9600]


async def test_mode_d_push_meter() -> None:
    ehz = get_profile("emh-ehz")
    batch, r = await read_one(ehz, settings(ehz, mode=SessionMode.PUSH))
    assert batch.ok, batch.error
    assert batch.baud == 2400
    assert "1-0:1.8.1*255" in by_address(batch)
    assert client_sends(r) == []  # a push meter is only listened to


async def test_programming_r1_registers_with_p1() -> None:
    lzqj = get_profile("emh-lzqj")
    config = settings(
        lzqj,
        mode=SessionMode.PROGRAMMING,
        password=Password("00000000"),
        registers=("1.8.0", "2.8.0"),
    )
    batch, r = await read_one(lzqj, config)
    assert batch.ok, batch.error
    assert set(by_address(batch)) == {"1.8.0", "2.8.0"}
    assert client_sends(r)[-1] == b"\x01B0\x03q"  # signed off
    assert batch.command_errors == ()  # was extra.get("command_errors") is None


async def test_programming_with_a_p2_scheme() -> None:
    a1140 = get_profile("elster-a1140")
    config = settings(
        a1140,
        mode=SessionMode.PROGRAMMING,
        password=Password("ABCDEFGH"),
        password_scheme="elster-a1140",
        registers=("1.8.0",),
    )
    batch, _ = await read_one(a1140, config)
    assert batch.ok, batch.error
    assert "1.8.0" in by_address(batch)


async def test_load_profile_p01_and_logbook() -> None:
    lzqj = get_profile("emh-lzqj")
    config = settings(
        lzqj,
        mode=SessionMode.PROGRAMMING,
        password=Password("00000000"),
        profiles=("P.01", "P.98"),
    )
    batch, _ = await read_one(lzqj, config, kind=ReadKind.PROFILE)
    assert batch.ok, batch.error
    p01 = [r for r in batch.readings if r.address and r.address.startswith("P.01:")]
    # A day of quarter hours, four channels each.
    assert len(p01) == 96 * 4
    assert all(r.meter_time is not None for r in p01)


async def test_registers_without_the_profiles_that_have_their_own_schedule() -> None:
    lzqj = get_profile("emh-lzqj")
    common = {"mode": SessionMode.PROGRAMMING, "password": Password("00000000")}
    config = settings(lzqj, registers=("1.8.0",), profiles=("P.01",), **common)
    alone = dataclasses.replace(config, profiles_with_registers=False)
    with_profiles, r1 = await read_one(lzqj, config, kind=ReadKind.REGISTERS)
    registers_only, r2 = await read_one(lzqj, alone, kind=ReadKind.REGISTERS)
    profiles_only, r3 = await read_one(lzqj, alone, kind=ReadKind.PROFILE)
    r5 = [sum(1 for _, d in r.port.writes if d.startswith(b"\x01R5")) for r in (r1, r2, r3)]
    assert r5 == [1, 0, 1]
    assert [r.address for r in registers_only.readings] == ["1.8.0"]
    assert any(r.address == "1.8.0" for r in with_profiles.readings)
    assert all((r.address or "").startswith("P.01:") for r in profiles_only.readings)


async def test_the_20_ms_meter_is_answered_after_20_ms() -> None:
    mt174 = get_profile("iskra-mt174")
    batch, r = await read_one(mt174)
    assert batch.ok, batch.error
    ident = next(e for e in r.port.bus.log if e.source == mt174.address)
    ident_end = ident.time + wire_time(len(ident.data), 300)
    option = next(t for t, data in r.port.writes if data.startswith(b"\x06"))
    assert abs(option - ident_end - 0.020) < 1e-6
    # Request, ident and option select at 300 Bd are 1.2 s of wire time; the rest is
    # two 20 ms reaction times and the readout at 9600 Bd.
    assert batch.duration < 1.6


async def test_a_meter_that_needs_8n1() -> None:
    zmd = get_profile("lg-zmd")
    meter = dataclasses.replace(zmd, quirks=Quirks(framing="8N1"))
    batch, r = await read_one(meter, settings(meter, framing=LineFraming.BITS_8N1))
    assert batch.ok, batch.error
    assert r.port.line_changes[-1][2] is LineFraming.BITS_8N1


async def test_a_7e1_client_cannot_read_the_8n1_meter() -> None:
    meter = spec("lg-zmd", quirks={"framing": "8N1"})
    batch, _ = await read_one(meter, settings(meter, retries=0))
    assert not batch.ok


async def test_a_slow_meter_at_1400_ms() -> None:
    meter = spec("lg-zmd", faults={"reaction_time": 1.4})
    batch, _ = await read_one(meter)
    assert batch.ok, batch.error
    assert batch.repeats == 0


# The echo of our option select's last character ends the instant we switch rates;
# switched at once, the UART hears it at the new rate as junk, which the session
# takes for a spoilt block. A few ms of switch delay, as echoing adapters need anyway.
ECHO_SWITCH_DELAY = 0.005


async def test_echo_from_the_adapter_with_port_suppression() -> None:
    meter = spec("lg-zmd", quirks={"echo": True})
    config = settings(meter, switch_delay=ECHO_SWITCH_DELAY)
    batch, _ = await read_one(meter, config, port_options={"echo_suppression": True})
    assert batch.ok, batch.error
    assert batch.baud == 9600
    assert batch.repeats == 0


async def test_echo_without_suppression_is_ignored_by_the_session() -> None:
    meter = spec("lg-zmd", quirks={"echo": True})
    batch, _ = await read_one(meter, settings(meter, switch_delay=ECHO_SWITCH_DELAY))
    assert batch.ok, batch.error
    assert batch.repeats == 0


async def test_echo_garbled_by_the_baud_switch_is_skipped_without_a_repeat() -> None:
    # The last echoed character of our option select is heard at the new rate as
    # noise before STX; the decoder drops it instead of failing the readout.
    meter = spec("lg-zmd", quirks={"echo": True})
    batch, r = await read_one(meter, port_options={"echo_suppression": True})
    assert batch.ok, batch.error
    assert batch.baud == 9600
    assert batch.repeats == 0
    assert r.engine.status(meter.address).max_baud is None


async def test_bad_bcc_then_good() -> None:
    # Seeded: the first readout's BCC is spoilt, a repeat comes through.
    meter = spec("lg-zmd", faults={"bcc_error_rate": 0.5}, seed=2)
    batch, _ = await read_one(meter)
    assert batch.ok, batch.error
    assert batch.repeats == 1
    assert all(r.quality is Quality.GOOD for r in batch.readings)
