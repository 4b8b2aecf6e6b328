"""``every: 15m``: slots aligned to the clock of the schedule's zone.

The rule (also in ``config/example.yaml``):

* An interval of up to an hour must divide the hour (1m, 5m, 15m, 20m, 30m, 1h,
  90s...). Slots are the instants whose local time is a multiple of the interval
  (plus ``offset``) since the epoch: every 15 minutes falls on :00, :15, :30 and :45,
  as billing periods and load profiles do. These schedules tick in real time: on
  the night the clocks go back the repeated hour is read twice, in spring there is no
  hole, and consecutive slots are always one interval apart.
* A longer interval must be whole hours dividing the day (2h, 3h, 4h, 6h, 8h, 12h,
  24h = 1d). Its slots are wall-clock times of day (every 6h: 00:00, 06:00, 12:00,
  18:00 local), each once a day, with cron's rules across a change of clocks.
* ``offset`` shifts every slot (``every: 1h, offset: 5m`` at :05); it is less than
  the interval.

An interval that does not divide evenly (7m, 45m, 5h) would drift against the hour
or the day, so it is refused rather than given a surprising meaning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from ._base import Schedule
from ._durations import format_duration
from ._zones import next_transition, wall_time

__all__ = ["EverySchedule"]

_HOUR: Final = dt.timedelta(hours=1)
_DAY: Final = dt.timedelta(days=1)
_SECOND: Final = dt.timedelta(seconds=1)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def check_interval(interval: dt.timedelta, offset: dt.timedelta = dt.timedelta(0)) -> None:
    """``ValueError`` saying what is allowed when ``interval``/``offset`` break the rule."""
    if interval <= dt.timedelta(0):
        raise ValueError("the interval must be positive")
    if interval % _SECOND:
        raise ValueError("the interval must be whole seconds")
    if interval <= _HOUR:
        if _HOUR % interval:
            raise ValueError(
                f"{format_duration(interval)} does not divide the hour evenly; intervals up to"
                " an hour must (1m, 2m, 5m, 10m, 15m, 20m, 30m, 1h...)"
            )
    elif interval > _DAY or interval % _HOUR or _DAY % interval:
        raise ValueError(
            f"{format_duration(interval)} does not divide the day evenly; intervals over an hour"
            " must be 2h, 3h, 4h, 6h, 8h, 12h or 1d (use cron for anything else)"
        )
    if offset < dt.timedelta(0) or offset >= interval:
        raise ValueError(
            "the offset must be at least 0 and less than the interval"
            f" ({format_duration(interval)})"
        )
    if offset % _SECOND:
        raise ValueError("the offset must be whole seconds")


@dataclass(frozen=True, slots=True)
class EverySchedule(Schedule):
    interval: dt.timedelta
    tz: dt.tzinfo = dt.UTC
    offset: dt.timedelta = dt.timedelta(0)

    def __post_init__(self) -> None:
        check_interval(self.interval, self.offset)

    @property
    def timezone(self) -> dt.tzinfo:
        return self.tz

    @property
    def realtime(self) -> bool:
        """Ticks in real time (up to an hour) rather than at wall-clock times of day."""
        return self.interval <= _HOUR

    def describe(self) -> str:
        text = f"every {format_duration(self.interval)}"
        if self.offset:
            text += f" offset {format_duration(self.offset)}"
        return f"{text} ({self.tz})"

    def _next(self, after: dt.datetime) -> dt.datetime:
        if self.realtime:
            return self._next_realtime(after)
        return self._next_wall(after)

    def _next_realtime(self, after: dt.datetime) -> dt.datetime:
        # Within a stretch of constant UTC offset the slots are evenly spaced; when
        # the first candidate lies beyond a change of offset, start over from there.
        start, inclusive = after, False
        for _ in range(4):
            offset = start.astimezone(self.tz).utcoffset() or dt.timedelta(0)
            local = start - _EPOCH + offset - self.offset
            steps = local // self.interval
            if inclusive and local % self.interval == dt.timedelta(0):
                steps -= 1
            candidate = _EPOCH + (steps + 1) * self.interval + self.offset - offset
            jump = next_transition(self.tz, start, candidate)
            if jump is None or jump > candidate:
                return candidate
            start, inclusive = jump.astimezone(dt.UTC), True
        raise AssertionError("no slot within four changes of offset")  # pragma: no cover

    def _next_wall(self, after: dt.datetime) -> dt.datetime:
        count = _DAY // self.interval
        midnight = dt.datetime.min.replace(tzinfo=dt.UTC)
        times = [(midnight + self.offset + i * self.interval).time() for i in range(count)]
        day = after.astimezone(self.tz).date() - _DAY
        for _ in range(4):
            for time_of_day in times:
                slot = wall_time(day, time_of_day, self.tz).astimezone(dt.UTC)
                if slot > after:
                    return slot
            day += _DAY
        raise AssertionError("no slot within four days")  # pragma: no cover
