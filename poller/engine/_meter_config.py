"""One meter's settings as the bus engine sees them, validated once when built.

The daemon's YAML (one entry per meter under a bus) maps field by field onto
``MeterSettings``; everything the engine needs to talk to the meter, schedule its
retries and read its profiles incrementally is here, and nothing about sinks.
``session_config`` turns the settings plus the engine's current view of the meter
(a lowered baud cap after failures) into the protocol core's ``SessionConfig``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field

from poller.protocol import (
    LineFraming,
    Mode,
    Password,
    ProgrammingRequest,
    ReadRequest,
    SessionConfig,
    SessionMode,
    get_scheme,
)
from poller.protocol._constants import MAX_REPEATS, MODE_C_RATES
from poller.protocol._session_config import DEFAULT_PUSH_TIMEOUT, DEFAULT_REPLY_TIMEOUT
from poller.util import Backoff

__all__ = ["MeterMode", "MeterSettings"]

# A programming session reading a day of quarter-hour profile at 300 Bd takes about
# two minutes; a readout at 300 Bd well under one. The default covers both.
DEFAULT_SESSION_TIMEOUT = 180.0


class MeterMode(enum.Enum):
    """How the meter is normally read."""

    READOUT = "readout"
    """Sign on and take the data readout (modes A, B, C; mode E read as C)."""
    PROGRAMMING = "programming"
    """Mode C programming: R1 of ``registers`` and R5 of ``profiles``, then B0."""
    PUSH = "push"
    """Mode D / P1: listen for a telegram, never send."""


def _seconds(name: str, value: float, *, zero_ok: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be a {'non-negative' if zero_ok else 'positive'} time")


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSettings:
    """One meter on a bus. Times are seconds unless typed otherwise."""

    address: str
    """The serial number used in ``/?address!``; every sign-on is addressed."""
    name: str | None = None
    mode: MeterMode = MeterMode.READOUT
    password: Password | None = None
    password_scheme: str | None = None
    """None sends ``P1(password)``; a registered scheme name sends ``P2``."""
    registers: tuple[str, ...] = ()
    """Register addresses read with R1 in programming mode (``1.8.0``, ``1-0:1.8.0*255``)."""
    profiles: tuple[str, ...] = ()
    """Profiles and logbooks read incrementally with R5 (``P.01``, ``P.98``)."""
    profiles_with_registers: bool = True
    """Whether a registers job also reads the profiles; False when they have their own
    schedule (a daily collection), so that they are not read at every register poll."""
    profile_backfill: dt.timedelta = dt.timedelta(days=1)
    """How far back the first profile read of a meter without a cursor reaches."""
    profile_max_span: dt.timedelta | None = None
    """Longest range asked for in one read; a longer backlog is read over several jobs."""
    max_baud: int | None = None
    framing: LineFraming = LineFraming.BITS_7E1
    wake_up: bool = False
    timeout: float = DEFAULT_REPLY_TIMEOUT
    """Reply timeout of each message (from the end of ours to the first byte back)."""
    session_timeout: float = DEFAULT_SESSION_TIMEOUT
    """The whole conversation's deadline: a meter that dribbles bytes cannot hold the bus."""
    max_repeats: int = MAX_REPEATS
    """Repeats of one message inside a session (the standard's 3)."""
    retries: int = 2
    """Further sessions after a failed one, each requeued behind the other meters' jobs."""
    backoff: Backoff = field(
        default_factory=lambda: Backoff(initial=5.0, factor=2.0, maximum=300.0, jitter=0.0)
    )
    """Pause before the next session after failures in a row (requeued behind the others)."""
    switch_delay: float = 0.0
    client_reaction_time: float | None = None
    force_mode: Mode | None = None
    fallback_after: int = 2
    """Failed sessions at one rate after which the baud cap is lowered (0: never)."""
    fallback_baud: int | None = None
    """The cap to fall back to; None steps down one mode C rate at a time."""
    timezone: dt.tzinfo = dt.UTC
    """The meter clock's zone, for profile stamps and request bounds."""
    push_timeout: float = DEFAULT_PUSH_TIMEOUT
    """How long a push session listens for a telegram."""

    def __post_init__(self) -> None:
        if self.password is not None and not isinstance(self.password, Password):
            raise TypeError("password must be a Password (it keeps the secret out of logs)")
        if self.password_scheme is not None:
            get_scheme(self.password_scheme)
        for rate in (self.max_baud, self.fallback_baud):
            if rate is not None and rate not in MODE_C_RATES.values():
                raise ValueError(f"{rate} is not a mode C rate")
        if self.mode is not MeterMode.PROGRAMMING and (self.registers or self.profiles):
            raise ValueError("registers and profiles are read in mode 'programming'")
        if self.retries < 0 or self.max_repeats < 0 or self.fallback_after < 0:
            raise ValueError("retries, max_repeats and fallback_after cannot be negative")
        _seconds("timeout", self.timeout)
        _seconds("session_timeout", self.session_timeout)
        _seconds("switch_delay", self.switch_delay, zero_ok=True)
        if self.profile_backfill <= dt.timedelta(0):
            raise ValueError("profile_backfill must be positive")
        if self.profile_max_span is not None and self.profile_max_span <= dt.timedelta(0):
            raise ValueError("profile_max_span must be positive")
        # Building one now reports a bad address or mode combination at load time.
        self.session_config(commands=self.register_requests())

    @property
    def label(self) -> str:
        return self.name or self.address

    def register_requests(self) -> tuple[ProgrammingRequest, ...]:
        return tuple(ReadRequest(dataset=f"{code}()") for code in self.registers)

    def session_config(
        self,
        *,
        commands: tuple[ProgrammingRequest, ...] = (),
        max_baud: int | None = None,
        push: bool | None = None,
    ) -> SessionConfig:
        """The protocol session for one conversation; ``max_baud`` overrides the cap."""
        if push is None:
            push = self.mode is MeterMode.PUSH
        if push:
            mode = SessionMode.PUSH
        elif commands:
            mode = SessionMode.PROGRAMMING
        else:
            mode = SessionMode.READOUT
        programming = mode is SessionMode.PROGRAMMING
        return SessionConfig(
            address=self.address,
            mode=mode,
            password=self.password if programming else None,
            password_scheme=self.password_scheme if programming else None,
            commands=commands,
            max_baud=max_baud if max_baud is not None else self.max_baud,
            force_mode=self.force_mode,
            framing=self.framing,
            wake_up=self.wake_up,
            reply_timeout=self.timeout,
            max_repeats=self.max_repeats,
            switch_delay=self.switch_delay,
            client_reaction_time=self.client_reaction_time,
            push_timeout=self.push_timeout,
        )
