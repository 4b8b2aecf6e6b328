"""``cron: "*/15 * * * *"``: five-field cron expressions, evaluated by croniter.

croniter works on aware datetimes in the schedule's zone and handles the change of
clocks its own way: ``*/15`` keeps ticking through a repeated hour, a time in the
repeated hour (``30 2 * * *``) runs in both of its occurrences, and one in the
skipped hour runs when the clocks jump. ``daily`` and ``every`` run a repeated time
once; use them where that matters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from croniter import croniter

from ._base import Schedule

__all__ = ["CronSchedule", "check_cron"]

_FIELDS = 5
# croniter's answer is at or before the start for a few DST corner cases; asking
# again from the answer moves on. More than a handful would be a bug.
_MAX_STEPS = 8


def check_cron(expression: str) -> None:
    """``ValueError`` with croniter's reason when the expression is not valid."""
    if len(expression.split()) != _FIELDS:
        raise ValueError(
            f"{expression!r} is not a cron expression of five fields"
            " (minute hour day-of-month month day-of-week)"
        )
    try:
        croniter(expression)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{expression!r} is not a valid cron expression: {exc}") from None


@dataclass(frozen=True, slots=True)
class CronSchedule(Schedule):
    expression: str
    tz: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        check_cron(self.expression)

    @property
    def timezone(self) -> dt.tzinfo:
        return self.tz

    def describe(self) -> str:
        return f"cron {self.expression} ({self.tz})"

    def _next(self, after: dt.datetime) -> dt.datetime:
        start = after.astimezone(self.tz)
        for _ in range(_MAX_STEPS):
            found: dt.datetime = croniter(self.expression, start).get_next(dt.datetime)
            slot = found.astimezone(dt.UTC)
            if slot > after:
                return slot
            start = slot + dt.timedelta(seconds=1)
        raise RuntimeError(f"croniter did not move past {after} for {self.expression!r}")
