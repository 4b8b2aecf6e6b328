"""Schedules and the scheduler: when each meter is read.

Pure schedule logic on aware datetimes (``EverySchedule``, ``CronSchedule``,
``DailySchedule``: ``next_slot(after)``, ``slots_between(start, end)``), the wall
clocks it runs on (``SystemWallClock``, ``ManualWallClock`` for tests), and the
asyncio ``Scheduler`` that submits each meter's reads to its bus engine at the slots.
"""

from ._base import Schedule
from ._clock import ManualWallClock, SystemWallClock, WallClock
from ._cron import CronSchedule, check_cron
from ._daily import DailySchedule, parse_time_of_day
from ._durations import format_duration, parse_duration
from ._every import EverySchedule, check_interval
from ._scheduler import ReadSubmitter, ScheduledRead, Scheduler, ScheduleStats
from ._zones import get_zone, local_zone, wall_time

__all__ = [
    "CronSchedule",
    "DailySchedule",
    "EverySchedule",
    "ManualWallClock",
    "ReadSubmitter",
    "Schedule",
    "ScheduleStats",
    "ScheduledRead",
    "Scheduler",
    "SystemWallClock",
    "WallClock",
    "check_cron",
    "check_interval",
    "format_duration",
    "get_zone",
    "local_zone",
    "parse_duration",
    "parse_time_of_day",
    "wall_time",
]
