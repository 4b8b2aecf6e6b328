"""Bus-wide options of a ``BusEngine``; per-meter ones are ``MeterSettings``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from poller.util import Backoff, Limits, check_fields, checks

from ._recorder import DEFAULT_SIZE

__all__ = ["EngineOptions"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    """Bus-wide behaviour; per-meter settings live in ``MeterSettings``."""

    unreachable_after: int = field(default=5, metadata=checks(Limits(ge=1)))
    """Failed sessions in a row after which a meter is unreachable."""
    probe_interval: float = field(default=900.0, metadata=checks(Limits(gt=0, unit="s")))
    """How often an unreachable meter is tried again."""
    reopen_backoff: Backoff = field(
        default_factory=lambda: Backoff(initial=1.0, factor=2.0, maximum=60.0)
    )
    recorder_size: int = DEFAULT_SIZE
    stop_timeout: float = field(default=10.0, metadata=checks(Limits(gt=0, unit="s")))
    """Real seconds a graceful stop waits for the running conversation."""
    wall_clock: Callable[[], dt.datetime] = _utc_now
    """Aware wall-clock time for ``taken_at`` and profile bounds (tests map sim time)."""

    def __post_init__(self) -> None:
        check_fields(self)
