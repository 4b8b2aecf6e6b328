"""Codecs: exact bytes from the standard and decode(encode(x)) == x for every type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    BREAK,
    Ack,
    ChecksumError,
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    FramingError,
    Identification,
    InvalidMessageError,
    Mode,
    Nak,
    OptionSelect,
    Request,
    bcc,
    normalize_address,
    push_telegram,
)

from .strategies import (
    commands,
    data_messages,
    error_messages,
    identifications,
    option_selects,
    requests,
)


@given(requests)
def test_request_round_trip(message: Request) -> None:
    assert Request.from_bytes(message.to_bytes()) == message


@given(identifications)
def test_identification_round_trip(message: Identification) -> None:
    assert Identification.from_bytes(message.to_bytes()) == message


@given(option_selects)
def test_option_select_round_trip(message: OptionSelect) -> None:
    assert OptionSelect.from_bytes(message.to_bytes()) == message


@given(data_messages)
def test_data_message_round_trip(message: DataMessage) -> None:
    assert DataMessage.from_bytes(message.to_bytes()) == message


@given(commands)
def test_command_round_trip(message: Command) -> None:
    assert Command.from_bytes(message.to_bytes()) == message


@given(error_messages)
def test_error_message_round_trip(message: ErrorMessage) -> None:
    assert ErrorMessage.from_bytes(message.to_bytes()) == message


def test_ack_nak_round_trip() -> None:
    assert Ack.from_bytes(Ack().to_bytes()) == Ack()
    assert Nak.from_bytes(Nak().to_bytes()) == Nak()
    assert Ack().to_bytes() == b"\x06"
    assert Nak().to_bytes() == b"\x15"


@given(data_messages, st.integers(min_value=1, max_value=0x7F))
def test_a_corrupted_bcc_is_a_checksum_error(message: DataMessage, flip: int) -> None:
    raw = bytearray(message.to_bytes())
    raw[-1] ^= flip
    with pytest.raises(ChecksumError) as caught:
        DataMessage.from_bytes(bytes(raw))
    assert caught.value.received == raw[-1]


# Exact bytes from PROTOCOL.md section 11 (BCCs recomputed there).
def test_break_bytes() -> None:
    assert BREAK.to_bytes() == bytes.fromhex("0142300371")
    assert BREAK.name == "B0"


def test_programming_session_frames_of_e4() -> None:
    assert Command.password("1", "00000000").to_bytes() == b"\x01P1\x02(00000000)\x03\x61"
    assert Command.read("1", "1.8.0(1)").to_bytes() == b"\x01R1\x021.8.0(1)\x03\x6b"
    p0 = Command.from_bytes(b"\x01P0\x02(1234567)\x03P")
    assert (p0.kind, p0.code, p0.data) == (CommandKind.PASSWORD, "0", "(1234567)")
    reply = DataMessage.from_bytes(b"\x023:171.0(0)\x03\x12")
    assert reply.data == "3:171.0(0)"


def test_readout_data_message_of_e2() -> None:
    raw = b"\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\x22"
    message = DataMessage.from_bytes(raw)
    assert message.is_readout
    assert message.block == "3:14(314*kWh)4:15(415*kWh)\r\n"
    assert DataMessage.readout(message.block).to_bytes() == raw


def test_r5_frame_of_the_emh_transcript() -> None:
    assert Command.read("5", "F.F()").to_bytes() == b"\x01R5\x02F.F()\x03I"


def test_bcc_masks_the_parity_bit() -> None:
    assert bcc(b"P0\x02(1234567)\x03") == ord("P")
    assert bcc(bytes(b | 0x80 for b in b"P0\x02(1234567)\x03")) == ord("P")


@pytest.mark.parametrize(
    ("line", "mode", "baud", "reaction"),
    [
        ("HAg5eHZ010C_EHZ1vA02", Mode.C, 9600, 0.020),
        ("ISk5MT174-0001", Mode.C, 9600, 0.020),
        ("LGZ4ZMF100AC.M26", Mode.C, 4800, 0.200),
        ("ACE0\\3k260V01.19", Mode.C, 300, 0.200),
        ("Els6\\2EK280", Mode.E, 19200, 0.020),
        ("LGZ52ZMD120APt.G03", Mode.C, 9600, 0.200),
        ("KAM MC", Mode.A, 300, 0.200),
        ("ABCE123", Mode.B, 9600, 0.200),
        ("MCS5\\@V0050710000051", Mode.C, 9600, 0.200),
    ],
)
def test_identification_fields(line: str, mode: Mode, baud: int, reaction: float) -> None:
    ident = Identification.from_bytes(b"/" + line.encode() + b"\r\n")
    assert ident.mode is mode
    assert ident.baud_rate == baud
    assert ident.reaction_time == reaction
    assert ident.text == line


def test_identification_escapes_and_lf_only() -> None:
    ident = Identification.from_bytes(b"/APA5\\2NORAX30\n")
    assert ident.escapes == ("2",)
    assert ident.ident == "NORAX30"
    assert ident.supports_mode_e


def test_option_select_bytes() -> None:
    assert OptionSelect.readout("5").to_bytes() == bytes.fromhex("063035300d0a")
    assert OptionSelect.programming("5").to_bytes() == bytes.fromhex("063035310d0a")
    assert OptionSelect.readout("5").baud_rate == 9600


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("10203", "010203", True), ("000", "0", True), ("0", "00000", True), ("12", "012 ", False)],
)
def test_address_matching(a: str, b: str, same: bool) -> None:
    assert (normalize_address(a) == normalize_address(b)) is same
    assert Request(address=a).matches(b) is same


def test_general_address_matches_everyone() -> None:
    assert Request().matches("12345678")
    assert Request().to_bytes() == b"/?!\r\n"


@pytest.mark.parametrize("address", ["x" * 33, "12-34", "ä", "1!"])
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidMessageError):
        Request(address=address)


def test_error_message_is_told_from_data() -> None:
    assert ErrorMessage.from_data(DataMessage(data="(ER03)")) == ErrorMessage(text="ER03")
    assert ErrorMessage.from_data(DataMessage(data="(0001)")) is None
    assert ErrorMessage.from_data(DataMessage(data="1.8.0(ER)")) is None


def test_password_commands_hide_their_data_in_repr() -> None:
    assert "S3cr3t" not in repr(Command.password("1", "S3cr3t"))
    assert "S3cr3t" not in str(Command.password("2", "S3cr3t"))


def test_eot_partial_block() -> None:
    message = DataMessage(data="P.01(...)", end=End.EOT)
    assert message.is_partial
    assert message.to_bytes()[-2] == 0x04


def test_push_telegram_crc_matches_p1_convention() -> None:
    ident = Identification(manufacturer="ISK", baud_char="5", ident="TEST")
    raw = push_telegram(ident, "\r\n1-0:1.8.0(000001.000*kWh)\r\n", with_crc=True)
    assert raw.startswith(b"/ISK5TEST\r\n\r\n")
    assert raw.endswith(b"\r\n")
    assert len(raw.split(b"!")[1].strip()) == 4


@pytest.mark.parametrize(
    "raw",
    [b"", b"/?12", b"\x01", b"\x02abc", b"\x02abc\x05\x00", b"\x01Z0\x03\x19", b"\x06123"],
)
def test_strict_decoders_raise_only_protocol_errors(raw: bytes) -> None:
    for decoder in (Request, Identification, OptionSelect, DataMessage, Command, ErrorMessage):
        with pytest.raises((FramingError, ChecksumError)):
            decoder.from_bytes(raw)


def test_fast_wake_up_sign_off_b1() -> None:
    b1 = Command(kind=CommandKind.BREAK, code="1")
    assert b1.to_bytes() == bytes.fromhex("0142310370")
    assert Command.from_bytes(b1.to_bytes()).name == "B1"
