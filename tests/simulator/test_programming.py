"""Programming mode: P0/P1/P2, R1, R5/R6 with partial blocks, W1, B0 (clause 6.3.7-12)."""

from __future__ import annotations

import dataclasses

import pytest

from poller.protocol import (
    BREAK,
    Ack,
    Check,
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    Nak,
    OptionSelect,
    Request,
)
from poller.simulator import LineSettings, MeterSpec, MeterState, PasswordSpec, get_profile

from .helpers import ScriptedClient, chars

LZQJ = get_profile("emh-lzqj")  # 4800 Bd, blocks of 48 lines, P0 "()"
METCOM = get_profile("metcom")
A1140 = get_profile("elster-a1140")


def programming(spec: MeterSpec, baud: int) -> tuple[ScriptedClient, Command]:
    client = ScriptedClient.on(spec)
    client.send(Request(address=spec.address).to_bytes())
    ident_end = client.expect().time
    end = client.send(OptionSelect.programming(spec.baud_char).to_bytes(), at=ident_end + 0.3)
    client.set_line(baud, at=end + 0.05)
    p0 = client.expect()
    assert isinstance(p0.frame.message, Command)
    assert p0.frame.check is Check.OK
    return client, p0.frame.message


def ask(client: ScriptedClient, message: object) -> object:
    client.send(message.to_bytes(), at=client.now + 0.05)  # type: ignore[attr-defined]
    return client.expect().frame.message


def test_p0_carries_the_operand() -> None:
    _, p0 = programming(LZQJ, 4800)
    assert (p0.kind, p0.code, p0.data) == (CommandKind.PASSWORD, "0", "()")
    _, p0 = programming(METCOM, 9600)
    assert p0.data == "(00000072)"


def test_p0_comes_tr_after_the_option_select_at_the_new_rate() -> None:
    client = ScriptedClient.on(LZQJ)
    client.send(Request(address=LZQJ.address).to_bytes())
    ident_end = client.expect().time
    end = client.send(OptionSelect.programming("4").to_bytes(), at=ident_end + 0.3)
    client.set_line(4800, at=end + 0.05)
    got = client.expect()
    assert got.time == pytest.approx(end + 0.2 + chars(len(got.frame.raw), 4800))


def test_password_then_r1() -> None:
    client, _ = programming(LZQJ, 4800)
    assert ask(client, Command.password("1", "00000000")) == Ack()
    reply = ask(client, Command.read("1", "1.8.0(1)"))
    assert isinstance(reply, DataMessage)
    assert reply.data.startswith("1.8.0(")
    assert reply.data.endswith("*kWh)\r\n")


def test_r1_reads_without_password_and_unknown_address_is_an_error() -> None:
    client, _ = programming(METCOM, 9600)
    reply = ask(client, Command.read("1", "1.8.0()"))  # found without the 1-0: prefix
    assert isinstance(reply, DataMessage)
    assert reply.data.startswith("1-0:1.8.0(")
    reply = ask(client, Command.read("1", "99.99.9(1)"))
    assert isinstance(reply, DataMessage)
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ERROR")


def test_wrong_password_nak_then_lockout() -> None:
    client, _ = programming(LZQJ, 4800)
    assert ask(client, Command.password("1", "11111111")) == Nak()
    assert ask(client, Command.password("1", "22222222")) == Nak()
    assert ask(client, Command.password("1", "33333333")) == BREAK
    client.wait_until(client.now + 0.1)
    assert client.meters[0].state is MeterState.IDLE
    # Even the right password is refused while the meter is locked.
    client.set_line(300, at=client.now + 1.0)
    client.send(Request(address=LZQJ.address).to_bytes())
    ident_end = client.expect().time
    client.send(OptionSelect.programming("4").to_bytes(), at=ident_end + 0.3)
    client.set_line(4800, at=client.now + 0.05)
    client.expect()
    reply = ask(client, Command.password("1", "00000000"))
    assert isinstance(reply, DataMessage)
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ER11")


def test_wrong_password_error_reply() -> None:
    spec = dataclasses.replace(LZQJ, password=PasswordSpec(wrong_reply="error"))
    client, _ = programming(spec, 4800)
    reply = ask(client, Command.password("1", "nope"))
    assert isinstance(reply, DataMessage)
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ER10")


def test_elster_a1140_p2() -> None:
    client, p0 = programming(A1140, 9600)
    assert p0.data == "(7E3A19C4D2086B5F)"
    assert ask(client, Command.password("1", "ABCDEFGH")) == Nak()
    key = bytes.fromhex("7E3A19C4D2086B5F")
    x = [k ^ p for k, p in zip(key, b"ABCDEFGH", strict=True)]
    out = [(x[0] + x[7]) % 256]
    for value in x[1:]:
        out.append((value + out[-1]) % 256)
    assert ask(client, Command.password("2", bytes(out).hex().upper())) == Ack()


def test_write_needs_the_password() -> None:
    client, _ = programming(LZQJ, 4800)
    reply = ask(client, Command.write("1", "0.0.0(12345678)"))
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ER02")  # type: ignore[arg-type]
    assert ask(client, Command.password("1", "00000000")) == Ack()
    assert ask(client, Command.write("1", "0.0.0(12345678)")) == Ack()
    reply = ask(client, Command.read("1", "0.0.0(1)"))
    assert reply == DataMessage(data="0.0.0(12345678)\r\n")


def test_bad_bcc_gets_nak() -> None:
    client, _ = programming(LZQJ, 4800)
    frame = bytearray(Command.read("1", "1.8.0(1)").to_bytes())
    frame[-1] ^= 0x01
    client.send(bytes(frame), at=client.now + 0.05)
    assert client.expect().frame.message == Nak()


def _block_lines(message: object) -> list[str]:
    assert isinstance(message, DataMessage)
    return message.data.splitlines()


def test_r5_load_profile_in_partial_blocks() -> None:
    client, _ = programming(LZQJ, 4800)
    first = ask(client, Command.read("5", "P.01(02603010000;02603020000)"))
    assert isinstance(first, DataMessage)
    assert first.end is End.EOT
    lines = _block_lines(first)
    assert len(lines) == 48
    assert lines[0] == "P.01(0260301000000)(00)(15)(4)(1.5)(kW)(2.5)(kW)(5.5)(kvar)(8.5)(kvar)"
    # NAK repeats the block, ACK asks for the next.
    assert ask(client, Nak()) == first
    second = ask(client, Ack())
    assert isinstance(second, DataMessage)
    assert second.end is End.EOT
    third = ask(client, Ack())
    assert isinstance(third, DataMessage)
    assert third.end is End.ETX
    records = lines[1:] + _block_lines(second) + _block_lines(third)
    assert len(records) == 97  # 00:00 on the 1st to 00:00 on the 2nd, both included
    assert all(r.count("(") == 4 for r in records)
    client.send(BREAK.to_bytes(), at=client.now + 0.05)
    client.wait_until(client.now + 0.01)
    assert client.meters[0].state is MeterState.IDLE
    assert client.meters[0].line == LineSettings(300)


def test_r6_always_uses_partial_blocks_and_a_new_command_abandons_them() -> None:
    client, _ = programming(METCOM, 9600)
    first = ask(client, Command.read("6", "P.01(02603020000;)"))
    assert isinstance(first, DataMessage)
    assert first.end is End.EOT
    assert len(_block_lines(first)) == 16
    reply = ask(client, Command.read("1", "1.8.0()"))
    assert isinstance(reply, DataMessage)
    assert reply.end is End.ETX


def test_r5_logbook_and_no_data() -> None:
    client, _ = programming(METCOM, 9600)
    reply = ask(client, Command.read("5", "P.98(;)"))
    lines = _block_lines(reply)
    assert lines
    assert all(line.startswith("P.98(0") for line in lines)
    assert any("(00000010)" in line for line in lines)  # the 1st of March
    reply = ask(client, Command.read("5", "P.01(02701010000;)"))
    assert ErrorMessage.from_data(reply) == ErrorMessage(text="ERROR")  # type: ignore[arg-type]


def test_b0_ends_the_session_at_once() -> None:
    client, _ = programming(LZQJ, 4800)
    client.send(BREAK.to_bytes(), at=client.now + 0.05)
    assert client.silence(1.0) == b""
    assert client.meters[0].state is MeterState.IDLE
    client.set_line(300)
    client.send(Request(address=LZQJ.address).to_bytes())
    assert client.expect().frame.message == LZQJ.identification
