"""The value in a bracket group, and the meter's notion of time.

A bracket holds ``value*unit`` (clause 6.6). Real meters stretch that:

* a decimal comma (``1.6(000007,4*kW)``, Kamstrup), a leading space standing for the
  sign (``( 001.67*kW)``, Landis+Gyr), explicit ``+`` signs;
* ``&``-joined values in one bracket (``9.4(088*C&082*C)``, Siemens 2WR5);
* a timestamp after the unit, separated by a space (``1.6.0*5(1.124*kW 1250625171500)``,
  Sanxing).

Meter time comes in several spellings, all local wall-clock time except where a flag
says UTC:

* ``zYYMMDDhhmm`` / ``zYYMMDDhhmmss``: VDEW, ``z`` = 0 normal (winter) time,
  1 summer time, 2 UTC (profile headers, R5 requests, MT174 ``C.51.2`` events);
* ``YYMMDDhhmmssX``: DSMR, X = ``W`` winter or ``S`` summer;
* ``YYMMDDhhmm`` / ``YYMMDDhhmmss`` without a flag (maximum-demand stamps);
* separate date and time registers ``0.9.2`` / ``0.9.1``: ``YYMMDD`` or ``zYYMMDD``,
  ``hhmmss`` or ``zhhmmss`` (the leading digit is the same season flag: 0 in an
  MT174 January date, 1 in EMH August dates and times), or ``YY-MM-DD`` and
  ``hh:mm:ss`` (Landis+Gyr ZMD).

Two-digit years follow the POSIX ``%y`` rule (69..99 are 19xx, 00..68 are 20xx), so
the DSMR placeholder ``700101010000W`` reads as 1970, the epoch it stands for.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import InvalidMessageError

__all__ = [
    "MeterTime",
    "Season",
    "Value",
    "combine_meter_time",
    "format_meter_time",
    "parse_meter_time",
]

# [0-9], not \d: \d also matches non-ASCII digits, which int() would then accept.
_NUMBER_RE = re.compile(r" *([+-]?) *([0-9]+(?:[.,][0-9]*)?|[.,][0-9]+) *")


class Season(enum.Enum):
    """The daylight-saving flag a meter attaches to a time stamp (VDEW digit ``z``)."""

    NORMAL = "0"
    """Normal (winter, standard) time; DSMR ``W``."""
    SUMMER = "1"
    """Summer (daylight-saving) time; DSMR ``S``."""
    UTC = "2"
    """The stamp is UTC."""
    UNKNOWN = ""
    """The form carries no flag."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Value:
    """One bracket group of a data set.

    ``text`` is the value as received, spaces and all; ``unit`` is ``None`` when the
    bracket has none. A bracket with ``&`` keeps its whole content in ``text`` and
    each ``&``-separated piece in ``parts``; a plain value has no parts.
    ``timestamp_text`` holds what follows the unit after a space (Sanxing).

    Nothing is validated when a value is built: the parser makes thousands of them
    from text that already obeys the rules. ``format_data_block`` checks what it
    writes.
    """

    text: str
    unit: str | None = None
    parts: tuple[Value, ...] = ()
    timestamp_text: str | None = None

    @classmethod
    def parse(cls, content: str) -> Value:
        """The value of the text between ``(`` and ``)``.

        The unit is what follows the first ``*``, without the spaces around it; an
        empty one is no unit. Text after a space in it is ``timestamp_text``.
        """
        if "&" in content:
            return _value(content, None, tuple([_simple_value(p) for p in content.split("&")]))
        return _simple_value(content)

    @classmethod
    def join(cls, parts: tuple[Value, ...]) -> Value:
        """The ``&``-joined value made of ``parts`` (at least two plain values)."""
        if len(parts) < 2 or any(p.parts for p in parts):
            raise InvalidMessageError("parts", "at least two plain values")
        return cls(text="&".join(p.encode() for p in parts), parts=parts)

    @property
    def decimal(self) -> Decimal | None:
        """The number the text holds, or ``None`` for text that is not a number.

        Accepts surrounding spaces, a sign (or a space in its place) and a decimal
        point or comma. Hex (``0C69``), dates and empty values are not numbers;
        all-digit text is, even where it means something else (a stamp, a serial).
        """
        match = _NUMBER_RE.fullmatch(self.text)
        if match is None:
            return None
        sign, digits = match.groups()
        return Decimal(sign + digits.replace(",", "."))

    @property
    def timestamp(self) -> MeterTime | None:
        """The time in ``timestamp_text``, when there is one and it parses."""
        return None if self.timestamp_text is None else parse_meter_time(self.timestamp_text)

    def encode(self) -> str:
        """The text between the brackets that ``parse`` reads back as this value."""
        if self.parts:
            return self.text
        out = self.text
        if self.unit is not None:
            out = f"{out}*{self.unit}"
            if self.timestamp_text is not None:
                out = f"{out} {self.timestamp_text}"
        return out


class _ValueSlots:
    """``Value``'s memory layout without its frozen ``__setattr__``.

    The parser builds thousands of values: it fills one of these with plain
    attribute stores and then retypes it to ``Value`` (``__class__`` assignment,
    allowed between classes of the same layout). That costs a fifth of the frozen
    dataclass ``__init__``, half of ``object.__new__`` and a slot descriptor call per
    field, and leaves an ordinary, immutable ``Value``. Were the layouts ever to
    differ, the assignment would raise ``TypeError`` at once.
    """

    __slots__ = Value.__slots__


new_value_slots: Callable[[], Any] = _ValueSlots
"""A blank ``_ValueSlots``: set ``text``, ``unit``, ``parts``, ``timestamp_text``, then
``__class__ = Value``. Typed ``Any`` because it is a ``Value`` only once retyped."""


def _value(
    text: str, unit: str | None = None, parts: tuple[Value, ...] = (), stamp: str | None = None
) -> Value:
    value = new_value_slots()
    value.text = text
    value.unit = unit
    value.parts = parts
    value.timestamp_text = stamp
    value.__class__ = Value
    built: Value = value
    return built


def _simple_value(content: str) -> Value:
    # Only the first '*' separates: values cannot hold one (clause 6.6). This runs
    # for every distinct bracket content of a readout, hence the inlined _value.
    text, _, unit = content.partition("*")
    stamp = None
    if " " in unit:
        unit = unit.strip(" ")
        unit, _, after = unit.partition(" ")
        if after:
            stamp = after.lstrip(" ")
    value = new_value_slots()
    value.text = text
    value.unit = unit or None
    value.parts = ()
    value.timestamp_text = stamp
    value.__class__ = Value
    built: Value = value
    return built


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterTime:
    """A time stamp as the meter wrote it: naive wall-clock time plus its season flag."""

    datetime: dt.datetime
    season: Season = Season.UNKNOWN

    def __post_init__(self) -> None:
        if self.datetime.tzinfo is not None:
            raise InvalidMessageError("datetime", "meter time is naive wall-clock time")

    def to_datetime(self, tz: dt.tzinfo) -> dt.datetime:
        """The moment as an aware datetime in ``tz``, the meter's time zone.

        The season flag settles the hour that occurs twice when clocks go back:
        SUMMER picks the daylight-saving reading, NORMAL the standard one. Without a
        flag the earlier reading is taken (``fold=0``). A UTC stamp is converted.
        """
        if self.season is Season.UTC:
            return self.datetime.replace(tzinfo=dt.UTC).astimezone(tz)
        if self.season is Season.UNKNOWN:
            return self.datetime.replace(tzinfo=tz)
        want_dst = self.season is Season.SUMMER
        for fold in (0, 1):
            candidate = self.datetime.replace(tzinfo=tz, fold=fold)
            if bool(candidate.dst()) == want_dst:
                return candidate
        # The flag disagrees with the zone (or the zone has no DST): trust the zone.
        return self.datetime.replace(tzinfo=tz)

    @classmethod
    def from_datetime(cls, moment: dt.datetime, tz: dt.tzinfo) -> MeterTime:
        """The meter's view of an aware ``moment``: wall time in ``tz`` and its flag."""
        if moment.tzinfo is None:
            raise InvalidMessageError("moment", "needs a time zone")
        local = moment.astimezone(tz)
        season = Season.SUMMER if local.dst() else Season.NORMAL
        return cls(datetime=local.replace(tzinfo=None, fold=0), season=season)


_VDEW_RE = re.compile(r"([012])([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?")
_DSMR_RE = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([WS])")
_PLAIN_RE = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?")
_DASHED_RE = re.compile(
    r"([0-9]{4}|[0-9]{2})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?"
)
_DATE_RE = re.compile(
    r"([012])?([0-9]{2})([0-9]{2})([0-9]{2})|([0-9]{4}|[0-9]{2})-([0-9]{2})-([0-9]{2})"
)
_TIME_RE = re.compile(r"([012])?([0-9]{2})([0-9]{2})([0-9]{2})|([0-9]{2}):([0-9]{2}):([0-9]{2})")
_FLAGS = {"0": Season.NORMAL, "1": Season.SUMMER, "2": Season.UTC}
_DSMR_FLAGS = {"W": Season.NORMAL, "S": Season.SUMMER}
_MIN_YEAR, _MAX_YEAR = 1969, 2068


def _year(text: str) -> int:
    year = int(text)
    if len(text) > 2:
        return year
    return year + (1900 if year >= _MIN_YEAR % 100 else 2000)


def _build(season: Season, fields: Sequence[Any]) -> MeterTime | None:
    """A MeterTime from year, month, day, hour, minute and (optional) second digits."""
    year, month, day, hour, minute, second = fields
    try:
        moment = dt.datetime(  # noqa: DTZ001  # meter time is naive wall-clock time
            _year(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )
    except ValueError:
        return None
    return MeterTime(datetime=moment, season=season)


def parse_meter_time(text: str) -> MeterTime | None:
    """The time stamp in ``text``, or ``None`` if it is not one or is impossible.

    Forms: ``zYYMMDDhhmm``, ``zYYMMDDhhmmss``, ``YYMMDDhhmmssW``/``S``, ``YYMMDDhhmm``,
    ``YYMMDDhhmmss`` and ``[YY]YY-MM-DD hh:mm[:ss]``; spaces around are ignored.
    """
    text = text.strip(" ")
    size = len(text)
    if size in (11, 13):
        match = _VDEW_RE.fullmatch(text)
        if match is not None:
            return _build(_FLAGS[match[1]], match.groups()[1:])
        match = _DSMR_RE.fullmatch(text)
        if match is not None:
            return _build(_DSMR_FLAGS[match[7]], match.groups()[:6])
    elif size in (10, 12):
        match = _PLAIN_RE.fullmatch(text)
        if match is not None:
            return _build(Season.UNKNOWN, match.groups())
    match = _DASHED_RE.fullmatch(text)
    if match is not None:
        return _build(Season.UNKNOWN, match.groups())
    return None


def combine_meter_time(date_text: str, time_text: str) -> MeterTime | None:
    """The stamp told by a date register (``0.9.2``) and a time register (``0.9.1``).

    Dates: ``YYMMDD``, ``zYYMMDD``, ``YY-MM-DD``, ``YYYY-MM-DD``; times: ``hhmmss``,
    ``zhhmmss``, ``hh:mm:ss``. The time's season flag wins over the date's; without
    either the season is UNKNOWN. ``None`` when either part does not parse.
    """
    date = _DATE_RE.fullmatch(date_text.strip(" "))
    time = _TIME_RE.fullmatch(time_text.strip(" "))
    if date is None or time is None:
        return None
    d_flag, *d_digits = date.groups()[:4]
    t_flag, *t_digits = time.groups()[:4]
    d_fields = d_digits if d_digits[0] is not None else list(date.groups()[4:])
    t_fields = t_digits if t_digits[0] is not None else list(time.groups()[4:])
    flag = t_flag or d_flag
    season = _FLAGS[flag] if flag else Season.UNKNOWN
    return _build(season, (*d_fields, *t_fields))


def format_meter_time(moment: dt.datetime, season: Season) -> str:
    """``zYYMMDDhhmm`` for an R5/R6 request; seconds are dropped.

    ``moment`` is read as wall-clock time (any tzinfo is ignored); the season must be
    a real flag, since the meter needs one to place the autumn hour.
    """
    if season is Season.UNKNOWN:
        raise InvalidMessageError("season", "a request needs NORMAL, SUMMER or UTC")
    if not _MIN_YEAR <= moment.year <= _MAX_YEAR:
        raise InvalidMessageError("moment", f"year {moment.year} has no two-digit form")
    return f"{season.value}{moment:%y%m%d%H%M}"
