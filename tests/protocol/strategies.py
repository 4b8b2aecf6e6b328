"""Hypothesis strategies for the protocol core's messages."""

from __future__ import annotations

from hypothesis import strategies as st

from poller.protocol import (
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    Identification,
    OptionSelect,
    Request,
    UnframedData,
)

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ALNUM = st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
ASCII = st.characters(min_codepoint=0, max_codepoint=0x7F)

addresses = st.text(alphabet=st.sampled_from("0123456789ABCDEFabcdefXYZ "), max_size=32)
requests = st.builds(Request, address=addresses)

_ident_chars = PRINTABLE.filter(lambda c: c not in "/!\\")
identifications = st.builds(
    Identification,
    manufacturer=st.text(
        alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"), min_size=3, max_size=3
    ),
    baud_char=_ident_chars,
    ident=st.text(alphabet=_ident_chars, max_size=16),
    escapes=st.lists(_ident_chars, max_size=3).map(tuple),
)
option_selects = st.builds(OptionSelect, protocol=ALNUM, baud_char=ALNUM, mode=ALNUM)
_block_chars = ASCII.filter(lambda c: ord(c) not in (0x03, 0x04))
ends = st.sampled_from([End.ETX, End.EOT])
data_messages = st.builds(DataMessage, data=st.text(alphabet=_block_chars, max_size=200), end=ends)
commands = st.builds(
    Command,
    kind=st.sampled_from(list(CommandKind)),
    code=ALNUM,
    data=st.none() | st.text(alphabet=_block_chars, max_size=100),
    end=ends,
)
error_messages = st.builds(
    ErrorMessage,
    text=st.text(alphabet=PRINTABLE.filter(lambda c: c not in "()*/!"), min_size=1, max_size=32),
)
unframed = st.builds(
    UnframedData,
    data=st.text(alphabet=ASCII.filter(lambda c: c not in "/!"), max_size=200),
    crc=st.none() | st.text(alphabet=st.sampled_from("0123456789ABCDEF"), min_size=1, max_size=4),
)
