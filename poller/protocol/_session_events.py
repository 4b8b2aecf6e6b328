"""The states of a client session, its events, and how a decoded frame becomes one.

Pure helpers for ``_session.py``: nothing here holds session state. Keeping the
vocabulary apart keeps the state machine's module to its table and handlers.
"""

from __future__ import annotations

import enum
from typing import Final, TypeVar

from ._datasets import DataSet, parse_data_block
from ._errors import ChecksumError, FramingError, ProtocolError
from ._frames import Check, Frame
from ._messages import (
    Ack,
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    Identification,
    Nak,
    UnframedData,
)

__all__ = [
    "TERMINAL",
    "Event",
    "State",
    "bracket_content",
    "checksum_error",
    "classify",
    "expect",
    "parse_datasets",
    "strip_readout_end",
]


class State(enum.Enum):
    """Where a session stands; DONE and ERROR are terminal."""

    IDLE = enum.auto()
    WAKING = enum.auto()
    AWAIT_IDENT = enum.auto()
    AWAIT_READOUT = enum.auto()
    AWAIT_OPERAND = enum.auto()
    AWAIT_PASSWORD_ACK = enum.auto()
    AWAIT_REPLY = enum.auto()
    GUARD = enum.auto()
    LISTENING = enum.auto()
    AWAIT_PUSH_DATA = enum.auto()
    DONE = enum.auto()
    ERROR = enum.auto()


TERMINAL: Final = frozenset({State.DONE, State.ERROR})


class Event(enum.Enum):
    """What happened: a classified frame, the clock, or the engine."""

    START = enum.auto()
    IDENT = enum.auto()
    ACK = enum.auto()
    NAK = enum.auto()
    DATA = enum.auto()
    """A data message ending in ETX with a good BCC."""
    PARTIAL = enum.auto()
    """A data message ending in EOT (more blocks follow on ACK)."""
    ERROR_REPLY = enum.auto()
    """A data message holding only ``(ER...)``."""
    BAD_BLOCK = enum.auto()
    """Any block whose BCC/CRC failed or that was cut before it."""
    UNFRAMED = enum.auto()
    OPERAND = enum.auto()
    """The meter's ``P0`` command."""
    BREAK = enum.auto()
    """The meter's ``B0``: it left programming mode."""
    TIMEOUT = enum.auto()
    ABORT = enum.auto()


def classify(frame: Frame) -> Event | None:
    """The event a frame is; None for frames a client never acts on (echoes)."""
    message = frame.message
    if frame.check in (Check.BAD, Check.MISSING):
        return Event.BAD_BLOCK
    if isinstance(message, Identification):
        return Event.IDENT
    if isinstance(message, Ack):
        return Event.ACK
    if isinstance(message, Nak):
        return Event.NAK
    if isinstance(message, UnframedData):
        return Event.UNFRAMED
    if isinstance(message, DataMessage):
        if ErrorMessage.from_data(message) is not None:
            return Event.ERROR_REPLY
        return Event.PARTIAL if message.end is End.EOT else Event.DATA
    if isinstance(message, Command):
        if message.kind is CommandKind.PASSWORD and message.code == "0":
            return Event.OPERAND
        if message.kind is CommandKind.BREAK:
            return Event.BREAK
    return None


def parse_datasets(text: str) -> tuple[DataSet, ...]:
    """The data sets of a block; the parser reports bad text instead of raising."""
    return tuple(parse_data_block(text))


def strip_readout_end(text: str) -> str:
    """A readout block without its closing ``!`` line."""
    for tail in ("!\r\n", "!\n", "!"):
        if text.endswith(tail):
            return text[: -len(tail)]
    return text


def bracket_content(data: str | None) -> str:
    """``(1234567)`` -> ``1234567``: the operand of a ``P0`` message."""
    text = (data or "").strip("\r\n")
    if text.startswith("(") and text.endswith(")"):
        return text[1:-1]
    return text


_M = TypeVar("_M")


def expect(frame: Frame | None, kind: type[_M]) -> _M:
    """The frame's message, which the table guarantees is a ``kind``."""
    assert frame is not None
    message = frame.message
    assert isinstance(message, kind)
    return message


def checksum_error(frame: Frame) -> ProtocolError:
    if frame.check is Check.BAD and frame.computed is not None:
        kind = "CRC16" if isinstance(frame.message, UnframedData) else "BCC"
        return ChecksumError(expected=frame.computed, received=frame.received, kind=kind)
    if isinstance(frame.message, UnframedData):
        return FramingError("block without its start (STX lost), not checkable", frame.raw)
    return FramingError("block cut short before its end or checksum", frame.raw)
