"""``daily: "00:05"``: once a day at a wall-clock time, as load-profile collection wants."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from ._base import Schedule
from ._zones import wall_time

__all__ = ["DailySchedule", "parse_time_of_day"]

_HH_MM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
_DAY: Final = dt.timedelta(days=1)


def parse_time_of_day(text: str) -> dt.time:
    """``"00:05"`` or ``"23:59:30"`` -> a time; ``ValueError`` otherwise."""
    match = _HH_MM.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'{text!r} is not a time of day; write HH:MM (24 h), e.g. "00:05"')
    hour, minute, second = match.groups()
    return dt.time(int(hour), int(minute), int(second or 0))


@dataclass(frozen=True, slots=True)
class DailySchedule(Schedule):
    """A time that a change of clocks skips runs when the clocks jump; a repeated one once."""

    at: dt.time
    tz: dt.tzinfo = dt.UTC

    @property
    def timezone(self) -> dt.tzinfo:
        return self.tz

    def describe(self) -> str:
        return f"daily at {self.at.isoformat(timespec='minutes')} ({self.tz})"

    def _next(self, after: dt.datetime) -> dt.datetime:
        day = after.astimezone(self.tz).date() - _DAY
        while True:
            slot = wall_time(day, self.at, self.tz).astimezone(dt.UTC)
            if slot > after:
                return slot
            day += _DAY
