"""Meter values as a pure function of (meter spec, moment).

Theory of operation
-------------------
Each channel's power is piecewise constant over quarter hours ("slots"). A slot's
power is the channel's mean power times the hour's factor of its daily load curve,
times a per-day level and a per-slot variation drawn from a generator seeded with
(meter seed, channel, day): the same meter shows the same history whenever and in
whatever order it is asked. Energy is the integral of that power since installation,
so energy registers only grow; a load-profile record is the mean power of its
interval's slots; demand registers are interval means; the clock registers show the
moment asked about. Day totals are cached, so a reading costs one lookup per day
since installation.

The meter keeps standard time (UTC plus a fixed offset) all year, so the season
digit z of its time stamps is always 0.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from ._model import (
    Demand,
    Energy,
    Fixed,
    Instant,
    LoadCurve,
    MaxDemand,
    MeterClock,
    MeterSpec,
    Register,
)

__all__ = [
    "DataLine",
    "find_register",
    "local_time",
    "logbook_lines",
    "profile_lines",
    "readout_lines",
    "register_line",
]

SLOT_SECONDS = 900
SLOTS_PER_DAY = 96
_SLOT_HOURS = SLOT_SECONDS / 3600


@dataclass(frozen=True, slots=True)
class DataLine:
    """One data set: an address and its ``(value*unit)`` groups."""

    address: str
    values: tuple[tuple[str, str | None], ...]


def local_time(spec: MeterSpec, moment: datetime) -> datetime:
    """``moment`` on the meter's clock."""
    return moment.astimezone(timezone(timedelta(minutes=spec.utc_offset_minutes)))


@lru_cache(maxsize=8192)
def _day_slots(curve: LoadCurve, seed: int, channel: str, day: int) -> tuple[float, ...]:
    rng = random.Random(f"{seed}:{channel}:{day}")
    level = 1 + curve.day_jitter * (2 * rng.random() - 1)
    return tuple(
        curve.mean_kw
        * level
        * curve.hourly[i // 4]
        * (1 + curve.slot_jitter * (2 * rng.random() - 1))
        for i in range(SLOTS_PER_DAY)
    )


def _in_tariff(slot: int, tariff: int | None, hours: tuple[int, int]) -> bool:
    if tariff is None:
        return True
    day = hours[0] <= slot // 4 < hours[1]
    return day if tariff == 1 else not day


@lru_cache(maxsize=8192)
def _day_energy(
    curve: LoadCurve, seed: int, channel: str, day: int, tariff: int | None, hours: tuple[int, int]
) -> float:
    slots = _day_slots(curve, seed, channel, day)
    return sum(p for i, p in enumerate(slots) if _in_tariff(i, tariff, hours)) * _SLOT_HOURS


class _Flow:
    """One channel of one meter, on the meter's local clock."""

    def __init__(self, spec: MeterSpec, channel: str) -> None:
        self.spec = spec
        self.name = channel
        self.curve = spec.channel(channel).curve

    def slots(self, day: date) -> tuple[float, ...]:
        return _day_slots(self.curve, self.spec.seed, self.name, day.toordinal())

    def power(self, when: datetime) -> float:
        """Mean power (kW) of the slot ``when`` falls in."""
        return self.slots(when.date())[_seconds_into_day(when) // SLOT_SECONDS]

    def mean_power(self, start: datetime, end: datetime) -> float:
        """Mean power over ``[start, end)``, both on slot boundaries of one day."""
        slots = self.slots(start.date())
        first = _seconds_into_day(start) // SLOT_SECONDS
        count = max(1, round((end - start).total_seconds()) // SLOT_SECONDS)
        return sum(slots[first : first + count]) / count

    def _cumulative(self, when: datetime, tariff: int | None) -> float:
        """kWh from the start of the installation day up to ``when``."""
        start = local_time(self.spec, self.spec.installed).date()
        hours = self.spec.tariff_hours
        seed = self.spec.seed
        total = sum(
            _day_energy(self.curve, seed, self.name, day, tariff, hours)
            for day in range(start.toordinal(), when.date().toordinal())
        )
        into = _seconds_into_day(when)
        slots = self.slots(when.date())
        whole = into // SLOT_SECONDS
        done = sum(p for i, p in enumerate(slots[:whole]) if _in_tariff(i, tariff, hours))
        total += done * _SLOT_HOURS
        partial = (into - whole * SLOT_SECONDS) / 3600
        if whole < SLOTS_PER_DAY and _in_tariff(whole, tariff, hours):
            total += slots[whole] * partial
        return total

    def energy(self, when: datetime, tariff: int | None) -> float:
        installed = local_time(self.spec, self.spec.installed)
        if when <= installed:
            return 0.0
        return self._cumulative(when, tariff) - self._cumulative(installed, tariff)


def _seconds_into_day(when: datetime) -> int:
    return when.hour * 3600 + when.minute * 60 + when.second


def _floor(value: float, decimals: int) -> float:
    # Meters truncate: a displayed register never runs ahead of the energy measured.
    scale = 10.0**decimals
    return math.floor(value * scale + 1e-9) / scale


def _number(value: float, decimals: int, digits: int | None = None) -> str:
    width = 0 if digits is None else digits + (decimals + 1 if decimals else 0)
    return f"{_floor(value, decimals):0{width}.{decimals}f}"


def _interval_start(when: datetime, minutes: int) -> datetime:
    """Start of the interval ``when`` falls in."""
    into = _seconds_into_day(when) // 60
    midnight = datetime.combine(when.date(), time(), tzinfo=when.tzinfo)
    return midnight + timedelta(minutes=into - into % minutes)


def _demand_minutes(spec: MeterSpec) -> int:
    return spec.load_profile.interval_minutes if spec.load_profile else 15


def register_line(spec: MeterSpec, register: Register, moment: datetime) -> DataLine:
    """The data set of ``register`` at ``moment``."""
    now = local_time(spec, moment)
    source = register.source
    values: tuple[tuple[str, str | None], ...]
    if isinstance(source, Energy):
        kwh = source.initial + _Flow(spec, source.channel).energy(now, source.tariff)
        values = ((_number(kwh, source.decimals, source.digits), source.unit),)
    elif isinstance(source, Demand):
        minutes = _demand_minutes(spec)
        end = _interval_start(now, minutes)
        start = end - timedelta(minutes=minutes)
        kw = _Flow(spec, source.channel).mean_power(start, end)
        values = ((_number(kw, source.decimals, 2), source.unit),)
    elif isinstance(source, MaxDemand):
        values = _max_demand(spec, source, now)
    elif isinstance(source, Instant):
        values = ((_instant(spec, source, now), source.unit),)
    elif isinstance(source, MeterClock):
        text = now.strftime("%H%M%S" if source.part == "time" else "%y%m%d")
        values = ((text, None),)
    else:
        assert isinstance(source, Fixed)
        values = ((source.value, source.unit),)
    return DataLine(register.code, values)


def _max_demand(
    spec: MeterSpec, source: MaxDemand, now: datetime
) -> tuple[tuple[str, str | None], ...]:
    minutes = _demand_minutes(spec)
    flow = _Flow(spec, source.channel)
    month = datetime.combine(now.date().replace(day=1), time(), tzinfo=now.tzinfo)
    installed = local_time(spec, spec.installed)
    start = max(month, _interval_start(installed, minutes) + timedelta(minutes=minutes))
    best, best_end = 0.0, None
    end = start + timedelta(minutes=minutes)
    while end <= now:
        kw = flow.mean_power(end - timedelta(minutes=minutes), end)
        if kw > best:
            best, best_end = kw, end
        end += timedelta(minutes=minutes)
    stamp = best_end.strftime("%y%m%d%H%M") if best_end else "0000000000"
    return ((_number(best, source.decimals, 2), source.unit), (stamp, None))


def _instant(spec: MeterSpec, source: Instant, now: datetime) -> str:
    minute = int(now.timestamp()) // 60
    rng = random.Random(f"{spec.seed}:{source.quantity}:{source.phase}:{minute}")
    if source.quantity == "voltage":
        return _number(230 + rng.uniform(-4, 4), source.decimals)
    if source.quantity == "frequency":
        return _number(50 + rng.uniform(-0.03, 0.03), source.decimals)
    kw = _Flow(spec, source.channel).power(now)
    return _number(kw * 1000 / 230 / 3 * (1 + rng.uniform(-0.05, 0.05)), source.decimals)


def readout_lines(spec: MeterSpec, moment: datetime) -> list[DataLine]:
    """The data sets of a readout, in the meter's order."""
    return [register_line(spec, r, moment) for r in spec.registers if r.readout]


_MEDIUM_PREFIX = re.compile(r"^\d+-\d+:")
_STORAGE_SUFFIX = re.compile(r"\*255$")


def _plain_code(code: str) -> str:
    return _STORAGE_SUFFIX.sub("", _MEDIUM_PREFIX.sub("", code))


def find_register(spec: MeterSpec, code: str) -> Register | None:
    """The register a client names, with or without the ``1-0:`` and ``*255`` parts."""
    for register in spec.registers:
        if register.code == code:
            return register
    plain = _plain_code(code)
    for register in spec.registers:
        if _plain_code(register.code) == plain:
            return register
    return None


def meter_stamp(when: datetime, *, seconds: bool = True) -> str:
    """``zYYMMDDhhmm[ss]`` with z = 0: the meter keeps standard time."""
    return "0" + when.strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M")


def _records(
    spec: MeterSpec, now: datetime, depth_days: int, minutes: int
) -> tuple[datetime, datetime]:
    """First and last record stamp (interval ends) the meter still holds at ``now``."""
    installed = local_time(spec, spec.installed)
    first = _interval_start(installed, minutes) + timedelta(minutes=minutes)
    first = max(first, _interval_start(now - timedelta(days=depth_days), minutes))
    return first, _interval_start(now, minutes)


def profile_lines(
    spec: MeterSpec, moment: datetime, since: datetime | None, until: datetime | None
) -> list[str] | None:
    """The ``P.01`` reply lines for records stamped in ``[since, until]``, or None."""
    profile = spec.load_profile
    if profile is None:
        return None
    minutes = profile.interval_minutes
    first, last = _records(spec, local_time(spec, moment), profile.depth_days, minutes)
    if since is not None:
        since = local_time(spec, since)
        first = max(
            first,
            _interval_start(since + timedelta(minutes=minutes) - timedelta(seconds=1), minutes),
        )
    if until is not None:
        last = min(last, _interval_start(local_time(spec, until), minutes))
    if first > last:
        return None
    columns = "".join(f"({c.code})({c.unit})" for c in profile.channels)
    header = (
        f"{profile.code}({meter_stamp(first)})({profile.status})({minutes})"
        f"({len(profile.channels)}){columns}"
    )
    flows = [_Flow(spec, c.channel) for c in profile.channels]
    lines = [header]
    step = timedelta(minutes=minutes)
    end = first
    while end <= last:
        start = end - step
        lines.append(
            "".join(
                f"({_number(flow.mean_power(start, end), c.decimals)})"
                for flow, c in zip(flows, profile.channels, strict=True)
            )
        )
        end += step
    return lines


# Status words of the logbook, after the shape of the EMH LZQJ logbook in the corpus:
# 0x80 power down, 0x40 power back, 0x10 end of a billing period (midnight of the 1st).
POWER_DOWN = "00000080"
POWER_UP = "00000040"
BILLING_END = "00000010"


def _events(spec: MeterSpec, day: date) -> Iterator[tuple[datetime, str]]:
    assert spec.logbook is not None
    tz = timezone(timedelta(minutes=spec.utc_offset_minutes))
    midnight = datetime.combine(day, time(), tzinfo=tz)
    if day.day == 1:
        yield midnight, BILLING_END
    rng = random.Random(f"{spec.seed}:log:{day.toordinal()}")
    if rng.random() < spec.logbook.outages_per_month / 30:
        down = midnight + timedelta(seconds=rng.randrange(86400 - 7200))
        yield down, POWER_DOWN
        yield down + timedelta(seconds=rng.randrange(20, 7200)), POWER_UP


def logbook_lines(
    spec: MeterSpec, moment: datetime, since: datetime | None, until: datetime | None
) -> list[str] | None:
    """The ``P.98`` reply lines for events in ``[since, until]``, or None."""
    book = spec.logbook
    if book is None:
        return None
    now = local_time(spec, moment)
    low = max(local_time(spec, spec.installed), now - timedelta(days=book.depth_days))
    if since is not None:
        low = max(low, local_time(spec, since))
    high = now if until is None else min(now, local_time(spec, until))
    lines = []
    day = low.date()
    while day <= high.date():
        for stamp, status in _events(spec, day):
            if low <= stamp <= high:
                lines.append(f"{book.code}({meter_stamp(stamp)})({status})()(0)")
        day += timedelta(days=1)
    return lines or None
