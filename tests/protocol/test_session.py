"""The client session: exact bytes and times for every mode and every failure path."""

from __future__ import annotations

import enum
import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poller.protocol import (
    BREAK,
    AuthenticationError,
    Check,
    ChecksumError,
    ClientSession,
    Command,
    CommandKind,
    DataMessage,
    Done,
    End,
    ErrorMessage,
    Failed,
    FramingError,
    Identification,
    LineFraming,
    Mode,
    Password,
    ProtocolError,
    ProtocolTimeoutError,
    RemoteError,
    RetriesExhaustedError,
    Send,
    SessionAbortedError,
    SessionStateError,
    SetLine,
    State,
    UnexpectedError,
    UnsupportedModeError,
    Wait,
    push_telegram,
    register_scheme,
    wire_time,
)
from poller.protocol import _commands as commands_module
from poller.protocol._constants import BREAK_GUARD_TIME, READOUT_TAIL_WAIT, WAKE_UP_PAUSE
from poller.protocol._session import TRANSITIONS
from poller.protocol._session_config import (
    DEFAULT_REPLY_TIMEOUT,
    ReadRequest,
    SessionConfig,
    SessionMode,
    WriteRequest,
)
from poller.protocol._session_events import TERMINAL, Event

from .helpers import SILENCE, Reply, Responder, ScriptItem, Trace, drive

ADDRESS = "12345678"
REQUEST = b"/?12345678!\r\n"
SECRET = "S3cr3tPw"
B0 = b"\x01B0\x03\x71"
RT = DEFAULT_REPLY_TIMEOUT
FAST_IDENT = b"/ISk5MT174-0002\r\n"  # lowercase third letter: tr 20 ms, Z=5: 9600 Bd
SLOW_IDENT = b"/LGZ5ZMD310\r\n"  # uppercase: tr 200 ms
READOUT = DataMessage.readout("1.8.0(001234.5*kWh)\r\n").to_bytes()
P0 = Command(kind=CommandKind.PASSWORD, code="0", data="(1234567)").to_bytes()
SEED_P0 = Command(kind=CommandKind.PASSWORD, code="0", data="(0123456789ABCDEF)").to_bytes()
ACK = b"\x06"
NAK = b"\x15"


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def corrupt(frame: bytes) -> bytes:
    """The same frame with a wrong BCC."""
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def readout_config(**kwargs: object) -> SessionConfig:
    return SessionConfig(address=ADDRESS, **kwargs)  # type: ignore[arg-type]


def programming_config(**kwargs: object) -> SessionConfig:
    options: dict[str, object] = {
        "address": ADDRESS,
        "mode": SessionMode.PROGRAMMING,
        "password": Password("00000000"),
        "commands": (ReadRequest(dataset="1.8.0(1)"),),
    }
    options.update(kwargs)
    return SessionConfig(**options)  # type: ignore[arg-type]


def run(config: SessionConfig, script: list[ScriptItem]) -> Trace:
    return drive(ClientSession(config), script)


def send_end(send: Send, baud: int) -> float:
    return send.not_before + wire_time(len(send.data), baud)


# -- mode C readout -------------------------------------------------------------------


def test_mode_c_readout_with_a_20_ms_meter_exact_bytes_and_times() -> None:
    trace = run(readout_config(), [FAST_IDENT, READOUT])
    setline, request, wait = trace.actions[:3]
    assert setline == SetLine(baud=300, framing=LineFraming.BITS_7E1, at=0.0)
    assert isinstance(request, Send)
    assert request.data == REQUEST
    assert request.not_before == 0.0
    assert request.description == "request /?12345678!"
    assert isinstance(wait, Wait)
    assert wait.deadline == approx(13 * 10 / 300 + RT)
    ident_end = trace.rx_times[0]
    option = trace.actions[3]
    assert isinstance(option, Send)
    assert option.data == b"\x06050\r\n"
    assert option.not_before == approx(ident_end + 0.020)
    switch = trace.actions[4]
    assert switch == SetLine(baud=9600, framing=LineFraming.BITS_7E1, at=approx(ident_end + 0.220))
    wait = trace.actions[5]
    assert isinstance(wait, Wait)
    assert wait.deadline == approx(ident_end + 0.220 + RT)
    done = trace.final
    assert isinstance(done, Done)
    result = done.result
    assert result.identification == Identification(
        manufacturer="ISk", baud_char="5", ident="MT174-0002"
    )
    assert result.mode is Mode.C
    assert result.baud == 9600
    assert result.readout is not None
    assert result.readout.data == "1.8.0(001234.5*kWh)\r\n"
    assert result.readout.check is Check.OK
    assert result.repeats == 0
    assert result.bus_free_at == approx(trace.rx_times[-1])
    assert trace.sent == [REQUEST, b"\x06050\r\n"]


def test_uppercase_meter_gets_200_ms() -> None:
    trace = run(readout_config(), [SLOW_IDENT, READOUT])
    option = trace.sends[1]
    assert option.not_before == approx(trace.rx_times[0] + 0.200)


def test_configured_reaction_time_wins() -> None:
    trace = run(readout_config(client_reaction_time=0.5), [FAST_IDENT, READOUT])
    assert trace.sends[1].not_before == approx(trace.rx_times[0] + 0.5)


def test_switch_delay_postpones_the_baud_switch() -> None:
    trace = run(readout_config(switch_delay=0.25), [FAST_IDENT, READOUT])
    option = trace.sends[1]
    assert trace.set_lines[1].at == approx(send_end(option, 300) + 0.25)


def test_mode_e_meter_is_read_as_mode_c() -> None:
    trace = run(readout_config(), [b"/Els6\\2EK280\r\n", READOUT])
    assert trace.sends[1].data == b"\x06060\r\n"
    assert trace.set_lines[-1].baud == 19200
    assert isinstance(trace.final, Done)
    assert trace.final.result.mode is Mode.C


def test_meter_at_300_only_gets_no_baud_switch() -> None:
    trace = run(readout_config(), [b"/ABC0METER\r\n", READOUT])
    assert trace.sends[1].data == b"\x06000\r\n"
    assert [s.baud for s in trace.set_lines] == [300]
    assert isinstance(trace.final, Done)


def test_max_baud_caps_the_option_select_then_falls_back_to_300() -> None:
    config = readout_config(max_baud=4800)
    trace = run(config, [b"/ABC6METER\r\n", SILENCE, b"/ABC6METER\r\n", READOUT])
    option_selects = [s.data for s in trace.sends if s.data.startswith(b"\x06")]
    # First try asks for the cap; a standard meter ignores a Z it did not offer and
    # stays at 300 Bd, so the retry asks for Z=0 and does not switch.
    assert option_selects == [b"\x06040\r\n", b"\x06000\r\n"]
    assert [s.baud for s in trace.set_lines] == [300, 4800, 300]
    assert isinstance(trace.final, Done)
    assert trace.final.result.baud == 300
    assert trace.final.result.repeats == 1


def test_unframed_readout_after_the_identification() -> None:
    data = b"1-0:1.8.0*255(000001.2963*kWh)\r\n!\r\n"
    trace = run(readout_config(), [b"/HAg5eHZ010C_EHZ1vA02\r\n", data])
    done = trace.final
    assert isinstance(done, Done)
    # Taken once nothing (no ETX) has followed its "!" for a moment.
    assert trace.actions[-2] == Wait(
        deadline=approx(trace.rx_times[-1] + READOUT_TAIL_WAIT), waiting_for="readout"
    )
    assert done.result.readout is not None
    assert done.result.readout.data == "1-0:1.8.0*255(000001.2963*kWh)\r\n"
    assert done.result.readout.check is Check.ABSENT


def test_meter_that_skips_the_identification() -> None:
    trace = run(readout_config(), [READOUT])
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.identification is None
    assert done.result.baud == 300
    assert done.result.readout is not None
    assert trace.sent == [REQUEST]


def test_readout_in_partial_blocks_is_acked_and_joined() -> None:
    first = DataMessage(data="1.8.0(1*kWh)\r\n", end=End.EOT).to_bytes()
    last = DataMessage.readout("2.8.0(2*kWh)\r\n").to_bytes()
    trace = run(readout_config(), [FAST_IDENT, first, last])
    assert trace.sent[-1] == ACK
    assert trace.sends[-1].not_before == approx(trace.rx_times[1] + 0.020)
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.readout is not None
    assert done.result.readout.data == "1.8.0(1*kWh)\r\n2.8.0(2*kWh)\r\n"


def test_chunked_reply_extends_the_deadline_by_the_inter_char_timeout() -> None:
    session = ClientSession(readout_config())
    session.start(0.0)
    actions = session.receive_data(FAST_IDENT[:5], 1.0)
    assert actions == [Wait(deadline=2.5, waiting_for="identification")]
    actions = session.receive_data(FAST_IDENT[5:], 1.2)
    assert isinstance(actions[0], Send)
    assert actions[0].not_before == approx(1.22)


# -- modes A, B, D and force_mode ----------------------------------------------------


def test_mode_a_reads_at_300_without_option_select() -> None:
    trace = run(readout_config(), [b"/ABC:METER\r\n", READOUT])
    assert trace.sent == [REQUEST]
    assert [s.baud for s in trace.set_lines] == [300]
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.mode is Mode.A
    assert done.result.baud == 300


def test_mode_b_switches_right_after_the_identification() -> None:
    trace = run(readout_config(), [b"/ABCEMETER\r\n", READOUT])
    assert trace.sent == [REQUEST]
    assert trace.set_lines[-1] == SetLine(
        baud=9600, framing=LineFraming.BITS_7E1, at=approx(trace.rx_times[0])
    )
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.mode is Mode.B
    assert done.result.baud == 9600


def test_force_mode_overrides_the_announced_mode() -> None:
    trace = run(readout_config(force_mode=Mode.B), [b"/ABC5METER\r\n", READOUT])
    assert trace.sent == [REQUEST]
    assert trace.set_lines[-1].baud == 9600
    assert isinstance(trace.final, Done)
    assert trace.final.result.mode is Mode.B


def test_force_mode_c_on_a_letter_meter_asks_for_the_same_rate() -> None:
    trace = run(readout_config(force_mode=Mode.C), [b"/ABCEMETER\r\n", READOUT])
    assert trace.sends[1].data == b"\x06050\r\n"


def test_eight_n_one_framing_everywhere() -> None:
    trace = run(readout_config(framing=LineFraming.BITS_8N1), [FAST_IDENT, READOUT])
    assert [s.framing for s in trace.set_lines] == [LineFraming.BITS_8N1] * 2
    assert isinstance(trace.final, Done)


def test_wake_up_sends_66_nuls_then_pauses() -> None:
    trace = run(readout_config(wake_up=True), [FAST_IDENT, READOUT])
    wake, request = trace.sends[:2]
    assert wake.data == b"\x00" * 66
    assert wake.not_before == 0.0
    pause = trace.actions[2]
    assert pause == Wait(
        deadline=approx(2.2 + WAKE_UP_PAUSE), waiting_for="wake-up pause", idle=True
    )
    assert request.data == REQUEST
    assert request.not_before == approx(2.2 + WAKE_UP_PAUSE)
    assert isinstance(trace.final, Done)


def test_push_mode_listens_at_2400_and_sends_nothing() -> None:
    ident = Identification(manufacturer="KFM", baud_char="3", ident="METER")
    telegram = push_telegram(ident, "\r\n1-0:1.8.1(001581.123*kWh)\r\n", with_crc=True)
    session = ClientSession(SessionConfig(mode=SessionMode.PUSH))
    actions = session.start(5.0)
    assert actions == [
        SetLine(baud=2400, framing=LineFraming.BITS_7E1, at=5.0),
        Wait(deadline=35.0, waiting_for="push telegram"),
    ]
    actions = session.receive_data(telegram[:20], 6.0)
    assert isinstance(actions[-1], Wait)
    actions = session.receive_data(telegram[20:], 6.1)
    (done,) = actions
    assert isinstance(done, Done)
    assert done.result.readout is not None
    assert done.result.readout.check is Check.OK
    assert done.result.readout.data == "\r\n1-0:1.8.1(001581.123*kWh)\r\n"
    assert done.result.identification == ident
    assert done.result.mode is Mode.D


@pytest.mark.parametrize(("with_crc", "check"), [(False, Check.ABSENT), (True, Check.BAD)])
def test_push_telegram_check_status(with_crc: bool, check: Check) -> None:
    ident = Identification(manufacturer="KFM", baud_char="3", ident="METER")
    telegram = push_telegram(ident, "\r\n1.8.1(1*kWh)\r\n", with_crc=with_crc)
    if with_crc:
        telegram = telegram[:-3] + (b"0" if telegram[-3:-2] != b"0" else b"1") + b"\r\n"
    trace = drive(ClientSession(SessionConfig(mode=SessionMode.PUSH, push_baud=115200)), [telegram])
    assert trace.sends == []
    assert trace.set_lines[0].baud == 115200
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.readout is not None
    assert done.result.readout.check is check


def test_push_mode_times_out() -> None:
    trace = drive(ClientSession(SessionConfig(mode=SessionMode.PUSH, push_timeout=5.0)), [])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, ProtocolTimeoutError)
    assert failed.error.waited == approx(5.0)


# -- readout failures -----------------------------------------------------------------


def test_bad_bcc_repeats_the_whole_sign_on() -> None:
    script: list[ScriptItem] = [FAST_IDENT, corrupt(READOUT), FAST_IDENT, corrupt(READOUT)]
    script += [FAST_IDENT, corrupt(READOUT), FAST_IDENT, READOUT]
    trace = run(readout_config(), script)
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.repeats == 3
    assert trace.sent.count(REQUEST) == 4
    # After the bad block: back to 300 Bd at once, a guard pause, then the request.
    bad_at = trace.rx_times[1]
    index = trace.actions.index(trace.set_lines[2])
    assert trace.set_lines[2] == SetLine(baud=300, framing=LineFraming.BITS_7E1, at=bad_at)
    guard = trace.actions[index + 1]
    assert guard == Wait(deadline=bad_at + BREAK_GUARD_TIME, waiting_for="guard pause", idle=True)
    assert trace.sends[2].data == REQUEST
    assert trace.sends[2].not_before == approx(bad_at + BREAK_GUARD_TIME)


def test_a_readout_that_lost_its_start_at_the_baud_switch_is_read_again() -> None:
    # The first bytes came before our switch and were heard as junk: what follows has
    # no STX. Taking it would store a readout with registers missing as good data.
    headless = b"\x7f~" + READOUT[READOUT.index(b"1.8.0") + 3 :]
    trace = run(readout_config(), [FAST_IDENT, headless, FAST_IDENT, READOUT])
    done = trace.final
    assert isinstance(done, Done)
    assert trace.sent.count(REQUEST) == 2
    assert done.result.readout is not None
    assert [d.address for d in done.result.readout.datasets] == ["1.8.0"]


def test_a_headless_readout_is_refused_before_its_etx_has_arrived() -> None:
    # The same, with the junk and the lines arriving up to "!" CR LF in one piece and
    # ETX BCC still on the wire: nothing in hand yet says the block was framed, but
    # after a switch to 9600 Bd it must have been.
    lines = READOUT[READOUT.index(b"1.8.0") + 3 : READOUT.index(b"\x03")]
    assert lines.endswith(b"!\r\n")
    tail = READOUT[READOUT.index(b"\x03") :]
    trace = run(readout_config(), [FAST_IDENT, b"\x7f~" + lines, tail, FAST_IDENT, READOUT])
    done = trace.final
    assert isinstance(done, Done)
    assert trace.sent.count(REQUEST) == 2
    assert done.result.readout is not None
    assert [d.address for d in done.result.readout.datasets] == ["1.8.0"]


def test_a_readout_without_start_every_time_fails_as_a_framing_problem() -> None:
    headless = READOUT[READOUT.index(b"1.8.0") + 2 :]
    assert headless.endswith(b"!\r\n\x03" + READOUT[-1:])
    trace = run(readout_config(), [FAST_IDENT, headless] * 4)
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, RetriesExhaustedError)
    assert isinstance(failed.error.last, FramingError)


def test_bad_bcc_four_times_fails_with_retries_exhausted() -> None:
    trace = run(readout_config(), [FAST_IDENT, corrupt(READOUT)] * 4)
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, RetriesExhaustedError)
    assert isinstance(failed.error.last, ChecksumError)
    assert failed.error.attempts == 4
    assert failed.result.identification is not None
    assert failed.result.bus_free_at == approx(trace.rx_times[-1] + BREAK_GUARD_TIME)


def test_silence_repeats_the_request_then_times_out() -> None:
    trace = run(readout_config(), [])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, ProtocolTimeoutError)
    assert failed.error.waiting_for == "identification"
    assert failed.error.waited == approx(RT)
    assert trace.sent == [REQUEST] * 4
    assert failed.result.repeats == 3


def test_silence_after_the_option_select_retries_then_succeeds() -> None:
    trace = run(readout_config(max_repeats=1), [FAST_IDENT, SILENCE, FAST_IDENT, READOUT])
    assert isinstance(trace.final, Done)
    assert [s.baud for s in trace.set_lines] == [300, 9600, 300, 9600]


def test_max_repeats_zero_gives_one_attempt() -> None:
    trace = run(readout_config(max_repeats=0), [])
    assert trace.sent == [REQUEST]
    assert isinstance(trace.final, Failed)


def test_error_reply_to_a_readout() -> None:
    trace = run(readout_config(), [FAST_IDENT, ErrorMessage(text="ER99").to_bytes()])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, RemoteError)
    assert failed.error.code == "ER99"


def test_programming_needs_mode_c() -> None:
    trace = run(programming_config(), [b"/ABC:METER\r\n"])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, UnsupportedModeError)
    assert B0 not in trace.sent  # no option select, so no programming to end


def test_abort_during_a_readout_sends_nothing() -> None:
    session = ClientSession(readout_config())
    session.start(0.0)
    (failed,) = session.abort(0.5)
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, SessionAbortedError)
    assert failed.error.state == "AWAIT_IDENT"


# -- programming ----------------------------------------------------------------------


def test_programming_session_e4_exact_bytes() -> None:
    reply = b"\x023:171.0(0)\x03\x12"
    trace = run(programming_config(), [b"/Els6\\2EK280\r\n", P0, ACK, reply])
    assert trace.sent == [
        REQUEST,
        b"\x06\x30\x36\x31\x0d\x0a",
        b"\x01P1\x02(00000000)\x03\x61",
        b"\x01R1\x021.8.0(1)\x03\x6b",
        B0,
    ]
    assert [s.description for s in trace.sends[1:]] == [
        "option select 061 (19200 Bd, programming)",
        "P1(***)",
        "R1 1.8.0(1)",
        "B0",
    ]
    assert trace.sends[2].sensitive
    done = trace.final
    assert isinstance(done, Done)
    (command,) = done.result.commands
    assert command.request == "R1 1.8.0(1)"
    assert command.data == "3:171.0(0)"
    assert command.ok
    # B0 goes out tr (20 ms: "Els") after the reply; the bus is free after its wire
    # time and the guard.
    b0 = trace.sends[-1]
    assert b0.not_before == approx(trace.rx_times[-1] + 0.020)
    assert done.result.bus_free_at == approx(send_end(b0, 19200) + BREAK_GUARD_TIME)
    assert done.result.break_sent


def test_p2_with_the_elster_scheme() -> None:
    config = programming_config(password_scheme="elster-a1140", commands=())
    trace = run(config, [SLOW_IDENT, SEED_P0, ACK])
    assert trace.sent[2] == b"\x01P2\x02(102398EFA843401F)\x03\x6d"
    assert trace.sends[2].description == "P2(***)"
    assert trace.sent[-1] == B0
    assert isinstance(trace.final, Done)


def test_no_password_goes_straight_to_the_commands() -> None:
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(programming_config(password=None), [SLOW_IDENT, P0, reply])
    assert trace.sent[2].startswith(b"\x01R1")
    assert isinstance(trace.final, Done)


def test_meter_without_p0_and_no_password() -> None:
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(programming_config(password=None), [SLOW_IDENT, SILENCE, reply])
    assert trace.sent[2].startswith(b"\x01R1")
    assert isinstance(trace.final, Done)


def test_wrong_password_nak_is_repeated_then_refused() -> None:
    trace = run(programming_config(), [SLOW_IDENT, P0, NAK, NAK, NAK, NAK])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, AuthenticationError)
    assert [s.description for s in trace.sends[2:]] == ["P1(***)"] + ["P1(***) (repeat)"] * 3 + [
        "B0"
    ]
    assert all(s.sensitive for s in trace.sends[2:6])


def test_nak_then_ack_on_the_password() -> None:
    trace = run(programming_config(commands=()), [SLOW_IDENT, P0, NAK, ACK])
    assert isinstance(trace.final, Done)
    assert trace.final.result.repeats == 1


@pytest.mark.parametrize(
    "refusal", [ErrorMessage(text="ERR1").to_bytes(), BREAK.to_bytes()], ids=["error", "break"]
)
def test_wrong_password_error_or_break(refusal: bytes) -> None:
    trace = run(programming_config(), [SLOW_IDENT, P0, refusal])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, AuthenticationError)
    assert trace.sent[-1] == B0
    assert failed.result.bus_free_at >= send_end(trace.sends[-1], 9600) + BREAK_GUARD_TIME - 1e-9


def test_break_instead_of_the_operand() -> None:
    trace = run(programming_config(), [SLOW_IDENT, BREAK.to_bytes()])
    assert isinstance(trace.final, Failed)
    assert isinstance(trace.final.error, AuthenticationError)
    assert trace.sent[-1] == B0


def test_partial_blocks_are_acked_and_joined() -> None:
    config = programming_config(commands=(ReadRequest.load_profile("02401010000", "", code="6"),))
    blocks = [
        DataMessage(data="P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n", end=End.EOT).to_bytes(),
        DataMessage(data="(0.5)\r\n", end=End.EOT).to_bytes(),
        DataMessage(data="(0.7)\r\n").to_bytes(),
    ]
    trace = run(config, [SLOW_IDENT, P0, ACK, *blocks])
    assert trace.sent[3] == Command.read("6", "P.01(02401010000;)").to_bytes()
    assert trace.sent[4:] == [ACK, ACK, B0]
    done = trace.final
    assert isinstance(done, Done)
    (command,) = done.result.commands
    assert command.data == "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(0.5)\r\n(0.7)\r\n"


def test_bad_bcc_in_a_reply_gets_a_nak() -> None:
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK, corrupt(reply), reply])
    assert trace.sent[4] == NAK
    done = trace.final
    assert isinstance(done, Done)
    assert done.result.commands[0].data == "1.8.0(1*kWh)"
    assert done.result.repeats == 1


def test_bad_bcc_four_times_fails_the_command_and_goes_on() -> None:
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    commands = (ReadRequest(dataset="1.8.0()"), WriteRequest(dataset="0.9.1(120000)"))
    trace = run(
        programming_config(commands=commands), [SLOW_IDENT, P0, ACK, *[corrupt(reply)] * 4, ACK]
    )
    assert trace.sent[4:7] == [NAK] * 3
    assert trace.sent[7] == Command.write("1", "0.9.1(120000)").to_bytes()
    done = trace.final
    assert isinstance(done, Done)
    first, second = done.result.commands
    assert isinstance(first.error, RetriesExhaustedError)
    assert isinstance(first.error.last, ChecksumError)
    assert second.ok
    assert second.data is None
    assert trace.sent[-1] == B0


def test_meter_nak_makes_us_repeat_the_command() -> None:
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK, NAK, reply])
    assert trace.sent[3] == trace.sent[4]
    assert trace.sends[4].description == "R1 1.8.0(1) (repeat)"
    assert isinstance(trace.final, Done)


def test_meter_nak_four_times_fails_the_command() -> None:
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK, NAK, NAK, NAK, NAK])
    done = trace.final
    assert isinstance(done, Done)
    assert isinstance(done.result.commands[0].error, RetriesExhaustedError)
    assert trace.sent[-1] == B0


def test_error_reply_is_recorded_and_the_session_goes_on() -> None:
    commands = (ReadRequest(dataset="9.9.9()"), ReadRequest(dataset="1.8.0()"))
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(
        programming_config(commands=commands),
        [SLOW_IDENT, P0, ACK, ErrorMessage(text="ER03").to_bytes(), reply],
    )
    done = trace.final
    assert isinstance(done, Done)
    first, second = done.result.commands
    assert isinstance(first.error, RemoteError)
    assert first.error.code == "ER03"
    assert first.error.command == "R1"
    assert second.data == "1.8.0(1*kWh)"


def test_meter_break_during_commands_fails_but_still_sends_b0() -> None:
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK, BREAK.to_bytes()])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, RemoteError)
    assert trace.sent[-1] == B0
    assert len(failed.result.commands) == 1


def test_silent_meter_during_commands() -> None:
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, ProtocolTimeoutError)
    assert failed.error.waiting_for == "reply to R1"
    assert trace.sent[3:] == [trace.sent[3]] * 4 + [B0]
    # B0 right at the timeout; the bus is free after its wire time and the guard.
    b0 = trace.sends[-1]
    timeout_at = trace.inputs[-1][1]
    assert b0.not_before == approx(timeout_at)
    assert failed.result.bus_free_at == approx(send_end(b0, 9600) + BREAK_GUARD_TIME)


def test_silence_after_a_programming_option_select_sends_b0_before_signing_on_again() -> None:
    trace = run(programming_config(max_repeats=1), [SLOW_IDENT, SILENCE, SLOW_IDENT, P0, ACK])
    # The second attempt's data is missing, so it ends in a timeout, but each
    # programming attempt is closed with B0 before the line goes back to 300 Bd.
    assert trace.sent[:4] == [REQUEST, b"\x06051\r\n", B0, REQUEST]
    assert trace.sent[-1] == B0


def test_abort_during_programming_sends_b0() -> None:
    session = ClientSession(programming_config())
    trace = drive(session, [SLOW_IDENT, P0])
    assert isinstance(trace.final, Failed)
    session = ClientSession(programming_config())
    session.start(0.0)
    session.receive_data(SLOW_IDENT, 1.0)
    session.receive_data(P0, 2.0)
    actions = session.abort(2.5)
    assert len(actions) == 2
    b0, failed = actions
    assert isinstance(b0, Send)
    assert b0.data == B0
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, SessionAbortedError)
    assert failed.error.state == "AWAIT_PASSWORD_ACK"
    assert failed.result.break_sent


def test_a_failing_scheme_is_an_authentication_error_without_its_message() -> None:
    def broken(operand: str, password: Password) -> str:
        raise RuntimeError(f"cannot use {password.reveal()}")

    unregister = register_scheme("test-broken", broken)
    try:
        config = programming_config(password=Password(SECRET), password_scheme="test-broken")
        trace = run(config, [SLOW_IDENT, P0])
    finally:
        unregister()
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, AuthenticationError)
    assert "RuntimeError" in str(failed.error)
    assert SECRET not in str(failed.error)
    assert failed.error.__cause__ is None
    assert failed.error.__suppress_context__
    assert trace.sent[-1] == B0


def test_any_exception_in_a_transition_becomes_failed_with_b0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(text: str) -> tuple[object, ...]:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(commands_module, "parse_datasets", explode)
    reply = DataMessage(data="1.8.0(1*kWh)").to_bytes()
    trace = run(programming_config(), [SLOW_IDENT, P0, ACK, reply])
    failed = trace.final
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, UnexpectedError)
    assert failed.error.exc_type == "RuntimeError"
    assert isinstance(failed.error.__cause__, RuntimeError)
    assert trace.sent[-1] == B0
    assert sum(isinstance(a, Done | Failed) for a in trace.actions) == 1


# -- API misuse -----------------------------------------------------------------------


def test_misuse_raises_session_state_error() -> None:
    session = ClientSession(readout_config())
    with pytest.raises(SessionStateError):
        session.receive_data(b"x", 0.0)
    with pytest.raises(SessionStateError):
        session.timeout(0.0)
    drive(session, [FAST_IDENT, READOUT])
    assert session.state is State.DONE
    calls: list[Callable[[], object]] = [
        lambda: session.start(9.0),
        lambda: session.receive_data(b"x", 9.0),
        lambda: session.timeout(9.0),
        lambda: session.abort(9.0),
    ]
    for call in calls:
        with pytest.raises(SessionStateError):
            call()


def test_every_live_state_handles_abort_and_every_waiting_state_timeout() -> None:
    live = [s for s in State if s not in TERMINAL]
    for state in live:
        assert (state, Event.ABORT) in TRANSITIONS
    for state in live:
        if state is not State.IDLE:
            assert (state, Event.TIMEOUT) in TRANSITIONS, state
    assert not any(state in TERMINAL for state, _ in TRANSITIONS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"address": "bad!"},
        {"max_baud": 1000},
        {"password_scheme": "no-such-scheme", "password": Password("x")},
        {"password_scheme": "elster-a1140"},
        {"commands": (ReadRequest(dataset="1.8.0()"),)},
        {"reply_timeout": 0},
        {"max_repeats": -1},
        {"switch_delay": -0.1},
        {"client_reaction_time": 2.0},
        {"option_select_protocol": "2"},
        {"mode": SessionMode.PROGRAMMING, "force_mode": Mode.A},
    ],
)
def test_config_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SessionConfig(**kwargs)  # type: ignore[arg-type]


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="read code"):
        ReadRequest(dataset="1.8.0()", code="7")
    with pytest.raises(ValueError, match="write code"):
        WriteRequest(dataset="1.8.0()", code="6")
    with pytest.raises(ValueError, match="printable"):
        ReadRequest(dataset="1.8.0(\x03)")


# -- properties -----------------------------------------------------------------------


class Behaviour(enum.Enum):
    GOOD = enum.auto()
    GARBAGE = enum.auto()
    SILENCE = enum.auto()
    NAK = enum.auto()
    BAD_BCC = enum.auto()
    ERROR = enum.auto()
    BREAK = enum.auto()
    PARTIAL = enum.auto()


def _good_reply(heard: bytes) -> bytes | None:
    if heard.startswith(b"/?"):
        return FAST_IDENT
    if len(heard) == 6 and heard[0] == 0x06:
        return SEED_P0 if heard[3:4] == b"1" else READOUT
    if heard.startswith(b"\x01P"):
        return ACK
    if heard.startswith(b"\x01W"):
        return ACK
    if heard.startswith(b"\x01R") or heard in (ACK, NAK):
        return DataMessage(data="1.8.0(1*kWh)").to_bytes()
    return None


def responsive_meter(behaviours: list[Behaviour]) -> Responder:
    remaining = iter(behaviours)

    def respond(heard: list[bytes]) -> ScriptItem:
        behaviour = next(remaining, Behaviour.SILENCE)
        good = _good_reply(heard[-1] if heard else b"")
        if behaviour is Behaviour.GOOD:
            return SILENCE if good is None else good
        if behaviour is Behaviour.GARBAGE:
            return Reply(b"\x7f\x00zz\xff", delay=0.3)
        if behaviour is Behaviour.NAK:
            return NAK
        if behaviour is Behaviour.BAD_BCC:
            return corrupt(good) if good and good[0] in (1, 2) else b"\x02junk\x03\x00"
        if behaviour is Behaviour.ERROR:
            return ErrorMessage(text="ER01").to_bytes()
        if behaviour is Behaviour.BREAK:
            return BREAK.to_bytes()
        if behaviour is Behaviour.PARTIAL:
            return DataMessage(data="1.8.0(1)\r\n", end=End.EOT).to_bytes()
        return SILENCE

    return respond


# Half the replies are good ones, so that runs get past the sign-on and the password.
behaviour_lists = st.lists(
    st.one_of(st.just(Behaviour.GOOD), st.sampled_from(list(Behaviour))), max_size=40
)
configs = st.builds(
    programming_config,
    password=st.just(Password(SECRET)),
    password_scheme=st.sampled_from([None, "elster-a1140"]),
    commands=st.just((ReadRequest(dataset="1.8.0()"), WriteRequest(dataset="0.9.1(120000)"))),
    wake_up=st.booleans(),
    max_baud=st.sampled_from([None, 2400]),
    switch_delay=st.sampled_from([0.0, 0.1]),
    max_repeats=st.integers(min_value=0, max_value=3),
)


def _check_timing(trace: Trace, switch_delay: float) -> None:
    """Sends never overlap, and no switch cuts the last byte sent at the old rate."""
    baud = 300
    last_end = float("-inf")
    for action in trace.actions:
        if isinstance(action, Send):
            assert action.not_before >= last_end - 1e-9
            last_end = action.end(baud)
        elif isinstance(action, SetLine):
            assert action.at >= last_end + switch_delay - 1e-9
            baud = action.baud


@settings(max_examples=300, deadline=None)
@given(config=configs, behaviours=behaviour_lists)
def test_b0_always_closes_a_programming_session(
    config: SessionConfig, behaviours: list[Behaviour]
) -> None:
    trace = drive(ClientSession(config), responsive_meter(behaviours), max_steps=400)
    final = trace.final
    programming = any(len(d) == 6 and d[0] == 0x06 and d[3:4] == b"1" for d in trace.sent)
    if programming:
        assert trace.sent[-1] == B0
        assert final.result.break_sent
        b0 = trace.sends[-1]
        assert final.result.bus_free_at >= b0.not_before + BREAK_GUARD_TIME
    _check_timing(trace, config.switch_delay)


def _texts(trace: Trace) -> list[str]:
    texts: list[str] = []
    for action in trace.actions:
        texts += [repr(action), str(action)]
        if isinstance(action, Send):
            texts.append(action.description)
        if isinstance(action, Done | Failed):
            texts += [repr(action.result), str(action.result)]
            for command in action.result.commands:
                texts += [repr(command), str(command.error)]
        if isinstance(action, Failed):
            error: BaseException | None = action.error
            while error is not None:
                texts += [repr(error), str(error)]
                nested = getattr(error, "last", None)
                error = nested if isinstance(nested, BaseException) else error.__cause__
    return texts


@settings(max_examples=200, deadline=None)
@given(config=configs, behaviours=behaviour_lists)
def test_no_password_in_any_repr(config: SessionConfig, behaviours: list[Behaviour]) -> None:
    trace = drive(ClientSession(config), responsive_meter(behaviours), max_steps=400)
    for text in _texts(trace):
        assert SECRET not in text
    assert SECRET not in repr(config)
    plain = [s for s in trace.sends if s.data.startswith(b"\x01P1")]
    for send in plain:
        assert SECRET.encode() in send.data  # the test would notice a leak
        assert send.sensitive


@settings(max_examples=150, deadline=None)
@given(
    mode=st.sampled_from([SessionMode.READOUT, SessionMode.PUSH]),
    chunks=st.lists(st.binary(max_size=40), max_size=12),
)
def test_random_bytes_never_raise(mode: SessionMode, chunks: list[bytes]) -> None:
    session = ClientSession(SessionConfig(mode=mode))
    actions = session.start(0.0)
    now = 0.0
    for chunk in chunks:
        if session.state in TERMINAL:
            break
        now += 0.1
        actions = session.receive_data(chunk, now)
        assert isinstance(actions[-1], Wait | Done | Failed)
    if session.state not in TERMINAL:
        actions = session.timeout(now + 100)
    assert isinstance(actions[-1], Wait | Done | Failed)


def test_protocol_errors_are_the_only_failures() -> None:
    assert issubclass(SessionAbortedError, ProtocolError)
    assert issubclass(UnexpectedError, ProtocolError)


def test_a_failed_session_is_freed_without_the_cyclic_collector() -> None:
    # The error's traceback would hold the session's frames, and the session the
    # Failed that holds the error: garbage that waits for a full collection.
    gc.disable()
    try:
        session = ClientSession(readout_config())
        alive = weakref.ref(session)
        actions = session.start(0.0)
        while not isinstance(actions[-1], Failed):
            wait = actions[-1]
            assert isinstance(wait, Wait)
            actions = session.timeout(wait.deadline)
        failed = actions[-1]
        assert isinstance(failed.error, ProtocolTimeoutError)
        del session, actions, wait
        assert alive() is None
    finally:
        gc.enable()
