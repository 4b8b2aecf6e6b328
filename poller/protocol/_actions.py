"""What a client session asks its engine to do, and what it reports at the end.

Actions are frozen, slotted, keyword-only dataclasses. Times are the caller's
monotonic seconds. Nothing here holds a password in a form ``repr`` or ``str`` would
show: a ``Send`` that carries one is marked ``sensitive`` and hides its bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._constants import wire_time
from ._datasets import DataSet
from ._errors import ProtocolError
from ._frames import Check
from ._messages import Identification, Mode

__all__ = [
    "Action",
    "CommandResult",
    "Done",
    "Failed",
    "LineFraming",
    "Readout",
    "Send",
    "SessionAbortedError",
    "SessionResult",
    "SetLine",
    "UnexpectedError",
    "UnsupportedModeError",
    "Wait",
]


class LineFraming(enum.Enum):
    """Character format on the line: 7E1 is the standard's (clause 5); 8N1 some meters'."""

    BITS_7E1 = "7E1"
    BITS_8N1 = "8N1"

    @property
    def data_bits(self) -> int:
        return int(self.value[0])

    @property
    def parity(self) -> str:
        """``"E"`` (even) or ``"N"`` (none), as pyserial spells it."""
        return self.value[1]

    @property
    def stop_bits(self) -> int:
        return int(self.value[2])


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Write ``data``, starting no earlier than ``not_before``.

    ``description`` is for logs and never holds a secret. ``sensitive`` marks bytes
    that carry a password (or an answer derived from one); ``repr`` then hides them.
    """

    data: bytes
    not_before: float
    description: str
    sensitive: bool = False

    def __repr__(self) -> str:
        shown = f"<{len(self.data)} bytes hidden>" if self.sensitive else self.data.hex(" ")
        return (
            f"Send(description={self.description!r}, not_before={self.not_before!r}, data={shown})"
        )

    def end(self, baud: int) -> float:
        """When the last character has left the wire at ``baud``."""
        return self.not_before + wire_time(len(self.data), baud)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLine:
    """Reconfigure the port at ``at``, not before: earlier would cut our own last bytes."""

    baud: int
    framing: LineFraming
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    """Read until ``deadline`` and hand every byte to ``receive_data``; then ``timeout``.

    ``idle`` marks a pause in which nothing is expected (wake-up, guard time): bytes
    that arrive may still be passed in; the session ignores them.
    """

    deadline: float
    waiting_for: str
    idle: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Readout:
    """A data block the meter sent: a readout, or a mode D / P1 telegram.

    ``data`` is the block without STX, the closing ``!`` line, ETX and BCC.
    ``check`` is ``OK`` for a verified BCC or CRC16 and ``ABSENT`` where the meter
    sends none (a bad one is retried in readout mode and reported as is in push mode).
    """

    data: str
    check: Check
    datasets: tuple[DataSet, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    """The outcome of one programming command, in the order they were sent."""

    command: str
    """``R1``, ``W1``, ``R5`` ..."""
    dataset: str
    """What the command carried, e.g. ``1.8.0(1)``."""
    data: str | None = None
    """The reply's data, partial blocks joined; None for an ACK (or no reply)."""
    datasets: tuple[DataSet, ...] = ()
    error: ProtocolError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def request(self) -> str:
        return f"{self.command} {self.dataset}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    """Everything a session learned, complete on ``Done`` and partial on ``Failed``."""

    identification: Identification | None = None
    mode: Mode | None = None
    """The mode the session used (after ``force_mode``; mode E meters are read as C)."""
    baud: int | None = None
    """The rate the data came at."""
    readout: Readout | None = None
    commands: tuple[CommandResult, ...] = ()
    repeats: int = 0
    """Messages repeated (sign-ons, NAKs sent or answered, silent replies), all told."""
    bus_free_at: float = 0.0
    """When the next sign-on on this bus may start (after B0 and its guard time)."""
    break_sent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Done:
    """The session ended as planned; per-command errors may still be in the result."""

    result: SessionResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """The session ended early with ``error``; ``result`` keeps what was gathered."""

    error: ProtocolError
    result: SessionResult


Action = Send | SetLine | Wait | Done | Failed


class SessionAbortedError(ProtocolError):
    """The engine aborted the session (shutdown); ``state`` is where it stood."""

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(f"session aborted in state {state}")


class UnsupportedModeError(ProtocolError):
    """The meter's mode cannot do what the configuration asks (e.g. program in mode A)."""

    def __init__(self, mode: str, wanted: str) -> None:
        self.mode = mode
        self.wanted = wanted
        super().__init__(f"mode {mode} cannot do {wanted}")


class UnexpectedError(ProtocolError):
    """A bug or a plug-in failure inside a transition, turned into a session failure.

    Only the exception's type is in the message (a password scheme's own message could
    hold the secret); the original is chained as ``__cause__`` for debugging.
    """

    def __init__(self, exc_type: str) -> None:
        self.exc_type = exc_type
        super().__init__(f"unexpected {exc_type} inside the session")
