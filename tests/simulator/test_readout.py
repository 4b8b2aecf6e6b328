"""Modes A-D: option select, baud switch, the tt fallback and the return to idle."""

from __future__ import annotations

import dataclasses

import pytest

from poller.protocol import Check, DataMessage, Mode, OptionSelect, Request, UnframedData
from poller.simulator import LineSettings, MeterState, Quirks, get_profile

from .helpers import ScriptedClient, chars

ZMD = get_profile("lg-zmd")
MT174 = get_profile("iskra-mt174")


def _sign_on(client: ScriptedClient, address: str) -> float:
    client.send(Request(address=address).to_bytes())
    return client.expect().time


def test_matching_option_select_switches_to_9600_after_tr() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    end = client.send(OptionSelect.readout("5").to_bytes(), at=ident_end + 0.3)
    client.set_line(9600, at=end + 0.05)
    got = client.expect()
    message = got.frame.message
    assert isinstance(message, DataMessage)
    assert got.frame.check is Check.OK
    assert "1.8.0(" in message.data
    assert message.is_readout
    start = end + 0.2
    assert got.time == pytest.approx(start + chars(len(got.frame.raw), 9600))
    readout = [e for e in client.bus.log if e.source == ZMD.address][1]
    assert (readout.time, readout.line.baud) == (pytest.approx(start), 9600)


def test_after_the_readout_the_meter_is_idle_at_300() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    client.send(OptionSelect.readout("5").to_bytes(), at=ident_end + 0.3)
    client.set_line(9600, at=client.now + 0.05)
    client.expect()
    assert client.meters[0].state is MeterState.IDLE
    assert client.meters[0].line == LineSettings(300)
    client.set_line(300, at=client.now + 0.5)
    assert _sign_on(client, ZMD.address) > 0


def test_lower_option_select_z_keeps_300_baud() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    end = client.send(OptionSelect.readout("4").to_bytes(), at=ident_end + 0.3)
    got = client.expect()
    assert got.frame.check is Check.OK
    assert got.time == pytest.approx(end + 0.2 + chars(len(got.frame.raw), 300))


def test_no_option_select_within_tt_reads_out_at_300() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    got = client.expect(within=30.0)
    assert isinstance(got.frame.message, DataMessage)
    start = ident_end + ZMD.option_select_window
    assert got.time == pytest.approx(start + chars(len(got.frame.raw), 300))


def test_programming_request_to_a_meter_without_programming_reads_out() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    client.send(OptionSelect.programming("5").to_bytes(), at=ident_end + 0.3)
    client.set_line(9600, at=client.now + 0.05)
    assert isinstance(client.expect().frame.message, DataMessage)


def test_the_20_ms_meter_switches_fast() -> None:
    client = ScriptedClient.on(MT174)
    ident_end = _sign_on(client, MT174.address)
    end = client.send(OptionSelect.readout("5").to_bytes(), at=ident_end + 0.05)
    client.set_line(9600, at=end + 0.001)
    got = client.expect()
    assert got.frame.check is Check.OK
    assert got.time == pytest.approx(end + 0.02 + chars(len(got.frame.raw), 9600))


def test_client_still_at_300_hears_the_9600_readout_as_junk() -> None:
    client = ScriptedClient.on(ZMD)
    ident_end = _sign_on(client, ZMD.address)
    client.send(OptionSelect.readout("5").to_bytes(), at=ident_end + 0.3)
    raw = client.silence(2.0)
    assert raw
    assert b"1.8.0" not in raw
    assert {b & 0x7F for b in raw} <= set(b"\x00@`px~\x7f")


def test_mode_a_sends_the_readout_right_after_the_ident() -> None:
    spec = dataclasses.replace(ZMD, mode=Mode.A, baud_char="0")
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    ident = client.expect()
    data = client.expect()
    assert isinstance(data.frame.message, DataMessage)
    assert data.time == pytest.approx(ident.time + chars(len(data.frame.raw)))


def test_mode_b_switches_to_the_letters_rate() -> None:
    spec = dataclasses.replace(ZMD, mode=Mode.B, baud_char="E")
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    ident = client.expect()
    client.set_line(9600, at=ident.time + 0.01)
    data = client.expect()
    assert data.frame.check is Check.OK
    assert data.time == pytest.approx(ident.time + 0.2 + chars(len(data.frame.raw), 9600))


def test_wrongly_announced_mode() -> None:
    # Announces mode C at 9600 but behaves as mode A: data straight after the ident.
    quirks = Quirks(announced_baud_char="5")
    spec = dataclasses.replace(ZMD, mode=Mode.A, baud_char="0", quirks=quirks)
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    assert client.expect().frame.message.baud_char == "5"  # type: ignore[union-attr]
    assert isinstance(client.expect(within=30).frame.message, DataMessage)


def test_ident_ending_in_lf_and_junk_before_it() -> None:
    quirks = Quirks(junk_before_ident=b"\x7f\x00", ident_line_end=b"\n")
    spec = dataclasses.replace(ZMD, quirks=quirks)
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    assert client.expect().frame.message == ZMD.identification
    assert bytes(client.raw) == b"\x7f\x00/LGZ5ZMD310CR.S40\n"


def test_mode_d_meter_pushes_every_interval_and_ignores_requests() -> None:
    spec = get_profile("emh-ehz")
    client = ScriptedClient.on(spec)
    client.set_line(2400)
    client.send(Request().to_bytes())
    frames = client.wait_until(5.0)
    idents = [f for f in frames if f.frame.message == spec.identification]
    blocks = [f.frame.message for f in frames if isinstance(f.frame.message, UnframedData)]
    assert len(idents) == 2  # at 2 s and 4 s
    assert len(blocks) == 2
    first, second = (float(b.data.split("1.8.1*255(")[1].split(")")[0]) for b in blocks)
    assert second >= first


def test_inactivity_timeout_in_programming_mode_returns_to_idle() -> None:
    spec = get_profile("emh-lzqj")
    client = ScriptedClient.on(spec)
    ident_end = _sign_on(client, spec.address)
    end = client.send(OptionSelect.programming("4").to_bytes(), at=ident_end + 0.3)
    client.set_line(4800, at=end + 0.05)
    p0 = client.expect()
    meter = client.meters[0]
    assert meter.state is MeterState.PROGRAMMING
    client.wait_until(p0.time + spec.inactivity_timeout - 0.5)
    assert meter.state is MeterState.PROGRAMMING
    client.wait_until(p0.time + spec.inactivity_timeout + 0.01)
    assert meter.state is MeterState.IDLE
    assert meter.line == LineSettings(300)


def test_break_on_timeout_quirk_sends_b0() -> None:
    spec = get_profile("emh-lzqj")
    spec = dataclasses.replace(spec, quirks=Quirks(break_on_timeout=True))
    client = ScriptedClient.on(spec)
    ident_end = _sign_on(client, spec.address)
    client.send(OptionSelect.programming("4").to_bytes(), at=ident_end + 0.3)
    client.set_line(4800, at=client.now + 0.05)
    client.expect()
    got = client.expect(within=spec.inactivity_timeout + 1)
    assert got.frame.raw == b"\x01B0\x03q"
