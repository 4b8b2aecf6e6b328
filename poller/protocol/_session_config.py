"""How one client session should talk to one meter, validated when it is built.

``SessionConfig`` is the one description of a conversation's settings: each field's
default and its check (``checks`` in the field's metadata) are written here, and the
engine's ``MeterSettings`` declares the same fields with ``same_field``, the daemon's
configuration reads their limits back, rather than either repeating them. Only the
checks that relate fields to each other are in ``__post_init__``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from poller.util import Limits, check_fields, checks

from ._actions import LineFraming
from ._constants import (
    INTER_CHAR_TIMEOUT,
    MAX_REPEATS,
    MODE_C_RATES,
    MODE_D_BAUD,
    PROTOCOL_NORMAL,
    PROTOCOL_SECONDARY,
    REACTION_TIME_MAX,
)
from ._messages import Mode, Request
from ._passwords import Password, get_scheme

__all__ = [
    "DEFAULT_PUSH_TIMEOUT",
    "DEFAULT_REPLY_TIMEOUT",
    "ProgrammingRequest",
    "ReadRequest",
    "SessionConfig",
    "SessionMode",
    "WriteRequest",
    "mode_c_rate",
]

# The meter may take up to tr max to start answering; the margin covers the first
# character's own wire time, adapter latency and meters slower than the standard.
DEFAULT_REPLY_TIMEOUT: Final = REACTION_TIME_MAX + 0.5
# Mode D meters push when their button is pressed, P1 meters every 1-10 s.
DEFAULT_PUSH_TIMEOUT: Final = 30.0

_READ_CODES: Final = frozenset("123456")
_WRITE_CODES: Final = frozenset("12345")


class SessionMode(enum.Enum):
    """What the session does once the meter has identified itself."""

    READOUT = "readout"
    """Sign on and read the data block (modes A, B, C)."""
    PROGRAMMING = "programming"
    """Mode C programming: password, then the configured commands, then B0."""
    PUSH = "push"
    """Mode D / P1: listen only, never send."""


def _check_dataset(dataset: str) -> None:
    # Printable excludes ETX and EOT, which would end the command early.
    if not dataset.isascii() or not dataset.isprintable():
        raise ValueError("a command's data set is printable 7-bit ASCII")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadRequest:
    """``R<code>`` with ``dataset``: ``1.8.0()``, ``1.8.0(1)`` or ``P.01(from;to)``."""

    dataset: str
    code: str = "1"

    def __post_init__(self) -> None:
        if self.code not in _READ_CODES:
            raise ValueError(f"read code must be one of {''.join(sorted(_READ_CODES))}")
        _check_dataset(self.dataset)

    @classmethod
    def load_profile(
        cls, start: str = "", end: str = "", *, profile: str = "P.01", code: str = "5"
    ) -> ReadRequest:
        """VDEW profile read ``P.01(zYYMMDDhhmm;zYYMMDDhhmm)``; empty bounds are open."""
        return cls(dataset=f"{profile}({start};{end})", code=code)

    @property
    def name(self) -> str:
        return "R" + self.code


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRequest:
    """``W<code>`` with ``dataset``, e.g. ``0.9.1(120000)``; the meter answers ACK."""

    dataset: str
    code: str = "1"

    def __post_init__(self) -> None:
        if self.code not in _WRITE_CODES:
            raise ValueError(f"write code must be one of {''.join(sorted(_WRITE_CODES))}")
        _check_dataset(self.dataset)

    @property
    def name(self) -> str:
        return "W" + self.code


ProgrammingRequest = ReadRequest | WriteRequest


def _address(name: str, value: str) -> None:
    Request(address=value)  # raises InvalidMessageError (a ValueError)


def _password(name: str, value: Password | None) -> None:
    if value is not None and not isinstance(value, Password):
        raise TypeError(f"{name} must be a Password (it keeps the secret out of logs)")


def _scheme(name: str, value: str | None) -> None:
    if value is not None:
        get_scheme(value)  # unknown names fail now, listing known ones


def _commands(name: str, value: tuple[ProgrammingRequest, ...]) -> None:
    for command in value:
        if not isinstance(command, ReadRequest | WriteRequest):
            raise TypeError(f"{name} are ReadRequest or WriteRequest objects")


def mode_c_rate(name: str, value: int | None) -> None:
    """The check of a baud rate field: None or one of the mode C rates."""
    if value is not None and value not in MODE_C_RATES.values():
        rates = ", ".join(str(r) for r in MODE_C_RATES.values())
        raise ValueError(f"{name} must be a mode C rate: {rates}")


def _option_select_protocol(name: str, value: str) -> None:
    if value not in (PROTOCOL_NORMAL, PROTOCOL_SECONDARY):
        # V=2 enters HDLC (mode E), which this session does not speak.
        raise ValueError(f"{name} must be '0' or '1'")


_SECONDS: Final = Limits(gt=0, unit="s")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """One meter's session settings. See ``_session.py`` for how each is used."""

    address: str = field(default="", metadata=checks(_address))
    """The meter's address; empty is the general address every meter answers."""
    mode: SessionMode = SessionMode.READOUT
    password: Password | None = field(default=None, metadata=checks(_password))
    password_scheme: str | None = field(default=None, metadata=checks(_scheme))
    """None sends ``P1(password)``; a registered name sends ``P2(scheme(P0, password))``."""
    commands: tuple[ProgrammingRequest, ...] = field(default=(), metadata=checks(_commands))
    max_baud: int | None = field(default=None, metadata=checks(mode_c_rate))
    """Highest rate to ask for in mode C; None takes what the meter offers."""
    force_mode: Mode | None = None
    """Read the meter as this mode whatever its identification announces."""
    framing: LineFraming = LineFraming.BITS_7E1
    wake_up: bool = False
    """Send the battery wake-up NULs (annex B.1) before each request."""
    reply_timeout: float = field(default=DEFAULT_REPLY_TIMEOUT, metadata=checks(_SECONDS))
    """From the end of our message (or baud switch) to the first byte of the reply."""
    inter_char_timeout: float = field(default=INTER_CHAR_TIMEOUT, metadata=checks(_SECONDS))
    push_timeout: float = field(default=DEFAULT_PUSH_TIMEOUT, metadata=checks(_SECONDS))
    push_baud: int = field(default=MODE_D_BAUD, metadata=checks(Limits(gt=0)))
    max_repeats: int = field(default=MAX_REPEATS, metadata=checks(Limits(ge=0)))
    """Repeats of one message after its first try (so 1 + max_repeats attempts)."""
    switch_delay: float = field(default=0.0, metadata=checks(Limits(ge=0, unit="s")))
    """Extra time after our last byte's wire time before a baud switch (USB adapters)."""
    client_reaction_time: float | None = field(
        default=None, metadata=checks(Limits(ge=0, le=REACTION_TIME_MAX, unit="s"))
    )
    """Our tr; None is the least the identification allows (200 ms, or 20 ms)."""
    option_select_protocol: str = field(
        default=PROTOCOL_NORMAL, metadata=checks(_option_select_protocol)
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.password_scheme is not None and self.password is None:
            raise ValueError("a password scheme needs a password")
        if self.commands and self.mode is not SessionMode.PROGRAMMING:
            raise ValueError("commands need mode PROGRAMMING")
        if self.mode is SessionMode.PROGRAMMING and self.force_mode not in (None, Mode.C, Mode.E):
            raise ValueError("programming needs mode C; force_mode cannot be A, B or D")
