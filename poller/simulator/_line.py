"""What the wire does to characters: line settings, transmissions and mishearing.

A UART only understands characters sent at its own rate and framing. Rather than
simulate bit cells, the simulator maps a whole transmission to what the receiver
makes of it, deterministically:

* same rate, same framing: the bytes as sent;
* 7E1 sender, 8N1 receiver: the even-parity bit lands in bit 7 (``/`` reads 0xAF),
  as in the corpus capture ``landisgyr_zmd405_7E1_read_as_8N1_fragment.bin``;
* 8N1 sender, 7E1 receiver: bit 7 is taken as the parity bit, and a character whose
  parity does not check is dropped, as a UART that discards parity errors does;
* different rates: one junk byte per character from a small set of values a UART
  typically produces then (NUL, 0x80, 0xF0 ...). None of them masks to a character
  that starts an IEC 62056-21 frame, so junk never reads as a message by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from poller.protocol import wire_time

__all__ = ["FRAMING_7E1", "FRAMING_8N1", "Framing", "LineSettings", "Transmit", "hear"]

Framing = Literal["7E1", "8N1"]
FRAMING_7E1: Final[Framing] = "7E1"
FRAMING_8N1: Final[Framing] = "8N1"

# What a receiver at the wrong rate tends to assemble; masked to 7 bits these are NUL,
# '@', '`', 'p', 'x', '~' and DEL, never '/', SOH, STX, ACK or NAK.
_JUNK: Final = bytes([0x00, 0x80, 0xC0, 0xE0, 0xF0, 0xF8, 0xFE, 0xFF])


@dataclass(frozen=True, slots=True)
class LineSettings:
    """A UART's rate and character framing."""

    baud: int = 300
    framing: Framing = FRAMING_7E1


@dataclass(frozen=True, slots=True, kw_only=True)
class Transmit:
    """Bytes a meter puts on the line, starting at ``at`` (simulated seconds)."""

    data: bytes
    at: float
    line: LineSettings

    @property
    def end(self) -> float:
        return self.at + wire_time(len(self.data), self.line.baud)


def _even_parity_bit(byte: int) -> int:
    return (byte & 0x7F).bit_count() & 1


def junk_byte(seed: int) -> int:
    """A byte a UART assembles from a character it cannot frame."""
    return _JUNK[seed % len(_JUNK)]


def hear(data: bytes, sent: LineSettings, heard: LineSettings) -> bytes:
    """The bytes a receiver at ``heard`` takes from ``data`` sent at ``sent``."""
    if sent.baud != heard.baud:
        return bytes(junk_byte(b * 7 + i) for i, b in enumerate(data))
    if sent.framing == heard.framing:
        return data
    if sent.framing == FRAMING_7E1:
        return bytes((b & 0x7F) | (_even_parity_bit(b) << 7) for b in data)
    return bytes(b & 0x7F for b in data if (b >> 7) == _even_parity_bit(b))
