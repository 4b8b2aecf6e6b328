"""What the frame decoder hands out: frames, their checksum outcome, and its sentinels.

The vocabulary shared by the framed decoder (``_decoder.py``), its unframed paths
(``_unframed.py``) and the session's event classifier, kept apart so that none of them
imports another's machinery to name a frame.

``next_frame`` returns a ``Frame`` or a member of ``NeedData`` (the h11 pattern: a
typed sentinel instead of ``None`` or a flag beside the result):

* ``NEED_DATA``: nothing decodable yet, feed more bytes;
* ``NEED_TAIL``: a block without STX is whole up to its line end, and only the next
  byte can say whether it is really whole (anything but ETX) or a framed block whose
  STX was lost (ETX). How long to wait for that byte is the caller's decision; with
  none, ``end_of_data`` takes the block as it is.

Both are ``NeedData`` members, so ``isinstance(result, NeedData)`` still means "no frame
now" to a caller that does not care why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ._messages import Message

__all__ = ["NEED_DATA", "NEED_TAIL", "Check", "Frame", "NeedData", "Role"]


class Role(enum.Enum):
    """Which side's messages a decoder reads."""

    CLIENT = "client"
    """Decodes what meters send (a client's receiver)."""
    METER = "meter"
    """Decodes what clients send (a meter's, or the simulator's, receiver)."""


class Check(enum.Enum):
    """Outcome of a frame's block check character or CRC16."""

    OK = "ok"
    BAD = "bad"
    ABSENT = "absent"
    """The frame carries no checksum (single characters, mode D, plain readouts)."""
    MISSING = "missing"
    """The stream ended before the frame's checksum or end arrived."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One decoded frame with the bytes it came from and its checksum outcome."""

    message: Message
    raw: bytes
    check: Check
    computed: int | None = None
    received: int | None = None


class NeedData(enum.Enum):
    """Sentinels: the decoder needs more bytes before it can return a frame."""

    DATA = "data"
    """Nothing decodable yet."""
    TAIL = "tail"
    """A block without STX waits for the one byte that says whether it is whole."""

    def __repr__(self) -> str:
        return f"NEED_{self.name}"


NEED_DATA: Final = NeedData.DATA
NEED_TAIL: Final = NeedData.TAIL
