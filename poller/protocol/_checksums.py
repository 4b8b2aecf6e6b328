"""Block check character (clause 6.2) and the CRC16 of DSMR / Nordic HAN P1 telegrams."""

from __future__ import annotations

from functools import reduce
from operator import xor

from ._constants import SEVEN_BIT_MASK


def bcc(data: bytes) -> int:
    """XOR of ``data`` masked to seven bits.

    ``data`` is what the standard covers: the bytes after the first SOH or STX, up to
    and including ETX or EOT. The mask makes bytes read at 8N1, whose bit 7 carries
    the parity, give the same result as a 7E1 read.
    """
    return reduce(xor, data, 0) & SEVEN_BIT_MASK


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC (reflected polynomial 0xA001, initial value 0) as P1 telegrams use.

    It covers the telegram from ``/`` up to and including ``!``.
    """
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC16_TABLE[(crc ^ byte) & 0xFF]
    return crc
