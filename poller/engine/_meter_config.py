"""One meter's settings as the bus engine sees them, validated once when built.

The daemon's YAML (one entry per meter under a bus) maps field by field onto
``MeterSettings``; everything the engine needs to talk to the meter, schedule its
retries and read its profiles incrementally is here, and nothing about sinks.
``session_config`` turns the settings plus the engine's current view of the meter
(a lowered baud cap after failures) into the protocol core's ``SessionConfig``.

The fields a conversation needs are the session's: declared with ``same_field`` they
take ``SessionConfig``'s default and check, so the engine repeats neither, and
``session_config`` copies them back by the names ``copied_fields`` records (only the
reply timeout is named differently: ``timeout`` is the configuration's name). The
engine's own fields (retries, backoff, profiles, time zone, session deadline) carry
their checks here. ``poller.config`` reads defaults and checks from these fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from poller.protocol import (
    LineFraming,
    Mode,
    Password,
    ProgrammingRequest,
    ReadRequest,
    SessionConfig,
    SessionMode,
    mode_c_rate,
)
from poller.util import Backoff, Limits, check_fields, checks, copied_fields, same_field

__all__ = ["MeterSettings"]

# A programming session reading a day of quarter-hour profile at 300 Bd takes about
# two minutes; a readout at 300 Bd well under one. The default covers both.
DEFAULT_SESSION_TIMEOUT = 180.0


def _positive_span(name: str, value: dt.timedelta | None) -> None:
    if value is not None and value <= dt.timedelta(0):
        raise ValueError(f"{name} must be positive")


_NOT_NEGATIVE: Final = checks(Limits(ge=0))


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSettings:
    """One meter on a bus. Times are seconds unless typed otherwise."""

    address: str = same_field(SessionConfig, "address", required=True)
    """The serial number used in ``/?address!``; every sign-on is addressed."""
    name: str | None = None
    mode: SessionMode = same_field(SessionConfig, "mode")
    password: Password | None = same_field(SessionConfig, "password")
    password_scheme: str | None = same_field(SessionConfig, "password_scheme")
    """None sends ``P1(password)``; a registered scheme name sends ``P2``."""
    registers: tuple[str, ...] = ()
    """Register addresses read with R1 in programming mode (``1.8.0``, ``1-0:1.8.0*255``)."""
    profiles: tuple[str, ...] = ()
    """Profiles and logbooks read incrementally with R5 (``P.01``, ``P.98``)."""
    profiles_with_registers: bool = True
    """Whether a registers job also reads the profiles; False when they have their own
    schedule (a daily collection), so that they are not read at every register poll."""
    profile_backfill: dt.timedelta = field(
        default=dt.timedelta(days=1), metadata=checks(_positive_span)
    )
    """How far back the first profile read of a meter without a cursor reaches."""
    profile_max_span: dt.timedelta | None = field(default=None, metadata=checks(_positive_span))
    """Longest range asked for in one read; a longer backlog is read over several jobs."""
    max_baud: int | None = same_field(SessionConfig, "max_baud")
    framing: LineFraming = same_field(SessionConfig, "framing")
    wake_up: bool = same_field(SessionConfig, "wake_up")
    timeout: float = same_field(SessionConfig, "reply_timeout")
    """Reply timeout of each message (from the end of ours to the first byte back)."""
    session_timeout: float = field(
        default=DEFAULT_SESSION_TIMEOUT, metadata=checks(Limits(gt=0, unit="s"))
    )
    """The whole conversation's deadline: a meter that dribbles bytes cannot hold the bus."""
    max_repeats: int = same_field(SessionConfig, "max_repeats")
    """Repeats of one message inside a session (the standard's 3)."""
    retries: int = field(default=2, metadata=_NOT_NEGATIVE)
    """Further sessions after a failed one, each requeued behind the other meters' jobs."""
    backoff: Backoff = field(
        default_factory=lambda: Backoff(initial=5.0, factor=2.0, maximum=300.0, jitter=0.0)
    )
    """Pause before the next session after failures in a row (requeued behind the others)."""
    switch_delay: float = same_field(SessionConfig, "switch_delay")
    client_reaction_time: float | None = same_field(SessionConfig, "client_reaction_time")
    force_mode: Mode | None = same_field(SessionConfig, "force_mode")
    fallback_after: int = field(default=2, metadata=_NOT_NEGATIVE)
    """Failed sessions at one rate after which the baud cap is lowered (0: never)."""
    fallback_baud: int | None = field(default=None, metadata=checks(mode_c_rate))
    """The cap to fall back to; None steps down one mode C rate at a time."""
    timezone: dt.tzinfo = dt.UTC
    """The meter clock's zone, for profile stamps and request bounds."""
    push_timeout: float = same_field(SessionConfig, "push_timeout")
    """How long a push session listens for a telegram."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.mode is not SessionMode.PROGRAMMING and (self.registers or self.profiles):
            raise ValueError("registers and profiles are read in mode 'programming'")
        # Building one now reports a bad mode combination at load time.
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
            push = self.mode is SessionMode.PUSH
        if push:
            mode = SessionMode.PUSH
        elif commands:
            mode = SessionMode.PROGRAMMING
        else:
            mode = SessionMode.READOUT
        programming = mode is SessionMode.PROGRAMMING
        values = {theirs: getattr(self, ours) for ours, theirs in _COPIED.items()}
        values.update(
            mode=mode,
            password=self.password if programming else None,
            password_scheme=self.password_scheme if programming else None,
            commands=commands,
            max_baud=max_baud if max_baud is not None else self.max_baud,
        )
        return SessionConfig(**values)


# Read once: which of the fields above are the session's, under which of its names.
_COPIED: Final = copied_fields(MeterSettings, SessionConfig)
