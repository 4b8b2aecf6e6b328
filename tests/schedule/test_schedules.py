"""Schedules as pure functions of time: alignment, DST, the rules for intervals."""

from __future__ import annotations

import datetime as dt

import pytest

from poller.schedule import (
    CronSchedule,
    DailySchedule,
    EverySchedule,
    format_duration,
    get_zone,
    parse_duration,
    parse_time_of_day,
)

BERLIN = get_zone("Europe/Berlin")
UTC = dt.UTC
M = dt.timedelta(minutes=1)


def local(schedule, after, count):
    return [s.astimezone(schedule.timezone).isoformat() for s in schedule.upcoming(after, count)]


def test_every_15m_falls_on_the_quarter_hours():
    every = EverySchedule(15 * M, BERLIN)
    after = dt.datetime(2026, 11, 29, 10, 7, 13, tzinfo=BERLIN)
    assert local(every, after, 4) == [
        "2026-11-29T10:15:00+01:00",
        "2026-11-29T10:30:00+01:00",
        "2026-11-29T10:45:00+01:00",
        "2026-11-29T11:00:00+01:00",
    ]


def test_next_slot_is_strictly_after_a_slot():
    every = EverySchedule(15 * M, UTC)
    slot = dt.datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    assert every.next_slot(slot) == slot + 15 * M


def test_slots_are_given_in_utc_so_they_compare_across_the_repeated_hour():
    slots = EverySchedule(30 * M, BERLIN).upcoming(
        dt.datetime(2026, 10, 25, 1, 50, tzinfo=BERLIN), 4
    )
    assert all(s.tzinfo is UTC for s in slots)
    assert slots == sorted(slots)
    assert len(set(slots)) == 4


def test_offset_shifts_every_slot():
    every = EverySchedule(dt.timedelta(hours=1), BERLIN, offset=5 * M)
    after = dt.datetime(2026, 11, 29, 10, 5, tzinfo=BERLIN)
    assert local(every, after, 2) == ["2026-11-29T11:05:00+01:00", "2026-11-29T12:05:00+01:00"]


def test_alignment_is_to_local_time_in_a_zone_with_a_quarter_hour_offset():
    kathmandu = get_zone("Asia/Kathmandu")  # UTC+05:45
    every = EverySchedule(20 * M, kathmandu)
    assert local(every, dt.datetime(2026, 1, 1, tzinfo=UTC), 3) == [
        "2026-01-01T06:00:00+05:45",
        "2026-01-01T06:20:00+05:45",
        "2026-01-01T06:40:00+05:45",
    ]


def test_autumn_repeated_hour_is_read_twice_in_real_time():
    every = EverySchedule(30 * M, BERLIN)
    assert local(every, dt.datetime(2026, 10, 25, 1, 50, tzinfo=BERLIN), 6) == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]


def test_spring_gap_leaves_no_hole_in_real_time():
    slots = EverySchedule(15 * M, BERLIN).upcoming(
        dt.datetime(2026, 3, 29, 1, 40, tzinfo=BERLIN), 3
    )
    assert [s.astimezone(BERLIN).strftime("%H:%M") for s in slots] == ["01:45", "03:00", "03:15"]
    assert slots[1] - slots[0] == 15 * M


def test_long_intervals_are_times_of_day_once_a_day():
    every = EverySchedule(dt.timedelta(hours=2), BERLIN)
    assert local(every, dt.datetime(2026, 3, 28, 23, 0, tzinfo=BERLIN), 3) == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:00 does not exist: when the clocks jump
        "2026-03-29T04:00:00+02:00",
    ]
    assert local(every, dt.datetime(2026, 10, 24, 23, 0, tzinfo=BERLIN), 3) == [
        "2026-10-25T00:00:00+02:00",
        "2026-10-25T02:00:00+02:00",  # the repeated 02:00 runs once
        "2026-10-25T04:00:00+01:00",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("7m", "does not divide the hour"),
        ("45m", "does not divide the hour"),
        ("5h", "does not divide the day"),
        ("2d", "does not divide the day"),
        ("0s", "must be positive"),
        ("1500ms", "whole seconds"),
    ],
)
def test_intervals_that_do_not_divide_evenly_are_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        EverySchedule(parse_duration(text))


def test_offset_must_be_less_than_the_interval():
    with pytest.raises(ValueError, match="less than the interval"):
        EverySchedule(15 * M, offset=15 * M)


def test_daily_runs_at_its_time_and_across_the_change_of_clocks():
    daily = DailySchedule(dt.time(2, 30), BERLIN)
    assert local(daily, dt.datetime(2026, 3, 28, 3, 0, tzinfo=BERLIN), 2) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert local(daily, dt.datetime(2026, 10, 24, 3, 0, tzinfo=BERLIN), 2) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_cron_follows_croniter_and_ticks_through_the_repeated_hour():
    cron = CronSchedule("0 * * * *", BERLIN)
    assert local(cron, dt.datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN), 4) == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


@pytest.mark.parametrize("expression", ["61 * * * *", "* * * *", "*/15 * * * * *", "x * * * *"])
def test_bad_cron_expressions_are_refused(expression):
    with pytest.raises(ValueError, match="cron expression"):
        CronSchedule(expression)


def test_slots_between_is_open_on_the_left_closed_on_the_right():
    every = EverySchedule(15 * M, UTC)
    start = dt.datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert list(every.slots_between(start, start + 30 * M)) == [start + 15 * M, start + 30 * M]


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        EverySchedule(15 * M).next_slot(dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", 15 * M),
        ("1h30m", 90 * M),
        ("500ms", dt.timedelta(milliseconds=500)),
        ("1.5s", dt.timedelta(seconds=1.5)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["15", "m", "15 minutes", "-5m", ""])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_times_of_day():
    assert parse_time_of_day("00:05") == dt.time(0, 5)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time_of_day("24:00")
