"""Data blocks: real lines from the corpus (short snippets), the encoder, and robustness."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    DataBlock,
    DataSet,
    InvalidMessageError,
    MeterTime,
    ObisCode,
    ParseProblem,
    ProtocolError,
    Season,
    Value,
    format_data_block,
    parse_data_block,
    scan_data_block,
)


def ds(address: str | None, *values: Value) -> DataSet:
    return DataSet(address=address, values=values)


def v(text: str, unit: str | None = None) -> Value:
    return Value(text=text, unit=unit)


def test_readout_lines() -> None:
    # iskra_mt174_0001_readout_with_history.txt
    block = (
        "1-0:0.9.1*255(201455)\r\n"
        "1-0:1.6.0*255(02.468*kW)(1703100930)\r\n"
        "1-0:1.6.2*01()\r\n"
        "0-0:C.51.2*255(1140716101053)\r\n"
        "!\r\n"
    )
    assert parse_data_block(block) == [
        ds("1-0:0.9.1*255", v("201455")),
        ds("1-0:1.6.0*255", v("02.468", "kW"), v("1703100930")),
        ds("1-0:1.6.2*01", v("")),
        ds("0-0:C.51.2*255", v("1140716101053")),
    ]
    result = scan_data_block(block)
    assert result.ended
    assert result.problems == ()


def test_many_data_sets_on_one_line() -> None:
    # siemens_2wr5_heat_readout.txt: no separators at all
    line = "6.8(0029.055*MWh)6.26(01589.28*m3)9.21(00010213)F(0)9.4(088*C&082*C)6.8.1()9.2(&&)"
    sets = parse_data_block(line + "\r\n")
    assert [d.address for d in sets] == ["6.8", "6.26", "9.21", "F", "9.4", "6.8.1", "9.2"]
    assert sets[0].values == (v("0029.055", "MWh"),)
    assert sets[0].values[0].decimal == Decimal("29.055")
    assert sets[3].obis == ObisCode(c="F")
    heat = sets[4].values[0]
    assert heat.text == "088*C&082*C"
    assert heat.unit is None
    assert heat.parts == (v("088", "C"), v("082", "C"))
    assert heat.decimal is None
    assert [p.decimal for p in heat.parts] == [Decimal(88), Decimal(82)]
    assert sets[5].value == ""
    assert sets[6].values[0].parts == (v(""), v(""), v(""))


def test_joined_date_and_time() -> None:
    (dataset,) = parse_data_block("9.36(2017-01-18&01:36:47)9.1(0&1&0&-&CV&3&2.14)")[:1]
    assert [p.text for p in dataset.values[0].parts] == ["2017-01-18", "01:36:47"]
    seven = parse_data_block("9.1(0&1&0&-&CV&3&2.14)")[0].values[0].parts
    assert len(seven) == 7
    assert seven[6].decimal == Decimal("2.14")


def test_bang_glued_to_the_last_data_set_ends_the_block() -> None:
    # kamstrup_multical66c_heat_readout.txt
    result = scan_data_block("6.26(03052.95*m3)\r\n6.31(0109868*h)!\r\n\x03a")
    assert result.datasets == (ds("6.26", v("03052.95", "m3")), ds("6.31", v("0109868", "h")))
    assert result.ended
    assert result.problems == ()


def test_text_after_the_closing_line_is_ignored() -> None:
    # logarex_lk13be803049_modeD_lf.txt ends with the next telegram's identification
    block = "1-0:96.90.2*255(0C69)\n!\n/LOG5LK13BE803049\n\n1-0:1.8.0*255(1)\n"
    assert parse_data_block(block) == [ds("1-0:96.90.2*255", v("0C69"))]


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\n\n", "\r\n\r\n", "\r"])
def test_line_ends(eol: str) -> None:
    block = eol.join(["F.F(00)", "0.0(        18438636)", "C.1.0(18438636)", ""])
    assert parse_data_block(block) == [
        ds("F.F", v("00")),
        ds("0.0", v("        18438636")),
        ds("C.1.0", v("18438636")),
    ]


def test_bare_lf_among_cr_lf() -> None:
    # landisgyr_1-1_billing_readout_bcc_is_lf.txt has one bare LF in 175 lines
    block = "1-1:56.7.0( 001.67*kW)\r\n1-1:76.7.0(-000.82*kW)\n1-1:0.5.1.2(80.000*kW)\r\n"
    sets = parse_data_block(block)
    assert [d.address for d in sets] == ["1-1:56.7.0", "1-1:76.7.0", "1-1:0.5.1.2"]
    assert [d.values[0].decimal for d in sets] == [
        Decimal("1.67"),
        Decimal("-0.82"),
        Decimal("80.000"),
    ]
    assert sets[0].value == " 001.67"  # raw text keeps the space that stands for the sign


def test_continuation_line_has_no_address() -> None:
    # kamstrup_162_dsmr3.txt: the gas reading on the line after its header
    block = (
        "0-1:24.3.0(121106150000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00054.386)\r\n0-1:24.4.0(1)\r\n"
    )
    sets = parse_data_block(block)
    assert len(sets) == 3
    assert len(sets[0].values) == 6
    assert sets[1] == ds(None, v("00054.386"))
    assert sets[1].obis is None
    assert sets[1].value == "00054.386"


def test_leading_garbage_line_is_skipped_and_reported() -> None:
    # partial/unknown_meter_garbled_start_fragment.txt
    block = "F\x19\x0e\x19vff\x19vu5j\r\n1-1:52.7.0(230.5*V)\r\n1-1:72.7.0(231.0*V)\r\n"
    result = scan_data_block(block)
    assert result.datasets == (ds("1-1:52.7.0", v("230.5", "V")), ds("1-1:72.7.0", v("231.0", "V")))
    assert result.problems == (
        ParseProblem(offset=0, text="F\x19\x0e\x19vff\x19vu5j", reason="not a data set"),
    )
    assert not result.ended


def test_garbage_between_lines_loses_nothing() -> None:
    # itron_ace3000_t260_readout_corrupted.txt: line noise before the closing "!"
    block = "C.5.0(00)\r\n1.8.0(013925.5*)Y\x02\x02\x01\x00!\r\n"
    result = scan_data_block(block)
    assert result.datasets == (ds("C.5.0", v("00")), ds("1.8.0", v("013925.5")))
    assert result.problems == (
        ParseProblem(offset=27, text="Y\x02\x02\x01\x00", reason="not a data set"),
    )
    assert result.ended


def test_log_prefixes_are_skipped() -> None:
    # partial/sanxing_sx330_esphome_log_fragment.txt
    block = (
        "[21:21:50.086][D][iec62056.component:533]: Data: 1.6.0*5(1.124*kW 1250625171500)\n"
        "[21:21:50.161][D][iec62056.component:533]: Data: 31.7.0*5(0.00*A)\n"
    )
    result = scan_data_block(block)
    assert [d.address for d in result.datasets] == ["1.6.0*5", "31.7.0*5"]
    demand = result.datasets[0].values[0]
    assert demand == Value(text="1.124", unit="kW", timestamp_text="1250625171500")
    assert demand.decimal == Decimal("1.124")
    assert demand.timestamp == MeterTime(
        datetime=datetime(2025, 6, 25, 17, 15, 0), season=Season.SUMMER
    )
    assert [p.text for p in result.problems] == [
        "[21:21:50.086][D][iec62056.component:533]: Data:",
        "[21:21:50.161][D][iec62056.component:533]: Data:",
    ]
    assert [p.offset for p in result.problems] == [0, block.index("[21:21:50.161")]


def test_unclosed_bracket_is_closed_at_the_line_end() -> None:
    # apator_pafal_readout_hterm_hex.txt: eight NULs and no ")" before CR LF
    block = "0.0.0(\x00\x00\x00\x00\x00\x00\x00\x00\r\n0.0.1(001APAEA)\r\nF.F(00)\r\n"
    result = scan_data_block(block)
    assert result.datasets == (
        ds("0.0.0", v("\x00" * 8)),
        ds("0.0.1", v("001APAEA")),
        ds("F.F", v("00")),
    )
    assert result.datasets[0].values[0].decimal is None
    assert result.problems == (
        ParseProblem(
            offset=0, text="0.0.0(" + "\x00" * 8, reason="bracket not closed before the line end"
        ),
    )


def test_line_cut_inside_a_bracket_is_dropped() -> None:
    result = scan_data_block("1.8.0(0001234.5*kWh)\r\n1.8.1(00012")
    assert result.datasets == (ds("1.8.0", v("0001234.5", "kWh")),)
    assert result.problems == (
        ParseProblem(offset=22, text="1.8.1(00012", reason="cut short inside a bracket"),
    )


def test_apator_oddities() -> None:
    # 48 spaces as a value, colons, a history code without unit, "!" glued
    block = "1.8.0*00(007900.58)\r\nC.2.1(1107113C2E06)(" + " " * 48 + ")\r\n0.2.2(:::::G11)!\r\n"
    sets = parse_data_block(block)
    assert sets == [
        ds("1.8.0*00", v("007900.58")),
        ds("C.2.1", v("1107113C2E06"), v(" " * 48)),
        ds("0.2.2", v(":::::G11")),
    ]
    assert sets[1].values[1].decimal is None
    assert sets[0].obis == ObisCode(c=1, d=8, e=0, f=0, f_marker="*")


def test_values_with_punctuation() -> None:
    block = (
        "0.2.0(V01.69#EEA3546C)\r\n"  # itron_em214
        "C.5.0(L1-L2-L3)\r\n"
        "0.9.1(23:16:43)\r\n"  # landisgyr_zmd405
        "1.8.1*12(21-01-01 00:00)\r\n"
        "1-0:0.2.0*255(ver.03,EF8C,20170504)\r\n"  # logarex
        "1-0:0.0.0*255(331200-5009810)\r\n"  # emh
        "C.13.21(00000001*secs)\r\n"
    )
    sets = parse_data_block(block)
    assert [d.value for d in sets] == [
        "V01.69#EEA3546C",
        "L1-L2-L3",
        "23:16:43",
        "21-01-01 00:00",
        "ver.03,EF8C,20170504",
        "331200-5009810",
        "00000001",
    ]
    assert sets[-1].unit == "secs"
    assert all(d.values[0].decimal is None for d in sets[:-1])


def test_dsmr_lists() -> None:
    # fluvius_flu5_v171.txt: one data set, many values
    line = "0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)\r\n"
    (dataset,) = parse_data_block(line)
    assert len(dataset.values) == 6
    assert dataset.values[5] == v("03.695", "kW")
    assert dataset.values[1].text == "1-0:1.6.0"


def test_empty_and_all_blank_blocks() -> None:
    assert scan_data_block("") == DataBlock(datasets=())
    assert scan_data_block("\r\n\r\n  \r\n") == DataBlock(datasets=())
    assert scan_data_block("!") == DataBlock(datasets=(), ended=True)


def test_stray_closing_bracket_and_group_after_junk() -> None:
    result = scan_data_block("1.8.0(1))(2)\r\n")
    # The junk ")" separates: "(2)" does not join 1.8.0 but starts its own data set.
    assert result.datasets == (ds("1.8.0", v("1")), ds(None, v("2")))
    assert [p.text for p in result.problems] == [")"]


def test_blanks_between_groups_keep_them_together() -> None:
    assert parse_data_block("1.6.1(0.50262*kW) \t(2211120730)\r\n") == [
        ds("1.6.1", v("0.50262", "kW"), v("2211120730"))
    ]


def test_address_too_long_keeps_its_last_32_characters() -> None:
    block = "x" * 40 + "(1)\r\n"
    result = scan_data_block(block)
    assert result.datasets == (ds("x" * 32, v("1")),)
    assert result.problems == (ParseProblem(offset=0, text="x" * 8, reason="not a data set"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0008048.375", Decimal("8048.375")),
        (" 001.67", Decimal("1.67")),
        ("-000.82", Decimal("-0.82")),
        ("+00026", Decimal("26")),
        ("000007,4", Decimal("7.4")),
        ("000013,0", Decimal("13.0")),
        ("2211120730", Decimal(2211120730)),
        ("  42  ", Decimal(42)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("0C69", None),
        ("02792C83", None),
        ("        ", None),
        ("", None),
        ("-", None),
        ("1,234.5", None),
        ("1e5", None),
        ("NaN", None),
        ("Infinity", None),
        ("12 34", None),
        ("\x00\x00", None),
        ("٣", None),  # an Arabic-Indic digit
    ],
)
def test_decimal(text: str, expected: Decimal | None) -> None:
    assert Value(text=text).decimal == expected


def test_decimal_keeps_precision() -> None:
    value = parse_data_block("1-0:1.8.0*255(005267.03049619*kWh)")[0].values[0]
    assert value.decimal == Decimal("5267.03049619")
    assert str(value.decimal) == "5267.03049619"


def test_empty_unit_is_no_unit() -> None:
    assert Value.parse("013925.5*") == v("013925.5")
    assert Value.parse("5* kW ") == v("5", "kW")


def test_format_data_block() -> None:
    sets = [
        ds("1.8.0", v("0001234.5", "kWh")),
        ds("1.6.1", v("0.50262", "kW"), v("2211120730")),
        ds(None, v("00054.386")),
        ds("9.4", Value.join((v("088", "C"), v("082", "C")))),
        ds("1.6.0*5", Value(text="1.124", unit="kW", timestamp_text="1250625171500")),
    ]
    text = format_data_block(sets)
    assert text == (
        "1.8.0(0001234.5*kWh)\r\n"
        "1.6.1(0.50262*kW)(2211120730)\r\n"
        "(00054.386)\r\n"
        "9.4(088*C&082*C)\r\n"
        "1.6.0*5(1.124*kW 1250625171500)\r\n"
    )
    assert parse_data_block(text) == sets


@pytest.mark.parametrize(
    ("dataset", "field"),
    [
        (ds("1.8.0"), "values"),
        (ds("", v("1")), "address"),
        (ds("1.8 0", v("1")), "address"),
        (ds("1.8(0", v("1")), "address"),
        (ds("x" * 33, v("1")), "address"),
        (ds("1.8.0", v("1)")), "value.text"),
        (ds("1.8.0", v("1*2")), "value.text"),
        (ds("1.8.0", v("1&2")), "value.text"),
        (ds("1.8.0", v("1\r\n")), "value.text"),
        (ds("1.8.0", v("1", "")), "value.unit"),
        (ds("1.8.0", v("1", "k W")), "value.unit"),
        (ds("1.8.0", Value(text="1", timestamp_text="x")), "value.timestamp_text"),
        (ds("1.8.0", Value(text="1", unit="kW", timestamp_text=" x")), "value.timestamp_text"),
        (ds("1.8.0", Value(text="1&2", parts=(v("1"), v("3")))), "value.text"),
        (ds("1.8.0", Value(text="1&2", unit="C", parts=(v("1"), v("2")))), "value"),
    ],
)
def test_format_refuses_what_would_not_read_back(dataset: DataSet, field: str) -> None:
    with pytest.raises(InvalidMessageError) as info:
        format_data_block([dataset])
    assert info.value.field == field


def test_join_needs_two_plain_parts() -> None:
    with pytest.raises(InvalidMessageError):
        Value.join((v("1"),))
    with pytest.raises(InvalidMessageError):
        Value.join((v("1"), Value.join((v("2"), v("3")))))


# -- properties ---------------------------------------------------------------

_ADDRESS_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(
    lambda c: c not in "()/!"
)
_addresses = st.none() | st.text(alphabet=_ADDRESS_CHARS, min_size=1, max_size=32)
_text_chars = st.characters(min_codepoint=0, max_codepoint=0xFF).filter(
    lambda c: c not in "()*&\r\n"
)
_texts = st.text(alphabet=_text_chars, max_size=40)
_units = st.text(alphabet=_text_chars.filter(lambda c: c != " "), min_size=1, max_size=16)
_stamps = st.text(alphabet=_text_chars, min_size=1, max_size=16).filter(lambda s: s == s.strip(" "))


@st.composite
def plain_values(draw: st.DrawFn) -> Value:
    unit = draw(st.none() | _units)
    stamp = None if unit is None else draw(st.none() | _stamps)
    return Value(text=draw(_texts), unit=unit, timestamp_text=stamp)


values = plain_values() | st.lists(plain_values(), min_size=2, max_size=4).map(
    lambda parts: Value.join(tuple(parts))
)
datasets = st.builds(
    DataSet, address=_addresses, values=st.lists(values, min_size=1, max_size=4).map(tuple)
)


@given(st.lists(datasets, max_size=20))
def test_format_then_parse_round_trips(sets: list[DataSet]) -> None:
    text = format_data_block(sets)
    result = scan_data_block(text)
    assert list(result.datasets) == sets
    assert result.problems == ()
    assert scan_data_block(text + "!\r\n").ended


@given(
    st.lists(datasets, max_size=8),
    st.text(alphabet=st.characters(codec="latin-1").filter(lambda c: c not in "(!\r\n")),
)
def test_a_garbage_line_does_not_lose_the_lines_after_it(sets: list[DataSet], junk: str) -> None:
    text = format_data_block(sets)
    assert parse_data_block(junk + "\r\n" + text) == sets


_any_text = st.text() | st.binary().map(lambda b: b.decode("latin-1"))


@given(_any_text)
def test_any_text_parses_without_raising(text: str) -> None:
    try:
        result = scan_data_block(text)
    except ProtocolError:  # pragma: no cover - allowed by contract, never done
        return
    assert all(d.values for d in result.datasets)
    for problem in result.problems:
        assert text[problem.offset :].startswith(problem.text)
    for dataset in result.datasets:
        dataset.obis  # noqa: B018 - the lazy properties must not raise either
        for value in dataset.values:
            value.decimal  # noqa: B018
            value.timestamp  # noqa: B018


@given(st.text(alphabet="()!*&\r\n 1.8:-xC\x00", max_size=200))
def test_bracket_soup_parses_without_raising(text: str) -> None:
    result = scan_data_block(text)
    assert parse_data_block(text) == list(result.datasets)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 200_000,
        "x " * 100_000,
        "(" * 200_000,
        ")" * 200_000,
        "1.8.0" * 40_000 + "(",
        "a(" * 100_000,
        "1(2)" * 50_000,
        "\x00" * 200_000,
    ],
    ids=["letters", "words", "open", "close", "long-address", "open-pairs", "groups", "nul"],
)
def test_pathological_input_stays_linear(text: str) -> None:
    # 200,000 characters take about 0.3 s when the scan is linear and minutes when it
    # is quadratic, so a bound far above the first keeps a busy machine from failing
    # the test and still catches the second.
    began = time.perf_counter()
    scan_data_block(text)
    assert time.perf_counter() - began < 20.0
