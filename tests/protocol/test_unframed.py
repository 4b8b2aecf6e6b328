"""The unframed paths on their own: ``scan_unframed`` is pure, so it is tested without a decoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    NEED_DATA,
    NEED_TAIL,
    Check,
    Frame,
    FrameDecoder,
    NeedData,
    UnframedData,
    crc16,
)
from poller.protocol._unframed import Skip, scan_unframed

IDENT = b"/ISk5MT174-0001\r\n"
BODY = b"1-0:1.8.0*255(000001.2963*kWh)\r\n"
MAX = 4096


def scan(buf: bytes, *, final: bool = False, ident: bytes = IDENT) -> Frame | NeedData | Skip:
    return scan_unframed(buf, ident_raw=ident, final=final, max_frame=MAX)


def p1(body: bytes = BODY, *, ident: bytes = IDENT) -> bytes:
    head = b"\r\n" + body + b"!"
    return head + b"%04X\r\n" % crc16(ident + head)


def test_a_p1_telegram_is_checked_with_the_identification_in_its_crc() -> None:
    telegram = p1()
    found = scan(telegram + b"/next")
    assert isinstance(found, Frame)
    assert found.raw == telegram
    assert found.check is Check.OK
    assert isinstance(found.message, UnframedData)
    assert found.message.crc == telegram[-6:-2].decode()
    wrong = scan(telegram, ident=b"/XYZ5other\r\n")
    assert isinstance(wrong, Frame)
    assert wrong.check is Check.BAD


def test_a_block_whole_to_its_line_end_waits_for_its_tail_then_is_taken() -> None:
    block = BODY + b"!\r\n"
    assert scan(block) is NEED_TAIL
    taken = scan(block, final=True)
    assert isinstance(taken, Frame)
    assert taken.check is Check.ABSENT
    assert taken.raw == block
    # Anything but ETX after it says it is whole.
    whole = scan(block + b"/")
    assert isinstance(whole, Frame)
    assert whole.raw == block


def test_an_etx_after_the_line_end_means_the_stx_was_lost() -> None:
    block = BODY + b"!\r\n\x03"
    assert scan(block) is NEED_DATA  # its BCC is on its way
    found = scan(block + b"\x55" + b"more")
    assert isinstance(found, Frame)
    assert found.check is Check.MISSING
    assert found.raw == block + b"\x55"


def test_junk_and_blank_runs_are_skipped_not_emitted() -> None:
    assert scan(b"x\x02rest") == Skip(1)  # noise before a frame: no ")" in it
    assert scan(b"\r\n\r\n\x02...") == Skip(4)  # line ends before a framed message
    assert scan(b"\r\n\r\n") is NEED_DATA
    assert scan(b"\r\n\r\n", final=True) == Skip(4)
    assert scan(b"\r" * MAX) == Skip(1, hunt=True)
    assert scan(b"x" * MAX) == Skip(1, hunt=True)


def test_a_block_cut_by_a_new_frame_is_missing_its_end() -> None:
    found = scan(BODY + b"/ISk5next\r\n")
    assert isinstance(found, Frame)
    assert found.check is Check.MISSING
    assert found.raw == BODY


SEVEN_BIT = st.binary(min_size=1, max_size=200).map(lambda b: bytes(x & 0x7F for x in b))


@given(SEVEN_BIT, st.booleans())
def test_the_scan_only_reads_its_buffer(data: bytes, final: bool) -> None:
    # The decoder masks every byte to seven bits before it scans.
    buf = bytearray(b"1" + data)
    before = bytes(buf)
    found = scan_unframed(buf, ident_raw=IDENT, final=final, max_frame=MAX)
    assert bytes(buf) == before
    if isinstance(found, Frame):
        assert before.startswith(found.raw)
    elif isinstance(found, Skip):
        assert 0 < found.count <= len(before)


def test_the_decoder_returns_need_tail_and_remembers_it() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(IDENT + BODY + b"!\r\n")
    assert isinstance(decoder.next_frame(), Frame)
    result = decoder.next_frame()
    assert result is NEED_TAIL
    assert isinstance(result, NeedData)
    assert repr(result) == "NEED_TAIL"
    assert decoder.waiting is NEED_TAIL
    decoder.receive_data(b"/")
    assert isinstance(decoder.next_frame(), Frame)
    assert decoder.next_frame() is NEED_DATA
    assert decoder.waiting is NEED_DATA
