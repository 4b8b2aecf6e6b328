"""Whole captures: from the frames of a byte dump to telegrams with their data sets.

A telegram here is what a reader of a capture cares about: the identification that
opened it (if the capture has one), the data block, how it was framed, and whether
its checksum verified. Mode D and P1 telegrams, STX-framed readouts, programming
replies and bare data blocks (a capture of the block alone) are all telegrams.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ._decoder import decode_frames
from ._frames import Check, Frame
from ._messages import Command, DataMessage, Identification, UnframedData

__all__ = ["Framing", "Telegram", "decode_capture", "telegrams_from_frames"]


class Framing(enum.Enum):
    """How the data block of a telegram travelled."""

    STX = "stx"
    """``STX ... ETX BCC``: a mode A/B/C readout or a programming reply."""
    UNFRAMED = "unframed"
    """No STX after the identification: mode D, P1, meters that skip STX."""
    COMMAND = "command"
    """The data of a programming command (``SOH C D STX data ETX BCC``)."""
    BARE = "bare"
    """No framing at all: the capture holds just the block."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Telegram:
    """One identification (if any) with its data block."""

    identification: Identification | None
    data: str
    framing: Framing
    check: Check
    checksum: str | None = None
    """``"BCC"`` or ``"CRC16"`` where the telegram carries one."""
    computed: int | None = None
    received: int | None = None
    command: str | None = None
    """``P0``, ``W2`` ... for the data of a programming command."""

    @property
    def checksum_ok(self) -> bool | None:
        """True or False where a checksum was checked, None where there was none."""
        if self.check is Check.OK:
            return True
        if self.check is Check.BAD:
            return False
        return None

    @property
    def block(self) -> str:
        """The data block without its closing ``!`` line."""
        text = self.data
        bang = text.rfind("!")
        return text[:bang] if bang >= 0 else text


def _telegram(frame: Frame, ident: Identification | None, data: str, framing: Framing) -> Telegram:
    checked = frame.check in (Check.OK, Check.BAD)
    checksum = None
    if checked:
        checksum = "CRC16" if framing is Framing.UNFRAMED else "BCC"
    return Telegram(
        identification=ident,
        data=data,
        framing=framing,
        check=frame.check,
        checksum=checksum,
        computed=frame.computed,
        received=frame.received,
        command=frame.message.name if isinstance(frame.message, Command) else None,
    )


def telegrams_from_frames(frames: Iterable[Frame]) -> list[Telegram]:
    """Pair each data frame with the identification before it."""
    telegrams: list[Telegram] = []
    ident: Identification | None = None
    for frame in frames:
        message = frame.message
        if isinstance(message, Identification):
            ident = message
        elif isinstance(message, DataMessage):
            telegrams.append(_telegram(frame, ident, message.data, Framing.STX))
            ident = None
        elif isinstance(message, UnframedData):
            telegrams.append(_telegram(frame, ident, message.data, Framing.UNFRAMED))
            ident = None
        elif isinstance(message, Command) and message.data:
            telegrams.append(_telegram(frame, None, message.data, Framing.COMMAND))
    return telegrams


def decode_capture(data: bytes) -> list[Telegram]:
    """Every telegram in a capture; a capture with no framing at all is one bare block.

    The bare fallback serves dumps of a data block alone (a profile reply copied from
    a log, say): the block is taken whole when it holds at least one bracket group.
    """
    telegrams = telegrams_from_frames(decode_frames(data))
    if telegrams:
        return telegrams
    text = data.translate(bytes(b & 0x7F for b in range(256))).decode("ascii")
    if "(" in text and ")" in text:
        return [Telegram(identification=None, data=text, framing=Framing.BARE, check=Check.ABSENT)]
    return []
