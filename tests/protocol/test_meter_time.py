"""Meter time stamps: every spelling in the corpus, the season flag, and request text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    InvalidMessageError,
    MeterTime,
    ProtocolError,
    Season,
    combine_meter_time,
    format_meter_time,
    parse_meter_time,
)

NORMAL, SUMMER, UTC, UNKNOWN = Season.NORMAL, Season.SUMMER, Season.UTC, Season.UNKNOWN


def _berlin() -> ZoneInfo:
    try:
        return ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine
        pytest.skip("no time zone database")


@pytest.fixture
def berlin() -> ZoneInfo:
    return _berlin()


@pytest.mark.parametrize(
    ("text", "expected", "season"),
    [
        # profile header, MetCom (metcom_mcs_p01_load_profile.txt)
        ("1220401010000", dt.datetime(2022, 4, 1, 1, 0, 0), SUMMER),
        # status-80 profile, November, winter flag
        ("0231113101500", dt.datetime(2023, 11, 13, 10, 15, 0), NORMAL),
        # R5 request bounds in the MetCom transcript
        ("01808130001", dt.datetime(2018, 8, 13, 0, 1), NORMAL),
        ("21808191600", dt.datetime(2018, 8, 19, 16, 0), UTC),
        # MT174 event stamp 0-0:C.51.2*255(1140716101053)
        ("1140716101053", dt.datetime(2014, 7, 16, 10, 10, 53), SUMMER),
        # Sanxing, the stamp after the unit
        ("1250625171500", dt.datetime(2025, 6, 25, 17, 15, 0), SUMMER),
        # DSMR
        ("230605105510S", dt.datetime(2023, 6, 5, 10, 55, 10), SUMMER),
        ("161113205757W", dt.datetime(2016, 11, 13, 20, 57, 57), NORMAL),
        ("000104180320W", dt.datetime(2000, 1, 4, 18, 3, 20), NORMAL),
        ("000101000001W", dt.datetime(2000, 1, 1, 0, 0, 1), NORMAL),
        # the DSMR "no M-Bus device" placeholder is the epoch (POSIX %y pivot)
        ("700101010000W", dt.datetime(1970, 1, 1, 1, 0, 0), NORMAL),
        # maximum demand stamps 1.6.1(0.50262*kW)(2211120730)
        ("2211120730", dt.datetime(2022, 11, 12, 7, 30), UNKNOWN),
        ("1703100930", dt.datetime(2017, 3, 10, 9, 30), UNKNOWN),
        # DSMR 3 gas header 0-1:24.3.0(130110100000) and a W2 test vector
        ("130110100000", dt.datetime(2013, 1, 10, 10, 0, 0), UNKNOWN),
        ("910324092239", dt.datetime(1991, 3, 24, 9, 22, 39), UNKNOWN),
        # Landis+Gyr ZMD billing stamp
        ("21-01-01 00:00", dt.datetime(2021, 1, 1, 0, 0), UNKNOWN),
        ("2017-01-18 01:36:47", dt.datetime(2017, 1, 18, 1, 36, 47), UNKNOWN),
        (" 2211120730 ", dt.datetime(2022, 11, 12, 7, 30), UNKNOWN),
    ],
)
def test_parse_meter_time(text: str, expected: dt.datetime, season: Season) -> None:
    assert parse_meter_time(text) == MeterTime(datetime=expected, season=season)


@pytest.mark.parametrize(
    "text",
    [
        "632525252525S",  # the impossible DSMR placeholder (Sagemcom, Fluvius)
        "632525252525W",
        "000001000001W",  # month 0
        "000100000001W",  # day 0
        "0230229000000",  # 2023-02-29
        "1220401240000",  # hour 24
        "1220401006000",  # minute 60
        "3220401010000",  # season digit 3
        "220401010000X",
        "22041201",
        "",
        "(ERROR)",
        "1.124",
        "0C69",
        "02792C83",
        "21-01-04",
        "\uff11220401010000",  # a full-width digit one in front
    ],
)
def test_impossible_or_foreign_text_is_none(text: str) -> None:
    assert parse_meter_time(text) is None


@pytest.mark.parametrize(
    ("date", "time", "expected", "season"),
    [
        ("0220127", "105644", dt.datetime(2022, 1, 27, 10, 56, 44), NORMAL),  # MT174
        ("0170318", "201455", dt.datetime(2017, 3, 18, 20, 14, 55), NORMAL),
        ("210528", "215658", dt.datetime(2021, 5, 28, 21, 56, 58), UNKNOWN),  # MT382
        ("1220826", "1235703", dt.datetime(2022, 8, 26, 23, 57, 3), SUMMER),  # EMH P.98
        ("0220826", "1235703", dt.datetime(2022, 8, 26, 23, 57, 3), SUMMER),  # time wins
        ("21-01-04", "23:16:43", dt.datetime(2021, 1, 4, 23, 16, 43), UNKNOWN),  # ZMD405
        ("2013-11-28", "01:36:47", dt.datetime(2013, 11, 28, 1, 36, 47), UNKNOWN),
    ],
)
def test_combine_date_and_time_registers(
    date: str, time: str, expected: dt.datetime, season: Season
) -> None:
    assert combine_meter_time(date, time) == MeterTime(datetime=expected, season=season)


@pytest.mark.parametrize(
    ("date", "time"),
    [("0221327", "105644"), ("0220127", "256000"), ("", "105644"), ("0220127", "10:56"), ("x", "")],
)
def test_combine_refuses_bad_parts(date: str, time: str) -> None:
    assert combine_meter_time(date, time) is None


def test_ambiguous_autumn_hour_follows_the_season_flag(berlin: ZoneInfo) -> None:
    # 2023-10-29 02:30 happens twice in Berlin: first at +02:00, then at +01:00.
    wall = dt.datetime(2023, 10, 29, 2, 30)
    summer = MeterTime(datetime=wall, season=SUMMER).to_datetime(berlin)
    normal = MeterTime(datetime=wall, season=NORMAL).to_datetime(berlin)
    unknown = MeterTime(datetime=wall, season=UNKNOWN).to_datetime(berlin)
    assert summer.utcoffset() == dt.timedelta(hours=2)
    assert normal.utcoffset() == dt.timedelta(hours=1)
    # Same-zone arithmetic and == ignore fold (PEP 495); compare instants in UTC.
    assert normal.astimezone(dt.UTC) - summer.astimezone(dt.UTC) == dt.timedelta(hours=1)
    assert unknown.utcoffset() == summer.utcoffset()  # no flag: the earlier reading


def test_unambiguous_times_ignore_a_wrong_flag(berlin: ZoneInfo) -> None:
    july = MeterTime(datetime=dt.datetime(2023, 7, 1, 12, 0), season=NORMAL).to_datetime(berlin)
    assert july.utcoffset() == dt.timedelta(hours=2)


def test_utc_stamp_is_converted(berlin: ZoneInfo) -> None:
    moment = MeterTime(datetime=dt.datetime(2023, 1, 1, 12, 0), season=UTC).to_datetime(berlin)
    assert moment.astimezone(dt.UTC) == dt.datetime(2023, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert moment.utcoffset() == dt.timedelta(hours=1)
    assert moment.hour == 13


def test_fixed_offset_zone() -> None:
    tz = dt.timezone(dt.timedelta(hours=1))
    moment = MeterTime(datetime=dt.datetime(2023, 7, 1, 12, 0), season=SUMMER).to_datetime(tz)
    assert moment == dt.datetime(2023, 7, 1, 11, 0, tzinfo=dt.UTC)


def test_from_datetime_gives_wall_time_and_flag(berlin: ZoneInfo) -> None:
    first = dt.datetime(2023, 10, 29, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    second = dt.datetime(2023, 10, 29, 1, 30, tzinfo=dt.UTC)  # 02:30 CET
    assert MeterTime.from_datetime(first, berlin) == MeterTime(
        datetime=dt.datetime(2023, 10, 29, 2, 30), season=SUMMER
    )
    assert MeterTime.from_datetime(second, berlin) == MeterTime(
        datetime=dt.datetime(2023, 10, 29, 2, 30), season=NORMAL
    )
    for moment in (first, second):
        back = MeterTime.from_datetime(moment, berlin).to_datetime(berlin)
        assert back.astimezone(dt.UTC) == moment
    with pytest.raises(InvalidMessageError):
        MeterTime.from_datetime(dt.datetime(2023, 1, 1), berlin)


def test_meter_time_is_naive() -> None:
    with pytest.raises(InvalidMessageError) as info:
        MeterTime(datetime=dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    assert info.value.field == "datetime"


def test_format_meter_time() -> None:
    assert format_meter_time(dt.datetime(2022, 4, 1, 1, 0, 59), SUMMER) == "12204010100"
    assert format_meter_time(dt.datetime(2018, 8, 13, 0, 1), NORMAL) == "01808130001"
    assert format_meter_time(dt.datetime(1999, 12, 31, 23, 59), UTC) == "29912312359"
    with pytest.raises(InvalidMessageError):
        format_meter_time(dt.datetime(2022, 4, 1), UNKNOWN)
    with pytest.raises(InvalidMessageError):
        format_meter_time(dt.datetime(2069, 1, 1), NORMAL)


_wall_times = st.datetimes(
    min_value=dt.datetime(1969, 1, 1), max_value=dt.datetime(2068, 12, 31, 23, 59, 59)
)
_flags = st.sampled_from([NORMAL, SUMMER, UTC])


@given(_wall_times, _flags)
def test_format_then_parse_round_trips(moment: dt.datetime, season: Season) -> None:
    text = format_meter_time(moment, season)
    assert len(text) == 11
    expected = MeterTime(datetime=moment.replace(second=0, microsecond=0), season=season)
    assert parse_meter_time(text) == expected


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2040, 12, 31),
        timezones=st.just(dt.UTC),
    )
)
def test_every_instant_survives_the_meter_clock(moment: dt.datetime) -> None:
    # Wall time plus flag is enough to get the instant back, the doubled hour included.
    berlin = _berlin()
    meter = MeterTime.from_datetime(moment, berlin)
    # In UTC: == between zones is never true for a time in the doubled hour (PEP 495).
    assert meter.to_datetime(berlin).astimezone(dt.UTC) == moment


_any_text = st.text() | st.binary().map(lambda b: b.decode("latin-1"))


@given(_any_text)
def test_parse_meter_time_never_raises(text: str) -> None:
    try:
        result = parse_meter_time(text)
    except ProtocolError:  # pragma: no cover - allowed by contract, never done
        return
    assert result is None or isinstance(result.datetime, dt.datetime)


@given(_any_text, _any_text)
def test_combine_meter_time_never_raises(date: str, time: str) -> None:
    result = combine_meter_time(date, time)
    assert result is None or result.datetime.tzinfo is None


@given(st.text(alphabet="0123456789WS-: ", max_size=16))
def test_digit_soup_never_raises(text: str) -> None:
    result = parse_meter_time(text)
    assert result is None or 1969 <= result.datetime.year <= 2068 or "-" in text
