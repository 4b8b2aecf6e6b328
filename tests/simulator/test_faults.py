"""Injected faults, each deterministic for a seed."""

from __future__ import annotations

import dataclasses

import pytest

from poller.protocol import (
    Check,
    Command,
    DataMessage,
    ErrorMessage,
    Nak,
    OptionSelect,
    Request,
    decode_frames,
)
from poller.simulator import Faults, MeterSpec, MeterState, Quirks, get_profile

from .helpers import ScriptedClient, chars
from .test_programming import ask, programming

ZMD = get_profile("lg-zmd")
LZQJ = get_profile("emh-lzqj")


def faulty(spec: MeterSpec, **faults: object) -> MeterSpec:
    return dataclasses.replace(spec, faults=Faults(**faults))  # type: ignore[arg-type]


def readout(spec: MeterSpec) -> ScriptedClient:
    """Sign on, select 9600 Bd readout, and collect everything for 3 s."""
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    client.wait_until(client.now + 1.5)
    end = client.send(OptionSelect.readout("5").to_bytes())
    client.set_line(9600, at=end + 0.05)
    client.wait_until(client.now + 3.0)
    return client


def clean_readout() -> bytes:
    return bytes(readout(ZMD).raw)


def test_silent_meter() -> None:
    client = ScriptedClient.on(faulty(ZMD, silent=True))
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.silence(10.0) == b""


def test_slow_meter_answers_after_1_45_s() -> None:
    client = ScriptedClient.on(faulty(ZMD, reaction_time=1.45))
    end = client.send(Request(address=ZMD.address).to_bytes())
    got = client.expect()
    assert got.time == pytest.approx(end + 1.45 + chars(len(got.frame.raw)))


def _readout_check(raw: bytes) -> Check:
    (frame,) = [f for f in decode_frames(raw) if isinstance(f.message, DataMessage)]
    return frame.check


def test_corrupted_bcc() -> None:
    raw = bytes(readout(faulty(ZMD, bcc_error_rate=1.0)).raw)
    clean = clean_readout()
    assert raw[:-1] == clean[:-1]
    assert raw[-1] != clean[-1]
    assert (_readout_check(raw), _readout_check(clean)) == (Check.BAD, Check.OK)


def test_bcc_errors_follow_the_seed() -> None:
    spec = faulty(ZMD, bcc_error_rate=0.5)
    runs = [bytes(readout(dataclasses.replace(spec, seed=seed)).raw) for seed in (1, 1, 2, 3, 4, 5)]
    assert runs[0] == runs[1]
    assert {_readout_check(raw) for raw in runs} == {Check.OK, Check.BAD}


def test_dropped_bytes() -> None:
    raw = bytes(readout(faulty(ZMD, drop_rate=0.05)).raw)
    assert 0 < len(raw) < len(clean_readout())


def test_flipped_bytes() -> None:
    raw = bytes(readout(faulty(ZMD, flip_rate=0.05)).raw)
    clean = clean_readout()
    assert len(raw) == len(clean)
    assert raw != clean


def test_echo_of_everything_the_client_sends() -> None:
    spec = dataclasses.replace(ZMD, quirks=Quirks(echo=True))
    client = ScriptedClient.on(spec)
    request = Request(address=ZMD.address).to_bytes()
    end = client.send(request)
    assert client.silence(0.1) == request
    assert client.now >= end
    assert client.expect().frame.message == ZMD.identification


def test_answers_at_the_wrong_baud() -> None:
    client = readout(faulty(ZMD, answer_baud=4800))
    raw = bytes(client.raw)
    ident = ZMD.identification.to_bytes()
    assert raw.startswith(ident)
    assert b"1.8.0" not in raw[len(ident) :]
    assert [e.line.baud for e in client.bus.log if e.source == ZMD.address] == [300, 4800]


def test_meter_resets_mid_session() -> None:
    client = readout(faulty(ZMD, reset_after_bytes=60))
    raw = bytes(client.raw)
    assert len(raw) == 60
    assert client.meters[0].state is MeterState.IDLE
    client.set_line(300)
    client.decoder.reset()
    client.send(Request(address=ZMD.address).to_bytes(), at=client.now + 1)
    # The reset budget is per session: the next sign-on gets its ident again.
    assert client.expect().frame.message == ZMD.identification


def test_nak_replies() -> None:
    client, _ = programming(faulty(LZQJ, nak_rate=1.0), 4800)
    assert ask(client, Command.read("1", "1.8.0(1)")) == Nak()


def test_error_replies_to_r1() -> None:
    client, _ = programming(faulty(LZQJ, r1_error="ER03"), 4800)
    reply = ask(client, Command.read("1", "1.8.0(1)"))
    assert isinstance(reply, DataMessage)
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ER03")
    # R5 still works: the fault is R1's.
    reply = ask(client, Command.read("5", "1.8.0()"))
    assert isinstance(reply, DataMessage)
    assert reply.data.startswith("1.8.0(")
