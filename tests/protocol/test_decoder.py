"""The stream decoder: chunking invariance, junk skipping, bounds and real quirks."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.protocol import (
    NEED_DATA,
    Ack,
    Check,
    Command,
    DataMessage,
    End,
    Frame,
    FrameDecoder,
    Identification,
    Nak,
    OptionSelect,
    ProtocolError,
    Request,
    Role,
    UnframedData,
    decode_frames,
    push_telegram,
)

from ..corpus import corpus_ids, corpus_paths, draw_mutated_capture, require_corpus
from .strategies import commands, data_messages, identifications, requests

ALL_CAPTURES = corpus_paths("**/*.txt") + corpus_paths("**/*.bin")


def decode_in_chunks(data: bytes, cuts: list[int], role: Role = Role.CLIENT) -> list[Frame]:
    decoder = FrameDecoder(role=role)
    frames: list[Frame] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        decoder.receive_data(data[start:cut])
        frames.extend(decoder.frames())
        start = cut
    frames.extend(decoder.end_of_data())
    return frames


def test_a_mode_c_readout_decodes_frame_by_frame() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(b"/ISk5MT174-0002\r")
    assert decoder.next_frame() is NEED_DATA
    decoder.receive_data(b"\n")
    ident = decoder.next_frame()
    assert isinstance(ident, Frame)
    assert ident.message == Identification(manufacturer="ISk", baud_char="5", ident="MT174-0002")
    readout = DataMessage.readout("1.8.0(001234.5*kWh)\r\n").to_bytes()
    decoder.receive_data(readout[:-1])
    assert decoder.next_frame() is NEED_DATA  # ETX in, BCC not yet
    decoder.receive_data(readout[-1:])
    frame = decoder.next_frame()
    assert isinstance(frame, Frame)
    assert frame.check is Check.OK
    assert frame.raw == readout


def test_junk_and_echo_before_the_identification_are_skipped() -> None:
    stream = b"\x7f\x7f\x00/?12345678!\r\n\x7f/LGZ5ZMD\r\n"
    frames = decode_frames(stream)
    assert [f.message for f in frames] == [
        Request(address="12345678"),
        Identification(manufacturer="LGZ", baud_char="5", ident="ZMD"),
    ]


def test_echoed_option_select_is_not_taken_for_data() -> None:
    readout = DataMessage.readout("1.8.0(1*kWh)\r\n").to_bytes()
    stream = b"/ISk5MT174\r\n" + OptionSelect.readout("5").to_bytes() + readout
    frames = decode_frames(stream)
    assert [type(f.message) for f in frames] == [Identification, Ack, DataMessage]
    assert frames[-1].check is Check.OK


def test_bcc_equal_to_lf_is_not_a_line_end() -> None:
    # Data chosen so that the BCC comes out as 0x0A.
    for suffix in range(32, 127):
        message = DataMessage(data=f"1.8.0(A{chr(suffix)})\r\n!\r\n")
        if message.to_bytes()[-1] == 0x0A:
            break
    else:
        pytest.fail("no suffix gives a BCC of LF")
    frames = decode_frames(message.to_bytes() + b"/ABC5X\r\n")
    assert frames[0].message == message
    assert frames[0].check is Check.OK
    assert isinstance(frames[1].message, Identification)


def test_bad_bcc_is_reported_not_raised() -> None:
    raw = bytearray(DataMessage(data="1.8.0(1)").to_bytes())
    raw[-1] ^= 0x01
    (frame,) = decode_frames(bytes(raw))
    assert frame.check is Check.BAD
    assert frame.computed == raw[-1] ^ 0x01
    assert frame.received == raw[-1]


def test_parity_bit_from_an_8n1_port_is_masked() -> None:
    good = b"/ABC5X\r\n" + DataMessage.readout("1.8.0(1*kWh)\r\n").to_bytes()
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in good)
    assert [f.message for f in decode_frames(with_parity)] == [
        f.message for f in decode_frames(good)
    ]
    assert decode_frames(with_parity)[-1].check is Check.OK


def test_identification_ending_in_lf_lf() -> None:
    stream = b"/LGZ4ZMF100AC.M27\n\n" + DataMessage.readout("F.F(00)\n\n").to_bytes()
    frames = decode_frames(stream)
    assert [type(f.message) for f in frames] == [Identification, DataMessage]


def test_block_cut_before_etx_comes_out_at_end_of_data() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(b"\x02F.F(00)\r\n!\r\n")
    assert decoder.next_frame() is NEED_DATA
    (frame,) = decoder.end_of_data()
    assert frame.check is Check.MISSING
    assert isinstance(frame.message, DataMessage)
    assert frame.message.is_readout
    assert decoder.buffered == 0


def test_p1_telegram_crc_is_checked() -> None:
    ident = Identification(manufacturer="KFM", baud_char="5", ident="METER")
    raw = push_telegram(ident, "\r\n1-0:1.8.1(001581.123*kWh)\r\n", with_crc=True)
    frames = decode_frames(raw)
    assert frames[1].check is Check.OK
    assert isinstance(frames[1].message, UnframedData)
    assert frames[1].message.data == "\r\n1-0:1.8.1(001581.123*kWh)\r\n"
    corrupted = raw.replace(b"1581", b"1582")
    assert decode_frames(corrupted)[1].check is Check.BAD


def test_mode_d_telegram_without_crc() -> None:
    ident = Identification(manufacturer="EMH", baud_char="5", ident="eHZ")
    raw = push_telegram(ident, "\r\n1-0:1.8.1*255(032942.0231)\r\n", with_crc=False)
    frames = decode_frames(raw + raw)
    assert [f.check for f in frames] == [Check.ABSENT] * 4
    assert frames[1].message == UnframedData(data="\r\n1-0:1.8.1*255(032942.0231)\r\n")


def test_meter_role_reads_option_select_and_lone_ack() -> None:
    decoder = FrameDecoder(role=Role.METER)
    decoder.receive_data(b"\x06")
    assert decoder.next_frame() is NEED_DATA
    decoder.receive_data(b"051\r\n")
    frame = decoder.next_frame()
    assert isinstance(frame, Frame)
    assert frame.message == OptionSelect.programming("5")
    decoder.expect_option_select = False
    decoder.receive_data(b"\x06")
    frame = decoder.next_frame()
    assert isinstance(frame, Frame)
    assert frame.message == Ack()


def test_meter_role_reads_client_commands() -> None:
    stream = (
        b"\x00" * 10
        + Request(address="123").to_bytes()
        + Command.password("1", "00000000").to_bytes()
        + b"\x15"
    )
    messages = [f.message for f in decode_frames(stream, role=Role.METER)]
    assert messages == [Request(address="123"), Command.password("1", "00000000"), Nak()]


def test_a_flood_of_junk_does_not_grow_the_buffer() -> None:
    decoder = FrameDecoder(max_frame=1024)
    for _ in range(1000):
        decoder.receive_data(b"garbage \x7f\x00 noise " * 10)
        assert decoder.next_frame() is NEED_DATA
        assert decoder.buffered <= 1024
    # An STX that never ends is dropped once it passes max_frame.
    decoder.receive_data(b"\x02" + b"x" * 5000)
    assert decoder.next_frame() is NEED_DATA
    assert decoder.buffered <= 1024
    decoder.receive_data(DataMessage(data="ok").to_bytes())
    frames = list(decoder.frames())
    assert frames
    assert frames[-1].message == DataMessage(data="ok")


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.one_of(
                requests.map(lambda m: m.to_bytes()),
                identifications.map(lambda m: m.to_bytes()),
                data_messages.map(lambda m: m.to_bytes()),
                commands.map(lambda m: m.to_bytes()),
                st.sampled_from([b"\x06", b"\x15", b"\x7f\x00", b"\r\n"]),
                st.binary(max_size=20),
            ),
            max_size=8,
        )
    )
    return b"".join(parts)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(streams(), st.lists(st.integers(min_value=0, max_value=2000), max_size=30))
def test_frames_do_not_depend_on_chunking(stream: bytes, cuts: list[int]) -> None:
    cuts = [c for c in cuts if c <= len(stream)]
    for role in Role:
        assert decode_in_chunks(stream, cuts, role) == decode_frames(stream, role=role)


@given(st.lists(st.one_of(data_messages, commands), min_size=1, max_size=5))
def test_well_formed_messages_come_back_unchanged(messages: list[DataMessage | Command]) -> None:
    stream = b"".join(m.to_bytes() for m in messages)
    frames = decode_frames(stream)
    assert [f.message for f in frames] == messages
    assert all(f.check is Check.OK for f in frames)


@settings(max_examples=500)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for role in Role:
        with contextlib.suppress(ProtocolError):
            decode_frames(data, role=role)


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=corpus_ids(ALL_CAPTURES))
def test_corpus_captures_do_not_depend_on_chunking(path: Path) -> None:
    require_corpus()
    data = path.read_bytes()
    reference = decode_frames(data)
    for size in (1, 2, 3, 7, 64):
        assert decode_in_chunks(data, list(range(size, len(data), size))) == reference


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bit_flipped_corpus_never_raises(data: st.DataObject) -> None:
    raw = draw_mutated_capture(data, ALL_CAPTURES, max_flips=8)
    try:
        frames = decode_frames(raw)
    except ProtocolError:
        return
    assert all(isinstance(f, Frame) for f in frames)


def test_end_of_partial_block_marker() -> None:
    frames = decode_frames(DataMessage(data="part 1", end=End.EOT).to_bytes())
    assert isinstance(frames[0].message, DataMessage)
    assert frames[0].message.is_partial


def test_noise_between_identification_and_stx_is_skipped() -> None:
    # An echoing adapter garbles the last byte of our option select at the baud switch.
    readout = DataMessage.readout("1.8.0(1*kWh)\r\n").to_bytes()
    for noise in (b"x", b"\x8a", b"0\r", b"~~"):
        frames = decode_frames(b"/ABC5X\r\n" + noise + readout)
        assert [type(f.message) for f in frames] == [Identification, DataMessage], noise
        assert frames[-1].check is Check.OK


def test_a_cut_unframed_block_with_data_is_still_reported() -> None:
    frames = decode_frames(b"/ABC5X\r\n\r\n1.8.0(1*kWh)\r\n2.8.0(2" + b"/ABC5X\r\n")
    assert isinstance(frames[1].message, UnframedData)
    assert frames[1].check is Check.MISSING


def test_a_readout_that_lost_its_stx_is_not_taken_as_an_unframed_one() -> None:
    ident = b"/ISk5MT174-0001\r\n"
    framed = DataMessage.readout("1.8.0(001234.5*kWh)\r\n2.8.0(000012.0*kWh)\r\n").to_bytes()
    headless = b"\x7f~" + framed[framed.index(b"8.0") :]  # STX and "1." heard as junk
    frames = decode_frames(ident + headless)
    assert [f.check for f in frames] == [Check.ABSENT, Check.MISSING]
    # A meter that really sends its readout without STX/ETX (an EMH eHZ) is untouched.
    frames = decode_frames(ident + b"1-0:1.8.0*255(000001.2963*kWh)\r\n!\r\n")
    assert [f.check for f in frames] == [Check.ABSENT, Check.ABSENT]
    assert isinstance(frames[1].message, UnframedData)


def test_a_block_without_stx_waits_for_the_byte_after_its_line_end() -> None:
    """Only the byte after "! CR LF" tells a whole unframed readout (anything but ETX)
    from a framed one that lost its STX; the decoder waits for it, so that the frames
    are the same wherever the bytes were split."""
    ident = b"/ISk5MT174-0001\r\n"
    framed = DataMessage.readout("1.8.0(001234.5*kWh)\r\n2.8.0(000012.0*kWh)\r\n").to_bytes()
    headless = b"\x7f~" + framed[framed.index(b"8.0") :]
    line_end = headless.index(b"!\r\n") + 3
    whole = decode_frames(ident + headless)
    for cut in range(len(ident) + 1, len(ident) + len(headless)):
        decoder = FrameDecoder()
        decoder.receive_data((ident + headless)[:cut])
        head = list(decoder.frames())
        # Whole up to its line end, and nothing yet to say more: the caller's move.
        assert decoder.awaiting_tail is (cut == len(ident) + line_end), cut
        decoder.receive_data((ident + headless)[cut:])
        assert [*head, *decoder.frames(), *decoder.end_of_data()] == whole, cut
    assert whole[1].check is Check.MISSING
    # With nothing after it, the end of data takes the block as it is.
    decoder = FrameDecoder()
    decoder.receive_data(ident + b"1-0:1.8.0*255(000001.2963*kWh)\r\n!\r\n")
    assert [f.check for f in decoder.frames()] == [Check.ABSENT]
    assert decoder.awaiting_tail
    (last,) = decoder.end_of_data()
    assert isinstance(last.message, UnframedData)
    assert last.check is Check.ABSENT
    assert not decoder.awaiting_tail
