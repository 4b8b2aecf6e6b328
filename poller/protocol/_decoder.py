"""Incremental, tolerant decoding of an IEC 62056-21 byte stream into frames.

Theory of operation
-------------------
Bytes arrive in any chunks; ``receive_data`` only buffers them and ``next_frame``
returns one complete frame or ``NEED_DATA``. What is decoded depends only on the byte
sequence, never on how it was split: every decision that could change with more data
waits for that data (a frame is emitted once its last byte is in), so the frames of
a capture are the same for every chunking.

Between frames the decoder *hunts*: it drops every byte that cannot start a frame
(line noise, 0x7F, NUL, the tail of an echoed option select) and counts them. A frame
starts with ``/`` (request or identification), STX (data message), SOH (command),
ACK or NAK. After an identification, a client also accepts a data block that comes
without STX (modes A and D, P1 telegrams, meters that skip STX), ending at ``!``:
``_unframed.scan_unframed`` decides those, and may answer ``NEED_TAIL`` (see
``_frames``) when only the byte after the block's line end can say whether it is whole.

Every byte is masked to seven bits first: on a port opened at 8N1, a 7E1 meter's
parity lands in bit 7 (``/`` reads as 0xAF), and the mask recovers the text. Checksums
are verified but never fatal here: a frame whose BCC or CRC does not verify is
returned with ``Check.BAD`` so that the session can ask for a repeat and a capture
tool can still show it.

Memory is bounded: a frame that grows past ``max_frame`` without ending is dropped
(its first byte discarded, the hunt resumes right after it), and junk never stays in
the buffer.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from typing import Final

from ._checksums import bcc
from ._constants import ACK, EOT, ETX, LF, NAK, SOH, STX
from ._errors import FramingError, InvalidMessageError
from ._frames import NEED_DATA, NEED_TAIL, Check, Frame, NeedData, Role
from ._messages import (
    Ack,
    Command,
    CommandKind,
    DataMessage,
    End,
    Identification,
    Message,
    Nak,
    OptionSelect,
    Request,
)
from ._unframed import BLANK, Skip, scan_unframed

__all__ = ["FrameDecoder", "decode_frames"]

_MASK_TABLE: Final = bytes(b & 0x7F for b in range(256))
_SLASH: Final = 0x2F
_QUESTION: Final = 0x3F
_BANG: Final = 0x21
# Longest identification line we wait for: 3 + 1 + escapes + ident, with room for
# the long idents real meters send.
_MAX_IDENT_LINE: Final = 128
_MAX_REQUEST: Final = 2 + 32 + 3
_OPTION_SELECT_TAIL: Final = re.compile(rb"[0-9A-Za-z]{3}\r\n")
_OPTION_SELECT_PREFIX: Final = re.compile(rb"[0-9A-Za-z]{0,3}\r?\Z")
_COMMAND_KINDS: Final = frozenset(kind.value.encode("ascii")[0] for kind in CommandKind)
_ALNUM: Final = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_FRAME_CHAR: Final = re.compile(rb"[\x01-\x04/]")  # SOH, STX, ETX, EOT, "/"
_ENDS: Final = {ETX: End.ETX, EOT: End.EOT}


class _State(enum.Enum):
    HUNTING = enum.auto()
    AFTER_IDENT = enum.auto()


class FrameDecoder:
    """Turns a stream of bytes into ``Frame`` objects; see the module docstring."""

    def __init__(self, *, role: Role = Role.CLIENT, max_frame: int = 256 * 1024) -> None:
        if max_frame < _MAX_IDENT_LINE:
            raise ValueError(f"max_frame must be at least {_MAX_IDENT_LINE}")
        self.role = role
        self.max_frame = max_frame
        self.discarded = 0
        """Bytes dropped while hunting for a frame, over the decoder's life."""
        self.expect_option_select = True
        """Meter role: whether a lone ACK may still grow into an option select."""
        self._buffer = bytearray()
        self._state = _State.HUNTING
        self._ident_raw = b""
        self._after_ack = False
        self._waiting: NeedData = NEED_DATA

    # -- public API -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Buffer ``data``; decode it with ``next_frame``."""
        # Masking copies the bytes once more; 7-bit data (a 7E1 port) needs none.
        self._buffer += data if data.isascii() else data.translate(_MASK_TABLE)

    def next_frame(self) -> Frame | NeedData:
        """The next complete frame, ``NEED_DATA``, or ``NEED_TAIL`` (see ``_frames``)."""
        return self._next(final=False)

    def end_of_data(self) -> list[Frame]:
        """Decode what is left once no more bytes will come (end of a capture, a timeout).

        A frame cut before its checksum is returned with ``Check.MISSING``; anything
        else left over is discarded. The decoder is then empty and hunting.
        """
        frames = list(self._frames(final=True))
        self.discarded += len(self._buffer)
        self.reset()
        return frames

    def frames(self) -> Iterator[Frame]:
        """Every frame that is complete now."""
        return self._frames(final=False)

    def reset(self) -> None:
        """Forget everything buffered, e.g. before a new sign-on."""
        self._buffer.clear()
        self._state = _State.HUNTING
        self._ident_raw = b""
        self._after_ack = False
        self._waiting = NEED_DATA

    @property
    def buffered(self) -> int:
        """Bytes held for a frame that is not complete yet."""
        return len(self._buffer)

    @property
    def waiting(self) -> NeedData:
        """Why the last ``next_frame`` (or ``frames``) stopped: ``NEED_DATA`` or ``NEED_TAIL``.

        For callers that iterate ``frames()`` and so never see the sentinel itself.
        """
        return self._waiting

    @property
    def awaiting_tail(self) -> bool:
        """``waiting is NEED_TAIL``: a block without STX waits for the byte after it."""
        return self._waiting is NEED_TAIL

    # -- decoding ---------------------------------------------------------------------

    def _frames(self, *, final: bool) -> Iterator[Frame]:
        while True:
            frame = self._next(final=final)
            if isinstance(frame, NeedData):
                return
            yield frame

    def _next(self, *, final: bool) -> Frame | NeedData:
        self._waiting = NEED_DATA
        buf = self._buffer
        while buf:
            if self._after_ack:
                verdict = self._drop_echoed_option_select(final=final)
                if verdict is NEED_DATA:
                    return NEED_DATA
            if not buf:
                break
            first = buf[0]
            if self._state is _State.AFTER_IDENT and self.role is Role.CLIENT:
                # Blank lines (mode D, P1, LF LF after the ident) or text: a block
                # without STX may start here.
                if first in BLANK or (0x20 < first < 0x7F and first != _SLASH):
                    found = self._unframed(final=final)
                    if found is None:
                        continue
                    return found
                if first not in (STX, SOH, ACK, NAK, _SLASH):
                    self._discard(1)
                    continue
            result = self._frame_at_start(first, final=final)
            if result is not None:
                return result
        return NEED_DATA

    def _frame_at_start(self, first: int, *, final: bool) -> Frame | NeedData | None:
        """Decode a frame starting at the buffer's first byte; None means 'skipped'."""
        if first == _SLASH:
            return self._slash(final=final)
        if first == STX:
            return self._block(final=final, command=False)
        if first == SOH:
            return self._block(final=final, command=True)
        if first == ACK:
            return self._ack(final=final)
        if first == NAK:
            self._consume(1)
            return Frame(message=Nak(), raw=bytes([NAK]), check=Check.ABSENT)
        self._discard(1)
        return None

    def _consume(self, n: int) -> bytes:
        buf = self._buffer
        if n >= len(buf):
            # The last frame of a capture: one copy, not a slice and a copy of it.
            raw = bytes(buf)
            buf.clear()
            return raw
        raw = bytes(buf[:n])
        del buf[:n]
        return raw

    def _discard(self, n: int) -> None:
        del self._buffer[:n]
        self.discarded += n

    def _unframed(self, *, final: bool) -> Frame | NeedData | None:
        """Apply ``scan_unframed``'s verdict on the buffer; None means 'skipped'."""
        found = scan_unframed(
            self._buffer, ident_raw=self._ident_raw, final=final, max_frame=self.max_frame
        )
        if isinstance(found, Frame):
            del self._buffer[: len(found.raw)]
            self._state = _State.HUNTING
            return found
        if isinstance(found, Skip):
            self._discard(found.count)
            if found.hunt:
                self._state = _State.HUNTING
            return None
        self._waiting = found
        return found

    def _drop_echoed_option_select(self, *, final: bool) -> NeedData | None:
        """After an ACK in client role, drop the ``V Z Y CR LF`` of our own echo."""
        buf = self._buffer
        head = bytes(buf[:5])
        if _OPTION_SELECT_TAIL.match(head):
            self._discard(5)
            self._after_ack = False
            return None
        if not final and len(head) < 5 and _OPTION_SELECT_PREFIX.match(head):
            return NEED_DATA
        self._after_ack = False
        return None

    def _ack(self, *, final: bool) -> Frame | NeedData:
        buf = self._buffer
        if self.role is Role.METER and self.expect_option_select:
            tail = bytes(buf[1:6])
            if _OPTION_SELECT_TAIL.match(tail):
                raw = self._consume(6)
                try:
                    message: Message = OptionSelect.from_bytes(raw)
                except FramingError:
                    message = Ack()
                return Frame(message=message, raw=raw, check=Check.ABSENT)
            if not final and len(tail) < 5 and _OPTION_SELECT_PREFIX.match(tail):
                return NEED_DATA
        raw = self._consume(1)
        if self.role is Role.CLIENT:
            self._after_ack = True
        return Frame(message=Ack(), raw=raw, check=Check.ABSENT)

    def _slash(self, *, final: bool) -> Frame | NeedData | None:
        buf = self._buffer
        if len(buf) < 2:
            if final:
                self._discard(1)
                return None
            return NEED_DATA
        if buf[1] == _QUESTION:
            return self._request(final=final)
        end = buf.find(LF, 1, _MAX_IDENT_LINE + 1)
        if end < 0:
            if not final and len(buf) <= _MAX_IDENT_LINE and not _has_frame_char(buf, 1):
                return NEED_DATA
            self._discard(1)
            return None
        line = bytes(buf[1:end]).rstrip(b"\r")
        if _has_frame_char(line, 0):
            self._discard(1)
            return None
        try:
            ident = Identification.parse_line(line.decode("ascii"))
        except FramingError:
            self._discard(1)
            return None
        raw = self._consume(end + 1)
        if self.role is Role.CLIENT:
            self._state = _State.AFTER_IDENT
            self._ident_raw = raw
        return Frame(message=ident, raw=raw, check=Check.ABSENT)

    def _request(self, *, final: bool) -> Frame | NeedData | None:
        buf = self._buffer
        bang = buf.find(_BANG, 2, _MAX_REQUEST)
        if bang < 0:
            if not final and len(buf) < _MAX_REQUEST and not _has_frame_char(buf, 2):
                return NEED_DATA
            self._discard(1)
            return None
        # The standard's CR LF; tolerate a bare LF, and a request cut after "!".
        tail = bytes(buf[bang + 1 : bang + 3])
        if tail == b"\r\n":
            size = bang + 3
        elif tail[:1] == b"\n":
            size = bang + 2
        elif not final and tail in (b"", b"\r"):
            return NEED_DATA
        else:
            size = bang + 1
        try:
            message = Request(address=bytes(buf[2:bang]).decode("ascii"))
        except InvalidMessageError:
            self._discard(1)
            return None
        raw = self._consume(size)
        self._state = _State.HUNTING
        return Frame(message=message, raw=raw, check=Check.ABSENT)

    def _block(self, *, final: bool, command: bool) -> Frame | NeedData | None:
        buf = self._buffer
        if command and not _could_be_command(buf):
            # Decided by the first four bytes alone, before scanning for the end: an
            # SOH-rich stream would otherwise cost a scan and a copy per SOH.
            self._discard(1)
            return None
        end = _find_end(buf, 1, self.max_frame)
        if end < 0:
            if len(buf) >= self.max_frame:
                self._discard(1)
                return None
            if not final:
                return NEED_DATA
            return self._cut_block(command=command)
        if end + 1 >= len(buf):
            if not final:
                return NEED_DATA
            raw = self._consume(end + 1)
            return self._make_block(raw, raw[1:-1], _ENDS[raw[-1]], Check.MISSING, None, command)
        raw = self._consume(end + 2)
        computed = bcc(raw[1:-1])
        check = Check.OK if computed == raw[-1] else Check.BAD
        return self._make_block(raw, raw[1:-2], _ENDS[raw[-2]], check, computed, command)

    def _cut_block(self, *, command: bool) -> Frame | None:
        """A block the stream ended in before its ETX (e.g. a capture stopped at ``!``)."""
        raw = self._consume(len(self._buffer))
        return self._make_block(raw, raw[1:], End.ETX, Check.MISSING, None, command)

    def _make_block(
        self,
        raw: bytes,
        body: bytes,
        end: End,
        check: Check,
        computed: int | None,
        command: bool,
    ) -> Frame | None:
        received = raw[-1] if check in (Check.OK, Check.BAD) else None
        text = body.decode("ascii")
        message: Message
        if command:
            parsed = _command(text, end)
            if parsed is None:
                # Not a command after all: drop its SOH and hunt inside it.
                self._buffer[:0] = raw[1:]
                self.discarded += 1
                return None
            message = parsed
        else:
            message = DataMessage(data=text, end=end)
            self._state = _State.HUNTING
        if isinstance(message, Command):
            self._state = _State.HUNTING
        return Frame(message=message, raw=raw, check=check, computed=computed, received=received)


def _find_end(buf: bytearray, start: int, limit: int) -> int:
    """Index of the first ETX or EOT in ``buf[start:limit]``, or -1."""
    etx = buf.find(ETX, start, limit)
    eot = buf.find(EOT, start, limit if etx < 0 else etx)
    return eot if eot >= 0 else etx


def _could_be_command(buf: bytearray) -> bool:
    """Whether ``SOH C D (STX|ETX|EOT)`` can still begin at ``buf[0]`` (see ``_command``)."""
    return (
        (len(buf) < 2 or buf[1] in _COMMAND_KINDS)
        and (len(buf) < 3 or buf[2] in _ALNUM)
        and (len(buf) < 4 or buf[3] in (STX, ETX, EOT))
    )


def _has_frame_char(data: bytes | bytearray, start: int) -> bool:
    """Whether a byte that starts another frame sits in ``data[start:]``."""
    return _FRAME_CHAR.search(data, start) is not None


def _command(text: str, end: End) -> Command | None:
    """Build a command from its body text, or None when it is not one."""
    if len(text) < 2:
        return None
    payload: str | None = None
    if len(text) > 2:
        if text[2] != "\x02":
            return None
        payload = text[3:]
    try:
        return Command(kind=CommandKind(text[0]), code=text[1], data=payload, end=end)
    except (InvalidMessageError, ValueError):
        return None


def decode_frames(data: bytes, *, role: Role = Role.CLIENT) -> list[Frame]:
    """Every frame in a complete capture, including a block the capture cut short."""
    decoder = FrameDecoder(role=role)
    decoder.receive_data(data)
    frames = list(decoder.frames())
    frames.extend(decoder.end_of_data())
    return frames
