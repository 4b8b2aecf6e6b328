"""Load profiles and logbooks (R5 replies to P.01 / P.98) and the R5 request text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    Channel,
    DataSet,
    InvalidMessageError,
    MeterTime,
    ObisCode,
    ProfileRecord,
    ProtocolError,
    Season,
    Value,
    format_data_block,
    parse_profile,
    profile_request,
    scan_profile,
)

SUMMER, NORMAL = Season.SUMMER, Season.NORMAL

# metcom_mcs_p01_load_profile_status80.txt, first three lines and two more records
STATUS80 = (
    "P.01(0231113101500)(80)(15)(6)(1-0:1.5.0)(kW)(1-0:2.5.0)(kW)(1-0:5.5.0)(kvar)"
    "(1-0:6.5.0)(kvar)(1-0:7.5.0)(kvar)(1-0:8.5.0)(kvar)\r\n"
    "(0.00000)(0.00086)(0.00000)(0.00000)(0.00006)(0.00000)\r\n"
    "P.01(0231113103000)(00)(15)(6)(1-0:1.5.0)(kW)(1-0:2.5.0)(kW)(1-0:5.5.0)(kvar)"
    "(1-0:6.5.0)(kvar)(1-0:7.5.0)(kvar)(1-0:8.5.0)(kvar)\r\n"
    "(0.00026)(0.00158)(0.00000)(0.00716)(0.00004)(0.00021)\r\n"
    "(0.25873)(0.00000)(0.00000)(0.00000)(0.00000)(0.04055)\r\n"
)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second)


def test_a_new_header_mid_profile_restarts_the_clock() -> None:
    records = parse_profile(STATUS80)
    assert [(r.time.datetime, r.status) for r in records] == [
        (at(2023, 11, 13, 10, 15), "80"),
        (at(2023, 11, 13, 10, 30), "00"),
        (at(2023, 11, 13, 10, 45), "00"),
    ]
    assert all(r.time.season is NORMAL for r in records)
    assert [r.status_code for r in records] == [0x80, 0, 0]
    first = records[0]
    assert first.profile == "P.01"
    assert first.interval == dt.timedelta(minutes=15)
    assert first.channels[0] == Channel(code="1-0:1.5.0", unit="kW")
    assert first.channels[0].obis == ObisCode(a=1, b=0, c=1, d=5, e=0)
    assert [c.unit for c in first.channels] == ["kW", "kW", "kvar", "kvar", "kvar", "kvar"]
    assert first.values[1] == Value(text="0.00086")
    assert records[2].values[5].decimal == Decimal("0.04055")


def test_emh_profile_without_trailing_line_end() -> None:
    # emh_lzqj_p01_load_profile.txt: channel codes without medium, no final CR LF
    text = (
        "P.01(1220823161500)(00000000)(15)(6)(1.5)(kW)(2.5)(kW)(5.5)(kvar)(6.5)(kvar)"
        "(7.5)(kvar)(8.5)(kvar)\r\n"
        "(0.18374)(0.00078)(0.00000)(0.00006)(0.00087)(0.02431)\r\n"
        "(0.16832)(0.00000)(0.00000)(0.00000)(0.00000)(0.02686)"
    )
    records = parse_profile(text)
    assert len(records) == 2
    assert records[1].time == MeterTime(datetime=at(2022, 8, 23, 16, 30), season=SUMMER)
    assert records[1].values[5].text == "0.02686"
    assert records[0].channels[0].obis == ObisCode(c=1, d=5)


def test_logbook_entries_keep_their_order() -> None:
    # metcom_mcs_p98_logbook.txt: 23:49:04 comes before 23:48:49
    text = (
        "P.98(1220906234904)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(4)(0)\r\n"
        "P.98(1220906234849)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(5)(0)\r\n"
    )
    records = parse_profile(text)
    assert [r.time.datetime for r in records] == [
        at(2022, 9, 6, 23, 49, 4),
        at(2022, 9, 6, 23, 48, 49),
    ]
    assert records[0].interval is None
    assert records[0].channels == (Channel(code="0-0:C.11.0"), Channel(code="0-0:C.11.10"))
    assert [v.text for v in records[1].values] == ["5", "0"]


def test_logbook_entries_without_channels() -> None:
    # emh_lzqj_p98_logbook.txt: k = 2 with a time and a date value, then k = 0
    text = (
        "P.98(1220826235646)(00008020)()(2)(0.9.1)()(0.9.2)()(1235703)(1220826)\r\n"
        "P.98(1220901000000)(00000010)()(0)\r\n"
        "P.98(1220906115553)(00000080)()(0)"
    )
    records = parse_profile(text)
    assert len(records) == 3
    assert records[0].status_code == 0x8020
    assert [v.text for v in records[0].values] == ["1235703", "1220826"]
    assert records[1] == ProfileRecord(
        profile="P.98",
        time=MeterTime(datetime=at(2022, 9, 1), season=SUMMER),
        status="00000010",
        interval=None,
        channels=(),
        values=(),
    )
    assert records[2].status_code == 0x80


def test_dsmr3_gas_reading_has_the_same_shape() -> None:
    text = "0-1:24.3.0(130110100000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.160)\r\n"
    (record,) = parse_profile(text)
    assert record.profile == "0-1:24.3.0"
    assert record.time == MeterTime(datetime=at(2013, 1, 10, 10))
    assert record.interval == dt.timedelta(hours=1)
    assert record.channels == (Channel(code="0-1:24.2.1", unit="m3"),)
    assert record.values[0].decimal == Decimal("1.160")


@pytest.mark.parametrize("text", ["", "\r\n", "(ERROR)\r\n", "(ERROR)"])
def test_error_or_empty_reply_has_no_records(text: str) -> None:
    assert parse_profile(text) == []


def test_error_reply_is_reported() -> None:
    result = scan_profile("(ERROR)\r\n")
    assert result.records == ()
    assert [(p.index, p.reason) for p in result.problems] == [(0, "error reply")]
    assert result.problems[0].dataset.value == "ERROR"


def test_short_line_is_a_problem_and_keeps_its_slot() -> None:
    text = (
        "P.01(1220401010000)(08)(15)(2)(1-0:1.5.0)(kW)(1-0:2.5.0)(kW)\r\n"
        "(0.30499)(0.00000)\r\n"
        "(0.31774)\r\n"
        "(0.33878)(0.00000)\r\n"
    )
    result = scan_profile(text)
    assert [r.time.datetime for r in result.records] == [
        at(2022, 4, 1, 1, 0),
        at(2022, 4, 1, 1, 30),
    ]
    assert [(p.index, p.reason) for p in result.problems] == [(2, "1 values for 2 channels")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("(0.1)(0.2)\r\n", "values before any header"),
        ("P.01(x)(00)(15)(1)(1.5)(kW)\r\n(0.1)\r\n", "header time 'x' does not parse"),
        ("P.01(1220401010000)(00)(15)(n)(1.5)(kW)\r\n", "channel count 'n' is not a number"),
        ("P.01(1220401010000)(00)(15)(2)(1.5)(kW)\r\n", "header names 2 channels but has 2 fields"),
        ("1.8.0(0001234.5*kWh)\r\n", "not a profile header"),
    ],
)
def test_lines_that_give_no_record(text: str, reason: str) -> None:
    result = scan_profile(text)
    assert result.records == ()
    assert result.problems[0].reason.startswith(reason)


def test_values_after_a_broken_header_are_not_given_to_the_previous_one() -> None:
    text = (
        "P.01(1220401010000)(00)(15)(1)(1.5)(kW)\r\n"
        "(0.1)\r\n"
        "P.01(garbage)(00)(15)(1)(1.5)(kW)\r\n"
        "(0.2)\r\n"
    )
    result = scan_profile(text)
    assert [r.values[0].text for r in result.records] == ["0.1"]
    assert [p.index for p in result.problems] == [2, 3]


def test_profile_request() -> None:
    start = MeterTime(datetime=at(2018, 8, 13, 0, 1), season=NORMAL)
    end = MeterTime(datetime=at(2018, 8, 19, 16, 0), season=SUMMER)
    assert profile_request("P.98", start, end) == "P.98(01808130001;11808191600)"
    assert profile_request() == "P.01(;)"
    assert profile_request("P.02", end=end) == "P.02(;11808191600)"
    assert profile_request(start=start) == "P.01(01808130001;)"


@pytest.mark.parametrize("profile", ["", "P.01(", "P 01", "P!01", "x" * 33])
def test_profile_request_refuses_bad_codes(profile: str) -> None:
    with pytest.raises(InvalidMessageError) as info:
        profile_request(profile)
    assert info.value.field == "profile"


def test_profile_request_needs_a_season() -> None:
    with pytest.raises(InvalidMessageError) as info:
        profile_request(start=MeterTime(datetime=at(2018, 8, 13)))
    assert info.value.field == "season"


_reading = st.decimals(min_value=0, max_value=99999, places=5).map(lambda d: Value(text=str(d)))


@given(
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2060, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    season=st.sampled_from([NORMAL, SUMMER]),
    minutes=st.sampled_from([1, 5, 15, 30, 60]),
    channels=st.integers(min_value=1, max_value=8),
    rows=st.integers(min_value=0, max_value=20),
    data=st.data(),
)
def test_records_come_back_from_the_text_a_meter_would_send(
    start: dt.datetime,
    season: Season,
    minutes: int,
    channels: int,
    rows: int,
    data: st.DataObject,
) -> None:
    codes = [f"1-0:{i}.5.0" for i in range(1, channels + 1)]
    stamp = season.value + start.strftime("%y%m%d%H%M%S")
    header = [stamp, "00", str(minutes), str(channels)]
    for code in codes:
        header += [code, "kW"]
    table = [
        data.draw(st.lists(_reading, min_size=channels, max_size=channels)) for _ in range(rows)
    ]
    sets = [DataSet(address="P.01", values=tuple(Value(text=t) for t in header))]
    sets += [DataSet(address=None, values=tuple(row)) for row in table]
    records = parse_profile(format_data_block(sets))
    assert len(records) == rows
    for i, (record, row) in enumerate(zip(records, table, strict=True)):
        assert record.time == MeterTime(
            datetime=start + i * dt.timedelta(minutes=minutes), season=season
        )
        assert record.values == tuple(row)
        assert [c.code for c in record.channels] == codes


_any_text = st.text() | st.binary().map(lambda b: b.decode("latin-1"))


@given(_any_text)
def test_any_text_parses_without_raising(text: str) -> None:
    try:
        result = scan_profile(text)
    except ProtocolError:  # pragma: no cover - allowed by contract, never done
        return
    for record in result.records:
        assert len(record.values) == len(record.channels)
        record.status_code  # noqa: B018 - lazy properties must not raise either


@given(st.text(alphabet="P.01()\r\n9812345;:-&*", max_size=300))
def test_profile_shaped_text_parses_without_raising(text: str) -> None:
    result = scan_profile(text)
    assert parse_profile(text) == list(result.records)
