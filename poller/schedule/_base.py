"""What every schedule offers: the next slot after a moment, and the slots in a span."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterator

from ._zones import require_aware

__all__ = ["Schedule"]


class Schedule(abc.ABC):
    """Slots are strictly increasing UTC datetimes, aligned in the schedule's ``timezone``.

    They are given in UTC because Python compares two datetimes of one zone by their
    wall-clock fields alone: 02:30 of the repeated hour would equal the first 02:30.
    ``slot.astimezone(schedule.timezone)`` is the local time, for display.
    Implementations are pure: the time comes in as an argument, never from a clock.
    """

    __slots__ = ()

    @property
    @abc.abstractmethod
    def timezone(self) -> dt.tzinfo: ...

    @abc.abstractmethod
    def _next(self, after: dt.datetime) -> dt.datetime:
        """The first slot after ``after`` (UTC), in UTC."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A short text for summaries and logs: ``every 15m``, ``cron */15 * * * *``."""

    def next_slot(self, after: dt.datetime) -> dt.datetime:
        """The first slot strictly after ``after`` (any aware datetime)."""
        require_aware(after, "after")
        return self._next(after.astimezone(dt.UTC))

    def slots_between(self, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
        """The slots ``s`` with ``start < s <= end``, in order.

        Half-open on the left so that ``slots_between(last_fired, now)`` is exactly
        what came due since the last slot that ran.
        """
        require_aware(end, "end")
        end = end.astimezone(dt.UTC)
        slot = self.next_slot(start)
        while slot <= end:
            yield slot
            slot = self._next(slot)

    def upcoming(self, after: dt.datetime, count: int) -> list[dt.datetime]:
        """The next ``count`` slots after ``after``."""
        slots: list[dt.datetime] = []
        slot = after
        for _ in range(count):
            slot = self.next_slot(slot)
            slots.append(slot)
        return slots
