"""Time zones for schedules: the system's zone, and wall-clock times across DST.

Schedules are computed on aware datetimes. Two facts of civil time matter:

* A change of clocks makes a stretch of wall-clock time not exist (spring) and
  another happen twice (autumn). ``wall_time`` gives one instant for any wall-clock
  time: the first occurrence of a repeated one, and for one that does not exist the
  moment the clocks jumped (a 02:30 job runs at 03:00, as cron runs it).
* Offsets are piecewise constant; ``next_transition`` finds where one ends by
  bisection on whole seconds (transitions in tz data are at whole seconds).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["get_zone", "local_zone", "next_transition", "require_aware", "wall_time"]

_LOCALTIME: Final = Path("/etc/localtime")
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND: Final = dt.timedelta(seconds=1)


def get_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``, ``UTC``); ``ValueError`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)") from None


def local_zone() -> dt.tzinfo:
    """The system's zone: ``$TZ``, else ``/etc/localtime``, else UTC.

    ``datetime.now().astimezone()`` would give a fixed offset that is wrong across
    the next change of clocks, so the zone is read as tz data.
    """
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return get_zone(name)
        except ValueError:
            pass
    try:
        # A symlink into the zoneinfo tree names the zone (Europe/Berlin), which reads
        # better in summaries and logs than the file's contents under "localtime".
        target = str(_LOCALTIME.readlink())
        _, found, name = target.partition("zoneinfo/")
        if found:
            return get_zone(name)
    except (OSError, ValueError):
        pass
    try:
        with _LOCALTIME.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        return dt.UTC


def require_aware(value: dt.datetime, name: str = "time") -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (schedules never guess a zone)")


def _offset(tz: dt.tzinfo, seconds: int) -> dt.timedelta | None:
    return (_EPOCH + dt.timedelta(seconds=seconds)).astimezone(tz).utcoffset()


def next_transition(tz: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    """The first instant in ``(start, end]`` whose UTC offset differs from ``start``'s.

    Assumes at most one transition in the span, which holds for spans of days.
    """
    low = (start.astimezone(dt.UTC) - _EPOCH) // _SECOND
    high = -((_EPOCH - end.astimezone(dt.UTC)) // _SECOND)  # ceiling
    before = start.astimezone(tz).utcoffset()
    if _offset(tz, high) == before:
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(tz, middle) == before:
            low = middle
        else:
            high = middle
    return (_EPOCH + dt.timedelta(seconds=high)).astimezone(tz)


def wall_time(day: dt.date, time_of_day: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant of ``time_of_day`` on ``day`` in ``tz`` (see the module docstring)."""
    naive = dt.datetime.combine(day, time_of_day.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(tz)
    # In a gap fold=0 and fold=1 map through the offsets either side of the jump,
    # so the two instants bracket the transition.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    jump = next_transition(tz, min(first, other), max(first, other))
    return (jump or first).astimezone(tz)
