"""Properties of every schedule over many zones, intervals and moments."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from poller.schedule import CronSchedule, DailySchedule, EverySchedule, get_zone

# Zones whose changes of clocks are whole hours, and two that are not.
HOURLY_SHIFT_ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tehran",
]
ODD_ZONES = ["Australia/Lord_Howe", "Asia/Kathmandu"]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SHORT_INTERVALS = [1, 5, 30, 60, 90, 120, 300, 600, 900, 1200, 1800, 3600]  # seconds, divide 1 h
LONG_INTERVALS = [2, 3, 4, 6, 8, 12, 24]  # hours, divide the day

moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2037, 12, 31),
    timezones=st.just(dt.UTC),
)


@st.composite
def short_schedules(draw, zones=HOURLY_SHIFT_ZONES + ODD_ZONES):
    interval = dt.timedelta(seconds=draw(st.sampled_from(SHORT_INTERVALS)))
    offset = dt.timedelta(seconds=draw(st.integers(0, int(interval.total_seconds()) - 1)))
    return EverySchedule(interval, get_zone(draw(st.sampled_from(zones))), offset)


def local_phase(schedule: EverySchedule, slot: dt.datetime) -> dt.timedelta:
    offset = slot.astimezone(schedule.tz).utcoffset()
    assert offset is not None
    return (slot - EPOCH + offset) % schedule.interval


@given(short_schedules(), moments)
def test_short_interval_slots_are_aligned_and_after(schedule, after):
    slot = schedule.next_slot(after)
    assert slot > after
    assert local_phase(schedule, slot) == schedule.offset


@given(short_schedules(zones=HOURLY_SHIFT_ZONES), moments)
def test_short_interval_slots_skip_nothing_across_dst(schedule, after):
    # Every change of clocks here is whole hours, a multiple of every interval: the
    # slots are exactly one interval apart in real time, whatever the local clock did.
    slots = schedule.upcoming(after, 6)
    assert 0 < (slots[0] - after).total_seconds() <= schedule.interval.total_seconds()
    assert all(b - a == schedule.interval for a, b in itertools.pairwise(slots))


@given(short_schedules(zones=HOURLY_SHIFT_ZONES), moments)
def test_short_interval_slots_skip_nothing_around_real_transitions(schedule, after):
    # Moments right before a European or American change of clocks.
    year = after.year
    for night in (
        dt.datetime(year, 3, 29, 0, 55, tzinfo=dt.UTC),
        dt.datetime(year, 10, 25, 0, 55, tzinfo=dt.UTC),
    ):
        slots = schedule.upcoming(night, 10)
        assert all(b - a == schedule.interval for a, b in itertools.pairwise(slots))


@given(
    st.sampled_from(LONG_INTERVALS),
    st.sampled_from(HOURLY_SHIFT_ZONES + ODD_ZONES),
    moments,
)
def test_long_interval_slots_are_times_of_day_once_a_day(hours, zone_name, after):
    schedule = EverySchedule(dt.timedelta(hours=hours), get_zone(zone_name))
    slots = list(schedule.slots_between(after, after + dt.timedelta(days=3)))
    assert slots == sorted(set(slots))
    assert all(s > after for s in slots)
    per_day = 24 // hours
    # Three days hold between 3 and 4 days' worth of slots, less at most one per
    # change of clocks skipping a slot into another's moment.
    assert 3 * per_day - 2 <= len(slots) <= 3 * per_day + 1
    for slot in slots:
        local = slot.astimezone(schedule.tz)
        on_grid = local.minute == 0 and local.second == 0 and local.hour % hours == 0
        just_after_gap = (
            local.utcoffset() != (slot - dt.timedelta(hours=1)).astimezone(schedule.tz).utcoffset()
        )
        assert on_grid or just_after_gap


@given(short_schedules(), moments, st.integers(0, 3 * 86400))
def test_slots_between_matches_next_slot(schedule, start, span):
    end = start + dt.timedelta(seconds=min(span, 400 * schedule.interval.total_seconds()))
    slots = list(schedule.slots_between(start, end))
    assert all(start < s <= end for s in slots)
    expected, slot = [], schedule.next_slot(start)
    while slot <= end:
        expected.append(slot)
        slot = schedule.next_slot(slot)
    assert slots == expected


@settings(max_examples=60)
@given(st.sampled_from([1, 5, 15, 30]), st.sampled_from(HOURLY_SHIFT_ZONES), moments)
def test_cron_every_n_minutes_agrees_with_every(minutes, zone_name, after):
    zone = get_zone(zone_name)
    cron = CronSchedule(f"*/{minutes} * * * *", zone)
    every = EverySchedule(dt.timedelta(minutes=minutes), zone)
    assert cron.upcoming(after, 5) == every.upcoming(after, 5)


@settings(max_examples=60)
@given(
    st.sampled_from(["*/15 * * * *", "0 * * * *", "30 2 * * *", "5 0 1 * *", "0 9-17 * * 1-5"]),
    st.sampled_from(HOURLY_SHIFT_ZONES + ODD_ZONES),
    moments,
)
def test_cron_slots_strictly_increase(expression, zone_name, after):
    slots = CronSchedule(expression, get_zone(zone_name)).upcoming(after, 4)
    assert after < slots[0]
    assert all(a < b for a, b in itertools.pairwise(slots))


@given(st.times(), st.sampled_from(HOURLY_SHIFT_ZONES + ODD_ZONES), moments)
def test_daily_runs_once_a_day(at, zone_name, after):
    daily = DailySchedule(at.replace(microsecond=0), get_zone(zone_name))
    slots = daily.upcoming(after, 3)
    assert after < slots[0] <= after + dt.timedelta(days=1, hours=2)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(dt.timedelta(hours=21) <= g <= dt.timedelta(hours=27) for g in gaps)
