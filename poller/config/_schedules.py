"""Schedule configuration: ``{every: 15m}``, ``{cron: "*/15 * * * *"}``, ``{daily: "00:05"}``.

Wherever a schedule is expected it can also be the name of an entry of the top-level
``schedules`` mapping, so that meters and buses share one definition.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Self

from pydantic import AfterValidator, Discriminator, Tag, model_validator

from poller.schedule import (
    CronSchedule,
    DailySchedule,
    EverySchedule,
    Schedule,
    check_cron,
    check_interval,
    get_zone,
    parse_duration,
    parse_time_of_day,
)

from ._types import ConfigModel, Name, ZoneName

__all__ = ["UNION_TAGS", "ScheduleConfig", "ScheduleRef"]


def _every(text: str) -> str:
    check_interval(parse_duration(text))
    return text


def _offset(text: str) -> str:
    parse_duration(text)
    return text


def _cron(text: str) -> str:
    check_cron(text)
    return text


def _daily(text: str) -> str:
    parse_time_of_day(text)
    return text


class ScheduleConfig(ConfigModel):
    """Exactly one of ``every``, ``cron`` and ``daily``."""

    every: Annotated[str, AfterValidator(_every)] | None = None
    """Interval aligned to the clock: ``15m`` runs at :00, :15, :30, :45."""
    offset: Annotated[str, AfterValidator(_offset)] | None = None
    """With ``every``: shift each slot (``every: 1h, offset: 5m`` runs at :05)."""
    cron: Annotated[str, AfterValidator(_cron)] | None = None
    """Five-field cron expression (minute hour day-of-month month day-of-week)."""
    daily: Annotated[str, AfterValidator(_daily)] | None = None
    """Once a day at HH:MM, e.g. load-profile collection at "00:05"."""
    timezone: ZoneName | None = None
    """The zone the slots are aligned in; default the top-level ``timezone``."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [k for k in ("every", "cron", "daily") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a schedule has exactly one of every, cron and daily"
                + (f" (found {' and '.join(given)})" if given else "")
            )
        if self.offset is not None:
            if self.every is None:
                raise ValueError("offset goes with every")
            check_interval(parse_duration(self.every), parse_duration(self.offset))
        return self

    def build(self, default_zone: dt.tzinfo) -> Schedule:
        zone = get_zone(self.timezone) if self.timezone else default_zone
        if self.every is not None:
            offset = parse_duration(self.offset) if self.offset else dt.timedelta(0)
            return EverySchedule(parse_duration(self.every), zone, offset)
        if self.cron is not None:
            return CronSchedule(self.cron, zone)
        assert self.daily is not None  # the validator saw to that
        return DailySchedule(parse_time_of_day(self.daily), zone)


_BY_NAME: Final = "schedule-name"
_INLINE: Final = "schedule-spec"
UNION_TAGS: Final = frozenset({_BY_NAME, _INLINE})
"""Discriminator tags that pydantic puts into error locations; not keys of the file."""


def _which(value: Any) -> str:
    return _BY_NAME if isinstance(value, str) else _INLINE


ScheduleRef = Annotated[
    Annotated[Name, Tag(_BY_NAME)] | Annotated[ScheduleConfig, Tag(_INLINE)],
    Discriminator(_which),
]
"""An inline schedule, or the name of one under ``schedules``."""
