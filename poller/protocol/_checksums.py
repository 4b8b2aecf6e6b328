"""Block check character (clause 6.2) and the CRC16 of DSMR / Nordic HAN P1 telegrams."""

from __future__ import annotations

from ._constants import SEVEN_BIT_MASK


def bcc(data: bytes) -> int:
    """XOR of ``data`` masked to seven bits.

    ``data`` is what the standard covers: the bytes after the first SOH or STX, up to
    and including ETX or EOT. The mask makes bytes read at 8N1, whose bit 7 carries
    the parity, give the same result as a 7E1 read.
    """
    # Folding the block as one integer, halving it each step, XORs every byte in C:
    # about 9x faster than a byte loop on a 100 kB readout, no slower on a short one.
    value = int.from_bytes(data, "little")
    size = len(data)
    while size > 1:
        half = (size + 1) // 2
        value = (value & ((1 << (half * 8)) - 1)) ^ (value >> (half * 8))
        size = half
    return value & SEVEN_BIT_MASK


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
