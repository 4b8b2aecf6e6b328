"""The parser's shortcuts against its general paths: the clean-block cut against the
token loop, the inlined value forms against a plain reading of clause 6.6, and the
retyped slot objects against ordinary instances."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    DataSet,
    Value,
    decode_capture,
    format_data_block,
    parse_data_block,
    scan_data_block,
)
from poller.protocol._datasets import _DataSetSlots, _scan, _scan_clean
from poller.protocol._values import _ValueSlots

from ..corpus import corpus_ids, corpus_paths, require_corpus

# Pieces near the edges of what a clean block allows: empty and 32/33-character
# addresses, characters no address may hold, contents with '*', '&', spaces, a '!'.
_ADDRESSES = ["", "1-0:1.8.0*255", "F.F", "C.1.0", "x" * 32, "y" * 33, "a b", "1/2", "!", "\x7f"]
_CONTENTS = [
    "",
    "0",
    "0008048.375*kWh",
    "1*",
    "1* kWh ",
    "1.124*kW 1250625171500",
    "088*C&082*C",
    " 001.67*kW",
    "1*2*3",
    "!",
    "/",
    "\x00",
]
_EOLS = ["\r\n"] * 6 + ["\n", "\r", "\n\n", "\r\n\r\n", "", " \r\n", "!\r\n"]
_JUNK = "()!*&\r\n \t1.8:-xC\x00/"


@st.composite
def near_clean_blocks(draw: st.DrawFn) -> str:
    """Mostly clean blocks, some with a flaw: a bad line end, address or character."""
    lines = [draw(st.sampled_from(["", "", "\r\n", "\n\r\n", "\r"]))]
    for _ in range(draw(st.integers(0, 6))):
        groups = draw(st.lists(st.sampled_from(_CONTENTS), min_size=1, max_size=3))
        address = draw(st.sampled_from(_ADDRESSES) | st.text(alphabet=_JUNK, max_size=4))
        eol = draw(st.sampled_from(_EOLS))
        lines.append(address + "".join(f"({g})" for g in groups) + eol)
    text = "".join(lines)
    if text and draw(st.booleans()):
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(_JUNK)) + text[at + 1 :]
    return text


def assert_clean_cut_agrees(text: str) -> None:
    clean = _scan_clean(text)
    if clean is None:
        return
    datasets, bad, ended = _scan(text)
    assert clean == datasets
    assert bad == []
    assert not ended
    assert [d.address for d in clean] == [d.address for d in datasets]


@given(near_clean_blocks())
def test_clean_cut_matches_the_token_loop(text: str) -> None:
    assert_clean_cut_agrees(text)
    assert parse_data_block(text) == list(scan_data_block(text).datasets)


@given(st.text(alphabet="()!*&\r\n 1.8:-xC\x00", max_size=200))
def test_clean_cut_matches_the_token_loop_on_bracket_soup(text: str) -> None:
    assert_clean_cut_agrees(text)


_plain = st.text(alphabet="0123456789.*&kWh V", max_size=12)
_lines = st.tuples(st.sampled_from(_ADDRESSES[:5]), st.lists(_plain, min_size=1, max_size=4))


@given(st.lists(_lines))
def test_well_formed_lines_take_the_clean_cut(lines: list[tuple[str, list[str]]]) -> None:
    text = "".join(a + "".join(f"({c})" for c in groups) + "\r\n" for a, groups in lines)
    clean = _scan_clean(text)
    assert clean is not None  # the shortcut is not silently dead
    assert clean == _scan(text)[0]
    assert [len(d.values) for d in clean] == [len(groups) for _, groups in lines]


def test_formatted_blocks_take_the_clean_cut() -> None:
    sets = [
        DataSet(address="1-0:1.8.0", values=(Value(text="1", unit="kWh"),)),
        DataSet(address="1.6.0", values=(Value(text="2", unit="kW"), Value(text="2401011200"))),
        DataSet(address=None, values=(Value(text="00001.160"),)),
    ]
    text = format_data_block(sets)
    assert _scan_clean(text) == sets
    assert _scan_clean("\r\n" + text) == sets  # P1: a blank line after the ident


_CAPTURES = corpus_paths("**/*.txt") + corpus_paths("**/*.bin")


@pytest.mark.parametrize("path", _CAPTURES, ids=corpus_ids(_CAPTURES))
def test_corpus_blocks_cut_clean_as_the_token_loop_reads_them(path: Path) -> None:
    require_corpus()
    for telegram in decode_capture(path.read_bytes()):
        assert_clean_cut_agrees(telegram.block)
        assert_clean_cut_agrees(telegram.data)


def _reference_value(content: str) -> Value:
    """Clause 6.6 read plainly, as the parser read it before its fast paths."""
    if "&" in content:
        parts = tuple(_reference_value(p) for p in content.split("&"))
        return Value(text=content, parts=parts)
    text, star, rest = content.partition("*")
    rest = rest.strip(" ")
    if not star or not rest:
        return Value(text=text)
    unit, space, stamp = rest.partition(" ")
    return Value(text=text, unit=unit, timestamp_text=stamp.lstrip(" ") if space else None)


@given(st.text(alphabet="0123456789.,*& \tkWh+-", max_size=16))
def test_value_parse_matches_a_plain_reading(content: str) -> None:
    assert Value.parse(content) == _reference_value(content)
    block = f"1.8.0({content})\r\n"
    assert parse_data_block(block) == [DataSet(address="1.8.0", values=(Value.parse(content),))]


def test_slot_twins_share_the_layout() -> None:
    assert _ValueSlots.__slots__ == Value.__slots__
    assert _DataSetSlots.__slots__ == DataSet.__slots__
    assert [f.name for f in dataclasses.fields(Value)] == list(Value.__slots__)
    assert [f.name for f in dataclasses.fields(DataSet)] == list(DataSet.__slots__)


@pytest.mark.parametrize(
    "text", ["1.8.0(1*kWh)(2)\r\n", "1.8.0(1*kWh)(2)\r\n!", "x 1.8.0(1*kWh) (2)\r\n"]
)
def test_parsed_objects_are_ordinary_frozen_instances(text: str) -> None:
    (dataset,) = parse_data_block(text)
    expected = DataSet(address="1.8.0", values=(Value(text="1", unit="kWh"), Value(text="2")))
    assert type(dataset) is DataSet
    assert all(type(v) is Value for v in dataset.values)
    assert dataset == expected
    assert hash(dataset) == hash(expected)
    assert repr(dataset) == repr(expected)
    assert pickle.loads(pickle.dumps(dataset)) == expected
    assert copy.deepcopy(dataset) == expected
    assert dataclasses.replace(dataset.values[0], unit="Wh") == Value(text="1", unit="Wh")
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.address = "2.8.0"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.values[0].text = "3"  # type: ignore[misc]
