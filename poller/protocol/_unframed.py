"""Blocks that come without STX after an identification: mode D, DSMR/P1, STX-less meters.

Theory of operation
-------------------
After an identification a client also accepts a data block that does not start with
STX: a mode D push, a DSMR/P1 telegram (``!`` then its CRC16 in hex), a mode A or C
meter that skips STX, or a framed readout whose STX (and first characters) were lost
at the baud switch. Such a block ends at ``!`` and its line end; a new frame's
first byte (``/``, SOH..EOT) cuts it short.

``scan_unframed`` looks at a buffer that starts with the block's first byte (a
printable character, or the blank lines a P1 telegram starts with) and returns one of:

* a ``Frame`` of ``UnframedData`` whose ``raw`` is the buffer's first ``len(raw)``
  bytes (the caller consumes them and hunts again);
* ``Skip(count, hunt)``: the first ``count`` bytes are junk (line ends before a framed
  message, noise before a frame); with ``hunt`` the block is given up and the caller
  stops expecting one;
* ``NEED_DATA``, or ``NEED_TAIL`` when the block is whole up to its line end and only
  the next byte can tell a whole block (anything but ETX) from a framed one that lost
  its STX (ETX, then its BCC).

It is pure: the buffer is only read, so the decoder stays the one owner of its bytes
and its counters. Like the decoder, every decision waits for the bytes it depends on,
so the result never depends on how the stream was split. A P1 telegram's CRC covers
the identification line too, so the caller passes the raw identification it decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ._checksums import crc16
from ._constants import ETX, LF
from ._frames import NEED_DATA, NEED_TAIL, Check, Frame, NeedData
from ._messages import UnframedData

__all__ = ["BLANK", "Skip", "scan_unframed"]

BLANK: Final = frozenset(b"\r\n\x00\x7f ")
"""Bytes that may open an unframed block (blank lines of mode D and P1) or be line noise."""

_SLASH: Final = 0x2F
_BANG: Final = 0x21
_CR: Final = 0x0D
_BLANK_RUN: Final = re.compile(rb"[\r\n\x00\x7f ]*")
_STOP: Final = re.compile(rb"[!/\x01-\x04]")  # the end, or a new frame's first byte
_HEX_DIGITS: Final = frozenset(b"0123456789ABCDEFabcdef")
_MAX_CRC_DIGITS: Final = 4


@dataclass(frozen=True, slots=True)
class Skip:
    """Drop the first ``count`` bytes as junk; with ``hunt``, give the block up."""

    count: int
    hunt: bool = False


def scan_unframed(
    buf: bytes | bytearray, *, ident_raw: bytes, final: bool, max_frame: int
) -> Frame | NeedData | Skip:
    """The block at ``buf[0]`` (blank or printable), or what to do instead; see above.

    ``buf`` holds 7-bit bytes, as the decoder's buffer does (it masks what it receives).

    ``final``: no more bytes will come, so whatever is there is taken as it is.
    """
    if buf[0] in BLANK:
        return _blanks(buf, ident_raw=ident_raw, final=final, max_frame=max_frame)
    return _block(buf, ident_raw=ident_raw, final=final, max_frame=max_frame)


def _blanks(
    buf: bytes | bytearray, *, ident_raw: bytes, final: bool, max_frame: int
) -> Frame | NeedData | Skip:
    # Blanks may start a P1 telegram (they belong to its CRC): keep them until we know.
    match = _BLANK_RUN.match(buf, 0, max_frame)
    i = match.end() if match is not None else 0
    if i >= max_frame:
        # No block starts with a run of blanks as long as a whole frame: give it up as
        # _block does, so that line noise cannot grow the buffer.
        return Skip(1, hunt=True)
    if i == len(buf):
        return Skip(i) if final else NEED_DATA
    nxt = buf[i]
    if 0x20 < nxt < 0x7F and nxt != _SLASH:
        return _block(buf, ident_raw=ident_raw, final=final, max_frame=max_frame)
    # A framed message follows: the blanks were only line ends.
    return Skip(i)


def _block(
    buf: bytes | bytearray, *, ident_raw: bytes, final: bool, max_frame: int
) -> Frame | NeedData | Skip:
    stop = _STOP.search(buf, 0, max_frame)
    if stop is not None:
        i = stop.start()
        if buf[i] == _BANG:
            return _end(buf, i, ident_raw=ident_raw, final=final)
        if b")" not in buf[:i]:
            # Not a block, only noise before a frame: e.g. the last character of our
            # own option select, echoed and garbled by the baud switch.
            return Skip(i)
        # A new frame begins: the block was cut short.
        return _emit(buf, i, None, i, Check.MISSING)
    if len(buf) >= max_frame:
        return Skip(1, hunt=True)
    if final:
        return _emit(buf, len(buf), None, len(buf), Check.MISSING)
    return NEED_DATA


def _end(buf: bytes | bytearray, bang: int, *, ident_raw: bytes, final: bool) -> Frame | NeedData:
    """The block ends at ``buf[bang]`` (``!``): its CRC, its line end, or an ETX."""
    j = bang + 1
    while j < len(buf) and j - bang <= _MAX_CRC_DIGITS and buf[j] in _HEX_DIGITS:
        j += 1
    crc_text = bytes(buf[bang + 1 : j])
    if j < len(buf):
        if buf[j] == _CR:
            if j + 1 >= len(buf) and not final:
                return NEED_DATA
            size = j + 2 if j + 1 < len(buf) and buf[j + 1] == LF else j + 1
        elif buf[j] == LF:
            size = j + 1
        else:
            # "!" not followed by a line end: not a CRC, the block ends at "!".
            crc_text = b""
            size = bang + 1
    else:
        if not final:
            return NEED_DATA
        size = j
    if len(crc_text) > _MAX_CRC_DIGITS:
        crc_text, size = b"", bang + 1
    if not crc_text:
        # "! CR LF ETX": a framed readout whose STX was lost (its first bytes came
        # before the baud switch and were heard as junk). Taken as it is, it would be
        # a readout with registers missing; its BCC cannot be checked. Whether an ETX
        # (and its BCC) follows is waited for, so that the frames never depend on
        # where the bytes were split.
        if size < len(buf) and buf[size] == ETX:
            if size + 2 > len(buf) and not final:
                return NEED_DATA  # its BCC is on its way
            return _emit(buf, bang, None, min(size + 2, len(buf)), Check.MISSING)
        if size == len(buf) and not final:
            return NEED_TAIL
        return _emit(buf, bang, None, size, Check.ABSENT)
    computed = crc16(ident_raw + bytes(buf[: bang + 1]))
    received = int(crc_text, 16)
    check = Check.OK if computed == received else Check.BAD
    return _emit(buf, bang, crc_text.decode("ascii"), size, check, computed, received)


def _emit(
    buf: bytes | bytearray,
    data_end: int,
    crc: str | None,
    size: int,
    check: Check,
    computed: int | None = None,
    received: int | None = None,
) -> Frame:
    raw = bytes(buf) if size >= len(buf) else bytes(buf[:size])
    text = raw[:data_end].decode("ascii")
    # The message type forbids "/" and "!"; neither can be in text here.
    message = UnframedData(data=text, crc=crc)
    return Frame(message=message, raw=raw, check=check, computed=computed, received=received)
