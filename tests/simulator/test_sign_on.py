"""Addressing, collisions and the timing of the identification (clauses 6.3.1, 6.4)."""

from __future__ import annotations

import dataclasses

import pytest

from poller.protocol import Identification, Request
from poller.simulator import MeterState, get_profile

from .helpers import ScriptedClient, chars

ZMD = get_profile("lg-zmd")  # address 31002781, tr 200 ms
MT174 = get_profile("iskra-mt174")  # tr 20 ms
LZQJ = get_profile("emh-lzqj")  # address 06417290


def _ident_bytes(spec: object) -> bytes:
    ident = spec.identification  # type: ignore[attr-defined]
    assert isinstance(ident, Identification)
    return ident.to_bytes()


def test_addressed_meter_answers_after_its_reaction_time() -> None:
    client = ScriptedClient.on(ZMD)
    end = client.send(Request(address="31002781").to_bytes())
    assert end == pytest.approx(chars(13))
    got = client.expect()
    assert got.frame.message == ZMD.identification
    # The ident starts tr after the request's last character and takes 10 bits a char.
    start = end + 0.2
    assert got.time == pytest.approx(start + chars(len(_ident_bytes(ZMD))))
    assert [e.time for e in client.bus.log if e.source == ZMD.address] == [pytest.approx(start)]


def test_lowercase_third_letter_meter_answers_after_20_ms() -> None:
    client = ScriptedClient.on(MT174)
    end = client.send(Request(address=MT174.address).to_bytes())
    got = client.expect()
    assert got.frame.message.ident == "MT174-0001"  # type: ignore[union-attr]
    assert got.time == pytest.approx(end + 0.02 + chars(len(_ident_bytes(MT174))))


@pytest.mark.parametrize("address", ["0031002781", "031002781", "31002781"])
def test_leading_zeros_are_ignored(address: str) -> None:
    client = ScriptedClient.on(ZMD)
    client.send(Request(address=address).to_bytes())
    assert client.expect().frame.message == ZMD.identification


def test_meter_address_with_leading_zero_answers_without_it() -> None:
    client = ScriptedClient.on(LZQJ)
    client.send(Request(address="6417290").to_bytes())
    assert client.expect().frame.message == LZQJ.identification


def test_wrong_address_stays_silent() -> None:
    client = ScriptedClient.on(ZMD)
    client.send(Request(address="31002782").to_bytes())
    assert client.silence(5.0) == b""
    assert client.meters[0].state is MeterState.IDLE


def test_general_address_with_one_meter() -> None:
    client = ScriptedClient.on(ZMD)
    client.send(Request().to_bytes())
    assert client.expect().frame.message == ZMD.identification


def test_addressing_picks_one_meter_of_several() -> None:
    client = ScriptedClient.on(ZMD, MT174, LZQJ)
    client.send(Request(address=MT174.address).to_bytes())
    assert client.expect().frame.message == MT174.identification
    client.silence(3.0)  # its readout at 300 Bd follows tt later
    assert {e.source for e in client.bus.log} == {"client", MT174.address}


def test_general_address_with_two_meters_collides() -> None:
    twin = dataclasses.replace(ZMD, address="31002782", ident="ZMD410CT.S52")
    client = ScriptedClient.on(ZMD, twin)
    client.send(Request().to_bytes())
    frames = client.wait_until(client.now + 1.5)
    raw = bytes(client.raw)
    assert raw
    assert _ident_bytes(ZMD) not in raw
    assert _ident_bytes(twin) not in raw
    assert all(f.frame.message not in (ZMD.identification, twin.identification) for f in frames)


def test_collision_of_meters_with_different_reaction_times() -> None:
    client = ScriptedClient.on(ZMD, MT174)
    client.send(Request().to_bytes())
    client.wait_until(client.now + 1.5)
    raw = bytes(client.raw)
    # The 20 ms meter starts first; the 200 ms one spoils the rest of its ident.
    assert raw.startswith(b"/IS")
    assert _ident_bytes(MT174) not in raw
    assert _ident_bytes(ZMD) not in raw


def test_client_talking_over_the_ident_makes_the_meter_abort() -> None:
    client = ScriptedClient.on(ZMD)
    end = client.send(Request(address=ZMD.address).to_bytes())
    client.send(b"\x06050\r\n", at=end + 0.3)  # the ident is still on the wire
    assert client.meters[0].state is MeterState.IDLE
    assert _ident_bytes(ZMD) not in bytes(client.raw + client.silence(4.0))
    notes = [e.note for e in client.bus.log if e.source == ZMD.address]
    assert notes[1].startswith("aborted after")


def test_wrong_baud_client_is_heard_as_garbage() -> None:
    client = ScriptedClient.on(ZMD)
    client.set_line(9600)
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.silence(3.0) == b""
    client.set_line(300)
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.expect().frame.message == ZMD.identification


def test_meter_needing_8n1_does_not_hear_a_7e1_client() -> None:
    spec = dataclasses.replace(ZMD, quirks=dataclasses.replace(ZMD.quirks, framing="8N1"))
    client = ScriptedClient.on(spec)
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.silence(3.0) == b""
    client.set_line(300, "8N1")
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.expect().frame.message == ZMD.identification


def test_7e1_meter_read_by_an_8n1_client_carries_parity_in_bit_7() -> None:
    client = ScriptedClient.on(ZMD)
    client.send(Request(address=ZMD.address).to_bytes())
    client.set_line(300, "8N1")
    client.wait_until(client.now + 1.0)
    # '/' has five one bits: even parity sets bit 7 (0xAF), as in the corpus capture.
    assert bytes(client.raw).startswith(b"\xaf")
    assert bytes(b & 0x7F for b in client.raw) == _ident_bytes(ZMD)
