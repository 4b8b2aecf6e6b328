"""What the engine knows about each meter: health, backoff, and the rate that works.

A ``MeterTracker`` is the mutable bookkeeping of one meter; ``MeterStatus`` is the
frozen snapshot the engine reports. Times are on the port's clock (``next_try``)
except ``last_success``, which is wall-clock for people.

States::

    UNKNOWN --success--> OK --failure--> FAILING --N failures in a row--> UNREACHABLE
    any state --success--> OK
    UNREACHABLE: jobs are answered "unreachable" without using the bus until
    ``next_try``; the job due then is the probe (one session, no retries).

Baud fallback: a session that failed after the meter identified itself, at a rate
above 300 Bd, counts against that rate. After ``fallback_after`` such failures in a
row the cap drops (to ``fallback_baud`` or one mode C rate down). A success keeps
the cap: what works is remembered for the life of the engine. Failures before the
identification (silence) say nothing about the rate and do not count.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from poller.protocol import (
    INITIAL_BAUD,
    MODE_C_RATES,
    AuthenticationError,
    ProtocolError,
    RemoteError,
    SessionResult,
)

from ._meter_config import MeterSettings

__all__ = ["MeterState", "MeterStatus", "MeterTracker"]


class MeterState(enum.Enum):
    UNKNOWN = "unknown"
    """Not read yet."""
    OK = "ok"
    FAILING = "failing"
    """The last session failed; retries are under way with backoff."""
    UNREACHABLE = "unreachable"
    """Too many failures in a row; probed every ``probe_interval``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterStatus:
    """A snapshot of one meter, for status pages and metrics."""

    address: str
    name: str | None
    state: MeterState
    last_success: dt.datetime | None
    last_error: str | None
    consecutive_failures: int
    next_try: float | None
    """Clock time before which no session is started (backoff or probe), or None."""
    max_baud: int | None
    """The baud cap in force (lowered by fallback), None for the meter's offer."""
    last_baud: int | None


def _step_down(rate: int) -> int:
    lower = [r for r in MODE_C_RATES.values() if r < rate]
    return max(lower, default=INITIAL_BAUD)


class MeterTracker:
    """Mutable health of one meter; every method takes the clock time explicitly."""

    def __init__(self, settings: MeterSettings) -> None:
        self.settings = settings
        self.state = MeterState.UNKNOWN
        self.last_success: dt.datetime | None = None
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.next_try: float | None = None
        self.max_baud = settings.max_baud
        self.last_baud: int | None = None
        self._rate_failures = 0
        self._failed_rate: int | None = None

    def snapshot(self) -> MeterStatus:
        return MeterStatus(
            address=self.settings.address,
            name=self.settings.name,
            state=self.state,
            last_success=self.last_success,
            last_error=self.last_error,
            consecutive_failures=self.consecutive_failures,
            next_try=self.next_try,
            max_baud=self.max_baud,
            last_baud=self.last_baud,
        )

    def blocked(self, now: float) -> bool:
        """Whether the meter is unreachable and its next probe is not due yet."""
        return (
            self.state is MeterState.UNREACHABLE
            and self.next_try is not None
            and now < self.next_try
        )

    def succeeded(self, wall: dt.datetime, result: SessionResult) -> None:
        self.state = MeterState.OK
        self.last_success = wall
        self.last_error = None
        self.consecutive_failures = 0
        self.next_try = None
        self.last_baud = result.baud
        self._rate_failures = 0
        self._failed_rate = None

    def failed(
        self,
        now: float,
        error: ProtocolError,
        result: SessionResult,
        *,
        unreachable_after: int,
        probe_interval: float,
    ) -> bool:
        """Count a failed session; returns True when the meter just became unreachable."""
        self.consecutive_failures += 1
        self.last_error = str(error)
        self._count_rate_failure(error, result)
        if self.consecutive_failures >= unreachable_after:
            newly = self.state is not MeterState.UNREACHABLE
            self.state = MeterState.UNREACHABLE
            self.next_try = now + probe_interval
            return newly
        self.state = MeterState.FAILING
        self.next_try = now + self.settings.backoff.delay(self.consecutive_failures)
        return False

    def _count_rate_failure(self, error: ProtocolError, result: SessionResult) -> None:
        rate = result.baud
        if (
            self.settings.fallback_after == 0
            or result.identification is None
            or rate is None
            or rate <= INITIAL_BAUD
            # The meter answered properly and refused: the rate is not the problem.
            or isinstance(error, AuthenticationError | RemoteError)
        ):
            return
        if rate != self._failed_rate:
            self._failed_rate = rate
            self._rate_failures = 0
        self._rate_failures += 1
        if self._rate_failures >= self.settings.fallback_after:
            fallback = self.settings.fallback_baud
            if fallback is None or fallback >= rate:
                fallback = _step_down(rate)
            self.max_baud = fallback
            self._rate_failures = 0
            self._failed_rate = None
