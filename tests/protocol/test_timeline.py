"""The send/line timeline on its own: pure arithmetic, so properties over any call sequence."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import LineFraming, OptionSelect, Send, SetLine, wire_time
from poller.protocol._constants import BREAK_GUARD_TIME, INITIAL_BAUD, MODE_C_RATES
from poller.protocol._timeline import WAKE_UP_NULS, LineTimeline, choose_baud_char

RATES = sorted(set(MODE_C_RATES.values()))
TIMES = st.floats(min_value=0.0, max_value=1e5, allow_nan=False)


def timeline(*, switch_delay: float = 0.0, tr: float = 0.2) -> LineTimeline:
    return LineTimeline(framing=LineFraming.BITS_7E1, switch_delay=switch_delay, reaction_time=tr)


@dataclass(frozen=True)
class SendOp:
    at: float
    size: int


@dataclass(frozen=True)
class SwitchOp:
    at: float
    baud: int


OPS = st.lists(
    st.one_of(
        st.builds(SendOp, TIMES, st.integers(min_value=0, max_value=300)),
        st.builds(SwitchOp, TIMES, st.sampled_from(RATES)),
    ),
    max_size=30,
)


@given(OPS, st.floats(min_value=0.0, max_value=0.5))
def test_sends_queue_and_switches_wait_for_the_wire(
    ops: list[SendOp | SwitchOp], switch_delay: float
) -> None:
    line = timeline(switch_delay=switch_delay)
    wire_free = -math.inf  # when our last byte left the wire, computed here independently
    baud: int | None = None
    for op in ops:
        if isinstance(op, SendOp):
            send = line.send(b"x" * op.size, op.at, "data")
            # Never before it was asked for, never before the previous bytes left.
            assert send.not_before >= op.at
            assert send.not_before >= wire_free
            assert send.not_before == max(op.at, wire_free)
            wire_free = send.not_before + wire_time(op.size, baud or INITIAL_BAUD)
            assert line.last_send_end == wire_free
        else:
            when, action = line.set_line(op.baud, op.at)
            # Never before it was asked for, never before our bytes left the wire.
            assert when >= op.at
            assert when >= wire_free + switch_delay
            if op.baud == baud:
                assert action is None  # a no-op reconfiguration is never asked for
            else:
                assert action == SetLine(baud=op.baud, framing=LineFraming.BITS_7E1, at=when)
                baud = op.baud
        assert line.line_baud == (baud or INITIAL_BAUD)


@given(
    st.sampled_from(sorted(MODE_C_RATES)),
    TIMES,
    st.floats(min_value=0.0, max_value=0.5),
    st.floats(min_value=0.0, max_value=1.5),
)
def test_a_switch_is_never_before_the_option_selects_last_character_left(
    z: str, now: float, switch_delay: float, tr: float
) -> None:
    line = timeline(switch_delay=switch_delay, tr=tr)
    line.set_line(INITIAL_BAUD, 0.0)
    option = OptionSelect(protocol="0", baud_char=z, mode="0").to_bytes()
    send = line.send(option, line.answer_at(now), "option select")
    assert send.not_before == now + tr
    when, action = line.set_line(MODE_C_RATES[z], send.end(INITIAL_BAUD))
    last_char_gone = send.not_before + wire_time(len(option), INITIAL_BAUD)
    assert when >= last_char_gone + switch_delay
    assert (action is None) is (MODE_C_RATES[z] == INITIAL_BAUD)


def test_bytes_sent_at_the_new_rate_take_the_new_rate_s_wire_time() -> None:
    line = timeline()
    line.set_line(9600, 0.0)
    send = line.send(b"\x06", 1.0, "ACK")
    assert send == Send(data=b"\x06", not_before=1.0, description="ACK")
    assert line.last_send_end == pytest.approx(1.0 + wire_time(1, 9600))


def test_the_bus_is_free_after_our_last_byte_and_the_guard_when_unsure() -> None:
    line = timeline()
    assert line.bus_free_at(5.0, guard=False) == 5.0
    line.send(b"x" * 30, 10.0, "data")
    end = line.last_send_end
    assert line.bus_free_at(5.0, guard=False) == end
    assert line.bus_free_at(5.0, guard=True) == end + BREAK_GUARD_TIME
    assert line.bus_free_at(end + 3, guard=True) == end + 3 + BREAK_GUARD_TIME


def test_the_wake_up_is_66_nuls() -> None:
    assert WAKE_UP_NULS == 66


@pytest.mark.parametrize(
    ("offered", "cap", "fallback", "expected"),
    [
        (9600, None, False, ("5", False)),
        (9600, 2400, False, ("3", True)),
        (2400, 9600, False, ("3", False)),
        (9600, 9600, False, ("5", False)),
        (9600, 2400, True, ("0", False)),
        (1234, None, False, ("0", False)),  # not a mode C rate: stay at 300 Bd
    ],
)
def test_choose_baud_char(
    offered: int, cap: int | None, fallback: bool, expected: tuple[str, bool]
) -> None:
    assert choose_baud_char(offered, cap=cap, fallback_300=fallback) == expected


@given(st.sampled_from(RATES), st.one_of(st.none(), st.sampled_from(RATES)), st.booleans())
def test_the_chosen_rate_never_exceeds_the_offer_or_the_cap(
    offered: int, cap: int | None, fallback: bool
) -> None:
    z, capped = choose_baud_char(offered, cap=cap, fallback_300=fallback)
    rate = MODE_C_RATES[z]
    assert rate <= offered
    if cap is not None:
        assert rate <= cap
    assert capped is (not fallback and cap is not None and offered > cap)
