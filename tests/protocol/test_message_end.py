"""When received bytes are handed on: ``may_end_message`` and ``burst_gap``."""

from __future__ import annotations

import pytest

from poller.protocol import (
    BURST_GAP_CHARS,
    INITIAL_BAUD,
    MAX_BURST_GAP,
    bcc,
    burst_gap,
    char_time,
    may_end_message,
)


@pytest.mark.parametrize(
    ("buffer", "whole"),
    [
        (b"/ISk5MT174-0001\r\n", True),  # a line end: identification, readout line
        (b"/ISk5MT174", False),
        (b"\x021.8.0(1)\r\n!\r\n\x03" + bytes([bcc(b"1.8.0(1)\r\n!\r\n\x03")]), True),
        (b"\x02(1)\x04X", True),  # EOT and its BCC: a partial block
        (b"\x02(1)\x03", False),  # the BCC is still to come
        (b"\x06", True),
        (b"\x15", True),
        (b"x\x06", False),  # ACK or NAK end a message only alone
        (b"\x15\x15", False),
        (b"\r", False),
    ],
)
def test_may_end_message(buffer: bytes, whole: bool) -> None:
    assert may_end_message(buffer) is whole
    assert may_end_message(bytearray(buffer)) is whole


def test_burst_gap_is_one_and_a_half_characters_below_the_fastest_reaction() -> None:
    assert INITIAL_BAUD == 300
    assert burst_gap(9600) == pytest.approx(BURST_GAP_CHARS * char_time(9600))
    assert burst_gap(19200) < burst_gap(9600) < MAX_BURST_GAP
    # At 300 Bd 1.5 characters are 50 ms, longer than tr may be (20 ms).
    assert burst_gap(INITIAL_BAUD) == MAX_BURST_GAP < 0.020
