"""Bytes of the line as text for people: logs, traces, the demo and the simulator.

ASCII stays as it is, the standard's control characters are written by their names
(``<STX>``, ``<CR>``), any other byte as two hex digits (``<8F>``), so a frame reads
as the standard prints it and a stray byte is still visible.
"""

from __future__ import annotations

from typing import Final

__all__ = ["printable"]

_NAMES: Final = {
    0x00: "<NUL>",
    0x01: "<SOH>",
    0x02: "<STX>",
    0x03: "<ETX>",
    0x04: "<EOT>",
    0x06: "<ACK>",
    0x0A: "<LF>",
    0x0D: "<CR>",
    0x15: "<NAK>",
}
# Every byte's text, computed once: traces render whole readouts.
_TEXT: Final = tuple(
    _NAMES.get(b, chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>") for b in range(256)
)


def printable(data: bytes) -> str:
    """``data`` for a log line: ASCII as is, control characters as ``<STX>``, others as hex."""
    return "".join(_TEXT[b] for b in data)
