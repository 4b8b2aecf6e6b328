"""How one client session should talk to one meter, validated when it is built."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Final

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


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """One meter's session settings. See ``_session.py`` for how each is used."""

    address: str = ""
    """The meter's address; empty is the general address every meter answers."""
    mode: SessionMode = SessionMode.READOUT
    password: Password | None = None
    password_scheme: str | None = None
    """None sends ``P1(password)``; a registered name sends ``P2(scheme(P0, password))``."""
    commands: tuple[ProgrammingRequest, ...] = ()
    max_baud: int | None = None
    """Highest rate to ask for in mode C; None takes what the meter offers."""
    force_mode: Mode | None = None
    """Read the meter as this mode whatever its identification announces."""
    framing: LineFraming = LineFraming.BITS_7E1
    wake_up: bool = False
    """Send the battery wake-up NULs (annex B.1) before each request."""
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT
    """From the end of our message (or baud switch) to the first byte of the reply."""
    inter_char_timeout: float = INTER_CHAR_TIMEOUT
    push_timeout: float = DEFAULT_PUSH_TIMEOUT
    push_baud: int = MODE_D_BAUD
    max_repeats: int = MAX_REPEATS
    """Repeats of one message after its first try (so 1 + max_repeats attempts)."""
    switch_delay: float = 0.0
    """Extra time after our last byte's wire time before a baud switch (USB adapters)."""
    client_reaction_time: float | None = None
    """Our tr; None is the least the identification allows (200 ms, or 20 ms)."""
    option_select_protocol: str = PROTOCOL_NORMAL

    def __post_init__(self) -> None:
        Request(address=self.address)  # raises InvalidMessageError (a ValueError)
        if self.password is not None and not isinstance(self.password, Password):
            raise TypeError("password must be a Password (it keeps the secret out of logs)")
        if self.password_scheme is not None:
            get_scheme(self.password_scheme)  # unknown names fail now, listing known ones
            if self.password is None:
                raise ValueError("a password scheme needs a password")
        if self.commands and self.mode is not SessionMode.PROGRAMMING:
            raise ValueError("commands need mode PROGRAMMING")
        for command in self.commands:
            if not isinstance(command, ReadRequest | WriteRequest):
                raise TypeError("commands are ReadRequest or WriteRequest objects")
        if self.max_baud is not None and self.max_baud not in MODE_C_RATES.values():
            rates = ", ".join(str(r) for r in MODE_C_RATES.values())
            raise ValueError(f"max_baud must be a mode C rate: {rates}")
        if self.mode is SessionMode.PROGRAMMING and self.force_mode not in (None, Mode.C, Mode.E):
            raise ValueError("programming needs mode C; force_mode cannot be A, B or D")
        for name in ("reply_timeout", "inter_char_timeout", "push_timeout"):
            _positive(name, getattr(self, name))
        if self.push_baud <= 0:
            raise ValueError("push_baud must be positive")
        if self.max_repeats < 0:
            raise ValueError("max_repeats cannot be negative")
        if not (math.isfinite(self.switch_delay) and self.switch_delay >= 0):
            raise ValueError("switch_delay must be zero or more seconds")
        if self.client_reaction_time is not None and not (
            0 <= self.client_reaction_time <= REACTION_TIME_MAX
        ):
            raise ValueError(f"client_reaction_time must be within 0-{REACTION_TIME_MAX} s")
        if self.option_select_protocol not in (PROTOCOL_NORMAL, PROTOCOL_SECONDARY):
            # V=2 enters HDLC (mode E), which this session does not speak.
            raise ValueError("option_select_protocol must be '0' or '1'")
