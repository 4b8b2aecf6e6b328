"""The block check character and the P1 CRC16 against their definitions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import bcc, crc16


def xor_of_bytes(data: bytes) -> int:
    out = 0
    for byte in data:
        out ^= byte
    return out & 0x7F


@given(st.binary(max_size=5000))
def test_bcc_is_the_seven_bit_xor_of_every_byte(data: bytes) -> None:
    assert bcc(data) == xor_of_bytes(data)


def test_bcc_edge_cases() -> None:
    assert bcc(b"") == 0
    assert bcc(b"\x03") == 0x03
    assert bcc(b"\x80\x01") == 0x01  # bit 7 (parity read at 8N1) is masked off
    assert bcc(bytes(range(256)) * 3) == xor_of_bytes(bytes(range(256)) * 3)


def test_crc16_arc_check_value() -> None:
    # CRC-16/ARC's published check value over "123456789".
    assert crc16(b"123456789") == 0xBB3D
