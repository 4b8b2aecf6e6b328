"""Byte values, rates and timings of IEC 62056-21, named as in the standard.

Clause numbers refer to IEC 62056-21:2002 (edition 1). Times are in seconds.
"""

from __future__ import annotations

from typing import Final

# Control characters (clause 6.3).
SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ACK: Final = 0x06
NAK: Final = 0x15
CR: Final = 0x0D
LF: Final = 0x0A
NUL: Final = 0x00
START_CHAR: Final = 0x2F  # "/"
REQUEST_CHAR: Final = 0x3F  # "?"
END_CHAR: Final = 0x21  # "!"
ESCAPE_CHAR: Final = 0x5C  # "\\", starts a \W pair in the identification
CRLF: Final = b"\r\n"

# 7E1 carries seven data bits; bytes read on an 8-bit port carry parity in bit 7 (clause 5).
SEVEN_BIT_MASK: Final = 0x7F
# One character on the wire is start + 7 data + parity + stop bits.
BITS_PER_CHAR: Final = 10

# Every session starts at this rate (clause 6.4).
INITIAL_BAUD: Final = 300
# Mode D pushes at a fixed rate (clause 6.4.4).
MODE_D_BAUD: Final = 2400

# Baud-rate characters of the identification (clause 6.3.14, item 13).
MODE_B_RATES: Final[dict[str, int]] = {
    "A": 600,
    "B": 1200,
    "C": 2400,
    "D": 4800,
    "E": 9600,
    "F": 19200,
}
MODE_C_RATES: Final[dict[str, int]] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}
RESERVED_MODE_B_CHARS: Final = frozenset("GHI")
RESERVED_MODE_C_CHARS: Final = frozenset("789")

# Option select (clause 6.3.3): protocol control character V.
PROTOCOL_NORMAL: Final = "0"
PROTOCOL_SECONDARY: Final = "1"
PROTOCOL_HDLC: Final = "2"
# Option select: mode control character Y.
MODE_READOUT: Final = "0"
MODE_PROGRAMMING: Final = "1"
MODE_BINARY: Final = "2"

# Field limits (clauses 6.3.14 and 6.6).
MAX_ADDRESS_LEN: Final = 32
MAX_IDENT_LEN: Final = 16
MAX_DATASET_ADDRESS_LEN: Final = 16
MAX_VALUE_LEN: Final = 32
MAX_PROGRAMMING_VALUE_LEN: Final = 128
MAX_UNIT_LEN: Final = 16
MAX_ERROR_TEXT_LEN: Final = 32
MAX_LINE_LEN: Final = 78

# Timings (clause 6.4 and annex A).
# tr: from the end of a received message to the start of the answer.
REACTION_TIME_MIN: Final = 0.200
# tr minimum when the third letter of the manufacturer's ID is lowercase.
REACTION_TIME_FAST_MIN: Final = 0.020
REACTION_TIME_MAX: Final = 1.500
# ta: the longest gap between two characters of one message.
INTER_CHAR_TIMEOUT: Final = 1.500
# Not the standard's: how long a readout without STX after a baud switch waits for an
# ETX that would show it lost its start. Longer than a USB adapter's latency timer
# (16 ms) or a TCP converter's packing interval; a small price for such meters.
READOUT_TAIL_WAIT: Final = 0.100
# tt: the meter waits this long after its identification for an option select;
# with none it reads out at 300 Bd.
OPTION_SELECT_WINDOW_MIN: Final = 1.500
OPTION_SELECT_WINDOW_MAX: Final = 2.200
# A command without reply is an error after this (annex A).
COMMAND_REPLY_TIMEOUT: Final = 1.500
# A meter returns to idle when nothing arrives for this long.
METER_INACTIVITY_MIN: Final = 60.0
METER_INACTIVITY_MAX: Final = 120.0

# Repeats before giving up (clause 6.4.7, figure 23).
MAX_REPEATS: Final = 3

# Not the standard's: how a client hands received bytes on. Characters of one message
# follow each other at once (a continuous transmission, clause 6.3), so a pause of more
# than a character time or so means the sender has stopped for now; 1.5 leaves room
# for a UART's jitter. Capped below the shortest reaction time (REACTION_TIME_FAST_MIN,
# 20 ms), so waiting out a pause never makes an answer late; at 300 Bd 1.5 characters
# would be 50 ms.
BURST_GAP_CHARS: Final = 1.5
MAX_BURST_GAP: Final = 0.015

# Battery wake-up (annex B.1): NULs at 300 Bd for 2.1-2.3 s, then 1.5-1.7 s of silence.
WAKE_UP_DURATION: Final = 2.2
WAKE_UP_PAUSE: Final = 1.6
# After a break, some meters need this before the next sign-on (bus practice, PROTOCOL.md 10).
BREAK_GUARD_TIME: Final = 2.0


def char_time(baud: int) -> float:
    """Seconds that one character occupies on the wire at ``baud``."""
    return BITS_PER_CHAR / baud


def wire_time(nbytes: int, baud: int) -> float:
    """Seconds that ``nbytes`` characters occupy on the wire at ``baud``."""
    return nbytes * BITS_PER_CHAR / baud


def burst_gap(baud: int) -> float:
    """The pause at ``baud`` after which bytes received so far are handed on."""
    return min(BURST_GAP_CHARS * char_time(baud), MAX_BURST_GAP)


def may_end_message(buffer: bytes | bytearray) -> bool:
    """Whether ``buffer`` (not empty) could end with a whole message (clause 6.3).

    A line end (every message of the identification, option select and readout
    lines ends with CR LF), a block's ETX or EOT followed by its BCC, or a lone
    ACK or NAK. Only a hint: a line end inside a readout is no message end.
    """
    last = buffer[-1]
    if last == LF:
        return True
    if len(buffer) >= 2 and buffer[-2] in (ETX, EOT):
        return True
    return len(buffer) == 1 and last in (ACK, NAK)
