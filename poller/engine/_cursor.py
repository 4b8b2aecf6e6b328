"""Incremental profile and logbook reads: where the last good read ended.

A cursor is the meter-time stamp (aware) of the last record that reached the sinks,
one per meter and profile. The next read asks from just after it, so nothing is read
twice, and the cursor moves only after the batch was handed over, so nothing is
lost when the daemon stops between the read and the hand-over.

Request bounds have minute resolution (``zYYMMDDhhmm``) and the meters read them as
inclusive. Load-profile records are stamped on whole intervals, so asking from
``cursor + 1 min`` returns exactly the intervals after the cursor. Logbook entries
carry seconds, and two may share a minute, so a logbook is asked from the cursor's
own minute and the entries up to the cursor are dropped here. Both paths filter
``time > cursor`` anyway: a meter that reads bounds differently still yields no
duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final, Protocol, runtime_checkable

from poller.protocol import MeterTime, ProfileRecord, ReadRequest, profile_request

__all__ = [
    "LOGBOOKS",
    "CursorStore",
    "MemoryCursorStore",
    "ProfileRange",
    "new_records",
    "plan_profile_read",
]

LOGBOOKS: Final = frozenset({"P.98", "P.99"})
_MINUTE: Final = dt.timedelta(minutes=1)


@runtime_checkable
class CursorStore(Protocol):
    """Where cursors survive restarts; the daemon gives a file or SQLite one."""

    async def get(self, meter: str, profile: str) -> dt.datetime | None: ...

    async def set(self, meter: str, profile: str, last: dt.datetime) -> None: ...


class MemoryCursorStore:
    """Cursors in a dict: for tests and one-shot reads."""

    def __init__(self) -> None:
        self._cursors: dict[tuple[str, str], dt.datetime] = {}

    async def get(self, meter: str, profile: str) -> dt.datetime | None:
        return self._cursors.get((meter, profile))

    async def set(self, meter: str, profile: str, last: dt.datetime) -> None:
        if last.tzinfo is None:
            raise ValueError("a cursor is an aware datetime")
        self._cursors[(meter, profile)] = last


class ProfileRange:
    """One profile read: what to ask for, and the cursor it continues from."""

    __slots__ = ("cursor", "end", "profile", "start", "tz")

    def __init__(
        self,
        *,
        profile: str,
        start: dt.datetime,
        end: dt.datetime | None,
        cursor: dt.datetime | None,
        tz: dt.tzinfo,
    ) -> None:
        self.profile = profile
        self.start = start
        self.end = end
        self.cursor = cursor
        self.tz = tz

    def request(self) -> ReadRequest:
        start = MeterTime.from_datetime(self.start, self.tz)
        end = None if self.end is None else MeterTime.from_datetime(self.end, self.tz)
        return ReadRequest(dataset=profile_request(self.profile, start, end), code="5")

    def __repr__(self) -> str:
        return f"ProfileRange({self.profile}, {self.start.isoformat()}..{self.end})"


def _floor_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def plan_profile_read(
    profile: str,
    *,
    cursor: dt.datetime | None,
    now: dt.datetime,
    tz: dt.tzinfo,
    backfill: dt.timedelta,
    max_span: dt.timedelta | None,
) -> ProfileRange:
    """The range of the next read of ``profile`` given its ``cursor``."""
    if cursor is None:
        # A first read behaves as if the cursor stood ``backfill`` ago.
        cursor = _floor_minute(now - backfill)
    start = _floor_minute(cursor) if profile in LOGBOOKS else _floor_minute(cursor) + _MINUTE
    end = None
    if max_span is not None and start + max_span < now:
        end = start + max_span
    return ProfileRange(profile=profile, start=start, end=end, cursor=cursor, tz=tz)


def new_records(
    records: Iterable[ProfileRecord], planned: ProfileRange
) -> tuple[list[ProfileRecord], dt.datetime | None]:
    """The records after the cursor, and the cursor once they are handed over.

    A bounded range that came back empty moves the cursor to its end: the meter has
    nothing there (it was off), and asking again would never get past the hole.
    """
    fresh: list[ProfileRecord] = []
    last = planned.cursor
    for record in records:
        moment = record.time.to_datetime(planned.tz)
        if planned.cursor is not None and moment <= planned.cursor:
            continue
        fresh.append(record)
        if last is None or moment > last:
            last = moment
    if not fresh and planned.end is not None:
        last = planned.end if last is None else max(last, planned.end)
    return fresh, last
