"""Fuzz targets for the protocol core (issue 7): random bytes and mutated real telegrams.

Every target is a ``fuzz_*`` function that draws one input from a hypothesis
``DataObject`` and checks what must hold for *every* input:

* **No exception outside the ProtocolError family.** The session turns any exception
  in a transition into ``Failed(UnexpectedError)``; that safety net firing is a bug
  as well, so the targets reject it. Nothing at all may escape the session's API
  (its contract: only misuse raises, and the driver here never misuses it).
* **No hang.** Every session ends, ``Done`` or ``Failed``, after a bounded number of
  timeouts in a row, whatever the meter said before it fell silent; the decoder's
  work stays linear (``test_pathological_streams_stay_bounded``).
* **Bounded memory.** The decoder never holds much more than ``max_frame`` bytes,
  however the stream is chunked, and a session's decoder neither.
* The decoder's own promises: frames do not depend on chunking, and a frame whose
  BCC verified reads back equal through the strict ``from_bytes``.
* A programming session that sent its option select ends with a B0, on every path;
  readout and push sessions never send one, and push sessions send nothing.

Inputs are arbitrary bytes, and real telegrams from ``shared/corpus`` mutated by
bit flips (``tests.corpus``), pokes of protocol characters, insertions, deletions,
truncation, duplicated segments and splices of two telegrams, fed in random chunks.
The session is driven by a fuzzed meter that answers each ``Wait`` with a good
reply, a canned message of any state, a capture or random bytes, mutated, in chunks,
at random times (late ones arrive after the session has moved on), or stays silent,
or the engine aborts.

The tests run the targets at small example counts so the suite stays fast;
``make fuzz`` (``fuzz/run.py``) runs the same functions for minutes. ``INPUTS`` holds
the current example's raw input so that the fuzz runner can save a crashing one.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import math
import random
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.protocol import (
    BREAK,
    Ack,
    Action,
    Check,
    ClientSession,
    Command,
    CommandKind,
    DataMessage,
    Done,
    End,
    ErrorMessage,
    Failed,
    Frame,
    FrameDecoder,
    Identification,
    LineFraming,
    Mode,
    Nak,
    OptionSelect,
    Password,
    ProtocolError,
    ReadRequest,
    Request,
    Role,
    Send,
    SessionConfig,
    SessionMode,
    SetLine,
    UnexpectedError,
    Wait,
    WriteRequest,
    decode_capture,
    decode_frames,
    push_telegram,
    scan_data_block,
    scan_profile,
    wire_time,
)
from poller.protocol._constants import BREAK_GUARD_TIME

from ..corpus import corpus_paths, draw_mutated_capture, require_corpus

CAPTURE_PATHS = [p for p in corpus_paths("**/*") if p.is_file() and p.name != "README.md"]
CAPTURES = [p.read_bytes() for p in CAPTURE_PATHS]
INPUTS: dict[str, object] = {}
"""The current example's input by name; the fuzz runner saves it when a target fails."""

DEFAULT_MAX_FRAME = FrameDecoder().max_frame
# A P1 block may end right at max_frame; its "!", four CRC digits and CR LF follow.
MAX_FRAME_SLACK = 8
B0 = BREAK.to_bytes()
BERLIN = ZoneInfo("Europe/Berlin")

# Small counts for the suite (a few seconds in all); fuzz/run.py raises them.
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- mutations --------------------------------------------------------------------------


class Op(enum.Enum):
    FLIP = "flip"
    """Flip bit ``size % 8`` of the byte at ``at``."""
    POKE = "poke"
    """Overwrite the byte at ``at`` with a protocol character."""
    INSERT = "insert"
    """Insert ``payload`` at ``at``."""
    DELETE = "delete"
    """Delete ``size`` bytes from ``at``."""
    TRUNCATE = "truncate"
    """Cut everything from ``at``."""
    DUPLICATE = "duplicate"
    """Repeat the ``size`` bytes from ``at`` right after themselves."""
    SPLICE = "splice"
    """Replace everything from ``at`` with the partner's bytes from ``size``."""


# The characters every decoder decision turns on, with parity bits set on some.
POKE_BYTES = b"\x00\x01\x02\x03\x04\x06\x15\n\r/!?()*&;\x7f\x81\x82\x83\x86\xaf"


@dataclass(frozen=True, slots=True)
class Mutation:
    """One edit; positions are taken modulo the length, so every mutation applies."""

    op: Op
    at: int
    size: int = 1
    payload: bytes = b""


def mutate(data: bytes, mutations: Iterable[Mutation], partner: bytes = b"") -> bytes:
    buf = bytearray(data)
    for m in mutations:
        n = len(buf)
        if m.op is Op.INSERT:
            i = m.at % (n + 1)
            buf[i:i] = m.payload
        elif m.op is Op.TRUNCATE:
            del buf[m.at % (n + 1) :]
        elif m.op is Op.SPLICE:
            buf[m.at % (n + 1) :] = partner[m.size % (len(partner) + 1) :]
        elif n == 0:
            continue
        elif m.op is Op.FLIP:
            buf[m.at % n] ^= 1 << (m.size % 8)
        elif m.op is Op.POKE:
            buf[m.at % n] = POKE_BYTES[m.size % len(POKE_BYTES)]
        elif m.op is Op.DELETE:
            i = m.at % n
            del buf[i : i + m.size]
        else:
            i = m.at % n
            segment = buf[i : i + m.size]
            buf[i + len(segment) : i + len(segment)] = segment
    return bytes(buf)


def chunks(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` split at ``cuts`` (taken modulo its length); never an empty list."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    parts = [data[a:b] for a, b in itertools.pairwise(points)]
    return parts or [b""]


mutations = st.builds(
    Mutation,
    op=st.sampled_from(Op),
    at=st.integers(min_value=0, max_value=1 << 16),
    size=st.integers(min_value=0, max_value=64),
    payload=st.binary(max_size=24),
)
cut_lists = st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=24)
max_frames = st.sampled_from([128, 200, 1024, DEFAULT_MAX_FRAME])


def draw_telegram(data: st.DataObject) -> bytes:
    """A real capture, maybe bit-flipped, then edited by up to six mutations."""
    require_corpus()
    if data.draw(st.booleans(), label="bit flips first"):
        base = draw_mutated_capture(data, CAPTURE_PATHS, max_flips=8)
    else:
        base = data.draw(st.sampled_from(CAPTURES), label="capture")
    partner = data.draw(st.sampled_from(CAPTURES), label="splice partner")
    edits = data.draw(st.lists(mutations, max_size=6), label="mutations")
    return mutate(base, edits, partner)


# -- decoder and parsers ----------------------------------------------------------------


def check_decoder(raw: bytes, cuts: Iterable[int], *, role: Role, max_frame: int) -> None:
    """Chunked decoding equals one-shot decoding, within the buffer bound."""
    INPUTS["stream"] = raw
    whole = FrameDecoder(role=role, max_frame=max_frame)
    whole.receive_data(raw)
    try:
        expected = [*whole.frames(), *whole.end_of_data()]
    except ProtocolError:
        return
    decoder = FrameDecoder(role=role, max_frame=max_frame)
    frames: list[Frame] = []
    for part in chunks(raw, cuts):
        decoder.receive_data(part)
        frames.extend(decoder.frames())
        assert decoder.buffered <= max_frame + MAX_FRAME_SLACK, decoder.buffered
    frames.extend(decoder.end_of_data())
    assert decoder.buffered == 0
    assert frames == expected
    for frame in frames:
        message = frame.message
        if frame.check is Check.OK and isinstance(message, DataMessage | Command):
            assert type(message).from_bytes(frame.raw) == message, frame


def check_pipeline(raw: bytes) -> None:
    """What ``iec-poller decode`` does with a capture, every lazy property included."""
    INPUTS["stream"] = raw
    try:
        telegrams = decode_capture(raw)
    except ProtocolError:
        telegrams = []
    for telegram in telegrams:
        _ = telegram.checksum_ok
        for text in (telegram.data, telegram.block):
            block = scan_data_block(text)
            for dataset in block.datasets:
                _ = dataset.obis, dataset.value, dataset.unit
                for value in dataset.values:
                    _ = value.decimal, value.encode()
                    stamp = value.timestamp
                    if stamp is not None:
                        stamp.to_datetime(BERLIN)
            for record in scan_profile(text).records:
                _ = record.status_code, [c.obis for c in record.channels]
                record.time.to_datetime(BERLIN)
    # The strict decoders, on the whole input and on every frame the stream decoder saw.
    pieces = [raw] + [frame.raw for frame in decode_frames(raw)]
    strict = (Request, Identification, OptionSelect, Ack, Nak, DataMessage, Command, ErrorMessage)
    for piece in pieces:
        for kind in strict:
            with contextlib.suppress(ProtocolError):
                kind.from_bytes(piece)


def fuzz_decoder_bytes(data: st.DataObject) -> None:
    raw = data.draw(st.binary(max_size=1200), label="bytes")
    cuts = data.draw(cut_lists, label="cuts")
    max_frame = data.draw(max_frames, label="max_frame")
    for role in Role:
        check_decoder(raw, cuts, role=role, max_frame=max_frame)


def fuzz_decoder_telegrams(data: st.DataObject) -> None:
    raw = draw_telegram(data)
    cuts = data.draw(cut_lists, label="cuts")
    max_frame = data.draw(max_frames, label="max_frame")
    for role in Role:
        check_decoder(raw, cuts, role=role, max_frame=max_frame)


def fuzz_pipeline(data: st.DataObject) -> None:
    if data.draw(st.booleans(), label="random bytes"):
        raw = data.draw(st.binary(max_size=1200), label="bytes")
    else:
        raw = draw_telegram(data)
    check_pipeline(raw)


# -- the session against a fuzzed meter -------------------------------------------------


class SessionKind(enum.Enum):
    READOUT = "readout"
    """Modes A, B and C: the meter's identification decides, or ``force_mode``."""
    PROGRAMMING_P1 = "programming-p1"
    PROGRAMMING_P2 = "programming-p2"
    PROGRAMMING_OPEN = "programming-without-password"
    PUSH = "push"


SECRET = "S3cr3tPw"
COMMANDS = (
    ReadRequest(dataset="1.8.0()"),
    WriteRequest(dataset="0.9.1(120000)"),
    ReadRequest.load_profile(),
    ReadRequest.load_profile(profile="P.98", code="6"),
)


@st.composite
def session_configs(draw: st.DrawFn, kind: SessionKind) -> SessionConfig:
    common: dict[str, object] = {
        "address": draw(st.sampled_from(["", "12345678"])),
        "max_repeats": draw(st.integers(min_value=0, max_value=3)),
        "framing": draw(st.sampled_from(LineFraming)),
        "wake_up": draw(st.booleans()),
        "switch_delay": draw(st.sampled_from([0.0, 0.05])),
        "client_reaction_time": draw(st.sampled_from([None, 0.0, 0.2])),
        "reply_timeout": draw(st.sampled_from([0.3, 2.0])),
        "inter_char_timeout": draw(st.sampled_from([0.1, 1.5])),
    }
    if kind is SessionKind.PUSH:
        return SessionConfig(
            mode=SessionMode.PUSH,
            push_timeout=draw(st.sampled_from([1.0, 30.0])),
            push_baud=draw(st.sampled_from([2400, 9600])),
            **common,  # type: ignore[arg-type]
        )
    max_baud = draw(st.sampled_from([None, 2400, 19200]))
    if kind is SessionKind.READOUT:
        return SessionConfig(
            force_mode=draw(st.sampled_from([None, Mode.A, Mode.B, Mode.C, Mode.E])),
            max_baud=max_baud,
            **common,  # type: ignore[arg-type]
        )
    return SessionConfig(
        mode=SessionMode.PROGRAMMING,
        password=None if kind is SessionKind.PROGRAMMING_OPEN else Password(SECRET),
        password_scheme="elster-a1140" if kind is SessionKind.PROGRAMMING_P2 else None,
        commands=tuple(draw(st.lists(st.sampled_from(COMMANDS), max_size=3))),
        force_mode=draw(st.sampled_from([None, Mode.C, Mode.E])),
        max_baud=max_baud,
        **common,  # type: ignore[arg-type]
    )


class MoveKind(enum.Enum):
    TALK = "talk"
    SILENCE = "silence"
    ABORT = "abort"
    """The engine aborts the session (shutdown) instead of waiting."""


class Source(enum.Enum):
    ANSWER = "answer"
    """What a good meter answers to what it heard last."""
    STOCK = "stock"
    """A canned message of any state (``STOCK[pick]``)."""
    CORPUS = "corpus"
    """A real capture (``CAPTURES[pick]``)."""
    RANDOM = "random"
    """The move's ``payload``."""


@dataclass(frozen=True, slots=True)
class Move:
    """What the fuzzed meter does at one ``Wait`` of the session."""

    kind: MoveKind = MoveKind.TALK
    source: Source = Source.ANSWER
    pick: int = 0
    payload: bytes = b""
    mutations: tuple[Mutation, ...] = ()
    cuts: tuple[int, ...] = ()
    delay: float = 0.05
    """Seconds from the start of the meter's turn to its first byte."""
    gap: float = 0.0
    """Seconds between two chunks, on top of their wire time."""


def _data(text: str, end: End = End.ETX) -> bytes:
    return DataMessage(data=text, end=end).to_bytes()


IDENTS = (
    b"/ISk5MT174-0002\r\n",  # mode C, fast (tr 20 ms), 9600 Bd
    b"/LGZ4ZMF100AC.M26\r\n",  # mode C, 4800 Bd
    b"/ABC0X\r\n",  # mode C at 300 only
    b"/EMH6\\2LZQJL0013G\r\n",  # mode E (read as C), 19200 Bd
    b"/LGZE1-1\r\n",  # mode B, 9600 Bd
    b"/ABC@modeA\r\n",  # mode A
    b"/KFM5METER\r\n\n",  # LF LF
)
READOUT = DataMessage.readout("1.8.0(001234.5*kWh)\r\n0.9.1(120000)\r\n").to_bytes()
PARTIAL = _data("1.8.0(1*kWh)\r\n", End.EOT)
LAST_BLOCK = DataMessage.readout("2.8.0(0*kWh)\r\n").to_bytes()
P0 = Command(kind=CommandKind.PASSWORD, code="0", data="(1234567)").to_bytes()
SEED_P0 = Command(kind=CommandKind.PASSWORD, code="0", data="(0123456789ABCDEF)").to_bytes()
REGISTER = _data("1.8.0(001234.5*kWh)")
PROFILE = _data(
    "P.01(1220823161500)(00000000)(15)(2)(1.5)(kW)(2.5)(kW)\r\n(0.18374)(0.00078)\r\n(0.1)(0.2)\r\n"
)
LOGBOOK = _data("P.98(1220823161500)(00002000)()(0)\r\n")
_PUSH_IDENT = Identification(manufacturer="KFM", baud_char="5", ident="METER")
PUSH_P1 = push_telegram(_PUSH_IDENT, "\r\n1-0:1.8.1(001581.123*kWh)\r\n", with_crc=True)
PUSH_D = push_telegram(_PUSH_IDENT, "\r\n1-0:1.8.1*255(032942.0231)\r\n", with_crc=False)
STOCK = (
    *IDENTS,
    READOUT,
    PARTIAL,
    LAST_BLOCK,
    P0,
    SEED_P0,
    REGISTER,
    PROFILE,
    LOGBOOK,
    ErrorMessage(text="ER01").to_bytes(),
    b"\x06",
    b"\x15",
    B0,
    PUSH_P1,
    PUSH_D,
    b"/?12345678!\r\n",
    OptionSelect.readout("5").to_bytes(),
    OptionSelect.programming("5").to_bytes(),
    b"\x7f\x00\x00",
)


class FuzzedMeter:
    """Bytes for each move: a good answer to what was heard, or anything else."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.last = b""

    def answer(self, heard: Sequence[bytes], pick: int) -> bytes:
        said = heard[-1] if heard else b""
        if self.config.mode is SessionMode.PUSH:
            reply = (PUSH_P1, PUSH_D)[pick % 2]
        elif said.startswith(b"/?"):
            reply = IDENTS[pick % len(IDENTS)]
        elif not said and self.last in IDENTS:
            reply = (READOUT, PARTIAL)[pick % 2]  # modes A and B: the readout follows
        elif len(said) == 6 and said[0] == 0x06:
            if said[3:4] == b"1":
                reply = SEED_P0 if self.config.password_scheme else P0
            else:
                reply = (READOUT, PARTIAL)[pick % 2]
        elif said.startswith((b"\x01P", b"\x01W")):
            reply = b"\x06"
        elif said.startswith((b"\x01R5", b"\x01R6")):
            reply = (PROFILE, LOGBOOK, PARTIAL)[pick % 3]
        elif said.startswith(b"\x01R"):
            reply = (REGISTER, PARTIAL)[pick % 2]
        elif said == b"\x06":
            reply = (LAST_BLOCK, PARTIAL)[pick % 2]
        elif said == b"\x15":
            reply = self.last
        else:
            reply = b""  # after B0, wake-up NULs or nothing at all: the meter is quiet
        self.last = reply
        return reply

    def talk(self, move: Move, heard: Sequence[bytes]) -> bytes:
        if move.source is Source.ANSWER:
            base = self.answer(heard, move.pick)
        elif move.source is Source.STOCK:
            base = STOCK[move.pick % len(STOCK)]
        elif move.source is Source.CORPUS:
            base = CAPTURES[move.pick % len(CAPTURES)] if CAPTURES else b""
        else:
            base = move.payload
        partner = STOCK[(move.pick + 1) % len(STOCK)]
        return mutate(base, move.mutations, partner)


def idle_limit(config: SessionConfig) -> int:
    """Timeouts in a row after which a session must have ended.

    Per sign-on attempt: a wake-up pause, the identification (or a reply) and the guard
    pause, for 1 + max_repeats attempts; then one step's repeats. Generous on purpose:
    a hang shows as an unbounded count, not as a count just over a tight limit.
    """
    return 4 * (config.max_repeats + 1) + 8


def is_programming_option_select(data: bytes) -> bool:
    return len(data) == 6 and data[0] == 0x06 and data[3:4] == b"1"


@dataclass(frozen=True, slots=True)
class SessionRun:
    actions: tuple[Action, ...]
    steps: int

    @property
    def sends(self) -> list[Send]:
        return [a for a in self.actions if isinstance(a, Send)]

    @property
    def final(self) -> Done | Failed:
        last = self.actions[-1]
        assert isinstance(last, Done | Failed)
        return last


def _check_turn(actions: list[Action], session: ClientSession) -> None:
    assert actions, "the session returned no action"
    assert isinstance(actions[-1], Wait | Done | Failed), actions[-1]
    assert not any(isinstance(a, Wait | Done | Failed) for a in actions[:-1]), actions
    last = actions[-1]
    if isinstance(last, Wait):
        assert math.isfinite(last.deadline), last
    # The session's decoder holds one frame at most, whatever the meter sends.
    assert session._decoder.buffered <= DEFAULT_MAX_FRAME + MAX_FRAME_SLACK


def run_session(config: SessionConfig, moves: Sequence[Move]) -> SessionRun:
    """Drive a session against the fuzzed meter until it ends; check it cannot hang."""
    INPUTS["session"] = (config, tuple(moves))
    session = ClientSession(config)
    meter = FuzzedMeter(config)
    remaining = iter(moves)
    pending: deque[tuple[float, bytes]] = deque()  # what the meter has on the wire
    heard: list[bytes] = []
    trace: list[Action] = []
    baud, turn, now = 300, 0.0, 0.0
    idle = 0
    limit = idle_limit(config)
    actions = session.start(0.0)
    steps = 0
    while True:
        steps += 1
        _check_turn(actions, session)
        trace.extend(actions)
        for action in actions:
            if isinstance(action, Send):
                heard.append(action.data)
                turn = max(turn, action.end(baud))
            elif isinstance(action, SetLine):
                baud = action.baud
                turn = max(turn, action.at)
        wait = actions[-1]
        if not isinstance(wait, Wait):
            return SessionRun(actions=tuple(trace), steps=steps)
        if not pending and not wait.idle:  # a pause (wake-up, guard) gets no move
            move = next(remaining, Move(kind=MoveKind.SILENCE))
            if move.kind is MoveKind.ABORT:
                actions = session.abort(now)
                continue
            if move.kind is MoveKind.TALK:
                reply = meter.talk(move, heard)
                at = max(now, turn) + move.delay
                for part in chunks(reply, move.cuts):
                    if part:
                        at += move.gap + wire_time(len(part), baud)
                        pending.append((at, part))
            heard = []
        if pending and pending[0][0] <= wait.deadline:
            at, part = pending.popleft()
            now = max(now, at)
            actions = session.receive_data(part, now)
            idle = 0
        else:
            # Silence, or the meter's next byte comes too late: the deadline passes.
            now = max(now, wait.deadline)
            actions = session.timeout(now)
            idle += 1
            assert idle <= limit, f"{idle} timeouts in a row and the session still runs"


def check_session_run(config: SessionConfig, run: SessionRun) -> None:
    final = run.final
    if isinstance(final, Failed):
        # UnexpectedError is the session's safety net for a non-protocol exception.
        assert not isinstance(final.error, UnexpectedError), repr(final.error.__cause__)
    sends = run.sends
    if any(is_programming_option_select(s.data) for s in sends):
        assert sends[-1].data == B0, sends[-1]
        assert final.result.break_sent
        assert final.result.bus_free_at >= sends[-1].not_before + BREAK_GUARD_TIME - 1e-9
    elif config.mode is not SessionMode.PROGRAMMING:
        assert B0 not in [s.data for s in sends]
    if config.mode is SessionMode.PUSH:
        assert not sends, "a push session only listens"
    if isinstance(final, Done):
        if config.mode is SessionMode.PROGRAMMING:
            assert len(final.result.commands) == len(config.commands)
        else:
            assert final.result.readout is not None
    # Our sends never overlap, and no baud switch cuts our last byte at the old rate.
    baud, last_end = 300, float("-inf")
    for action in run.actions:
        if isinstance(action, Send):
            assert action.not_before >= last_end - 1e-9
            last_end = action.end(baud)
        elif isinstance(action, SetLine):
            assert action.at >= last_end + config.switch_delay - 1e-9
            baud = action.baud


_delays = st.sampled_from([0.02, 0.0, 0.05, 0.2, 1.0, 2.5])
_gaps = st.sampled_from([0.0, 0.001, 0.05, 0.2, 1.6])


_KINDS = [MoveKind.TALK] * 45 + [MoveKind.SILENCE] * 4 + [MoveKind.ABORT]
_SOURCES = [Source.ANSWER] * 15 + [Source.STOCK] * 2 + [Source.RANDOM, Source.CORPUS]
_SOURCES_NO_CORPUS = [s for s in _SOURCES if s is not Source.CORPUS]


@st.composite
def moves(draw: st.DrawFn, with_corpus: bool) -> Move:
    # Mostly good answers, so that sessions get deep; every kind of trouble in between.
    # (Weighted lists, not integer rolls: hypothesis favours small and boundary integers.)
    kind = draw(st.sampled_from(_KINDS))
    source = draw(st.sampled_from(_SOURCES if with_corpus else _SOURCES_NO_CORPUS))
    edits: list[Mutation] = []
    if draw(st.sampled_from([False] * 4 + [True])):
        edits = draw(st.lists(mutations, min_size=1, max_size=3))
    return Move(
        kind=kind,
        source=source,
        pick=draw(st.integers(min_value=0, max_value=255)),
        payload=draw(st.binary(max_size=64)) if source is Source.RANDOM else b"",
        mutations=tuple(edits),
        cuts=tuple(draw(st.lists(st.integers(min_value=0, max_value=4096), max_size=4))),
        delay=draw(_delays),
        gap=draw(_gaps),
    )


def fuzz_session(data: st.DataObject, kind: SessionKind | None = None) -> None:
    if kind is None:
        kind = data.draw(st.sampled_from(SessionKind), label="kind")
    config = data.draw(session_configs(kind), label="config")
    plan = data.draw(
        st.lists(moves(with_corpus=bool(CAPTURES)), min_size=3, max_size=40), label="moves"
    )
    check_session_run(config, run_session(config, plan))


TARGETS = {
    "decoder-bytes": fuzz_decoder_bytes,
    "decoder-telegrams": fuzz_decoder_telegrams,
    "pipeline": fuzz_pipeline,
    "session": fuzz_session,
}
"""What ``fuzz/run.py`` runs, by name."""


# -- the tests --------------------------------------------------------------------------


@FAST
@given(st.data())
def test_decoder_survives_arbitrary_bytes_in_any_chunks(data: st.DataObject) -> None:
    fuzz_decoder_bytes(data)


@FAST
@given(st.data())
def test_decoder_survives_mutated_telegrams_in_any_chunks(data: st.DataObject) -> None:
    fuzz_decoder_telegrams(data)


@FAST
@given(st.data())
def test_parsers_survive_random_and_mutated_telegrams(data: st.DataObject) -> None:
    fuzz_pipeline(data)


@pytest.mark.parametrize("kind", list(SessionKind), ids=[k.value for k in SessionKind])
@FAST
@given(data=st.data())
def test_every_session_ends_against_a_fuzzed_meter(kind: SessionKind, data: st.DataObject) -> None:
    fuzz_session(data, kind)


def test_the_fuzzed_meter_can_complete_every_kind_of_session() -> None:
    """The driver is no straw man: good answers take each kind of session to Done."""
    for kind in SessionKind:
        commands = COMMANDS if kind is not SessionKind.READOUT else ()
        if kind is SessionKind.PUSH:
            config = SessionConfig(mode=SessionMode.PUSH)
        elif kind is SessionKind.READOUT:
            config = SessionConfig()
        else:
            config = SessionConfig(
                mode=SessionMode.PROGRAMMING,
                password=None if kind is SessionKind.PROGRAMMING_OPEN else Password(SECRET),
                password_scheme="elster-a1140" if kind is SessionKind.PROGRAMMING_P2 else None,
                commands=commands,
            )
        run = run_session(config, [Move()] * 12)
        assert isinstance(run.final, Done), (kind, run.final)
        check_session_run(config, run)
    for pick in range(len(IDENTS)):  # modes A, B, C and E through their identifications
        run = run_session(SessionConfig(), [Move(pick=pick), Move(), Move()])
        assert isinstance(run.final, Done), (IDENTS[pick], run.final)


def test_a_late_reply_and_an_abort_still_end_with_b0() -> None:
    config = SessionConfig(
        mode=SessionMode.PROGRAMMING, password=Password(SECRET), commands=COMMANDS[:1]
    )
    late = Move(delay=5.0)  # after the deadline: the session repeats, then hears it
    run = run_session(config, [Move(), Move(), late, Move(kind=MoveKind.ABORT)])
    assert isinstance(run.final, Failed)
    check_session_run(config, run)
    assert run.sends[-1].data == B0


# -- memory and time under floods -------------------------------------------------------

MEGABYTE = 1 << 20
IDENT = b"/ABC5X\r\n"
FLOOD = 2 * DEFAULT_MAX_FRAME


def _flood(pattern: bytes, size: int = FLOOD) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


# Twice max_frame of each, built on demand, with the role whose decoder it strains.
PATHOLOGICAL: dict[str, tuple[Role, Callable[[], bytes]]] = {
    # Fixed: each SOH was scanned to the frame's end and copied back: quadratic, minutes.
    "soh": (Role.CLIENT, lambda: _flood(b"\x01")),
    "soh-parity": (Role.METER, lambda: _flood(b"\x81")),
    "soh-then-etx": (Role.METER, lambda: _flood(b"\x01", 200_000) + b"\x03\x00"),
    "command-heads": (Role.METER, lambda: _flood(b"\x01R1\x02")),
    # Fixed: blanks after an identification were kept without bound (P1 CRC prefix).
    "blanks-after-ident": (Role.CLIENT, lambda: IDENT + _flood(b"\x00")),
    "line-ends-after-ident": (Role.CLIENT, lambda: IDENT + _flood(b"\r\n")),
    "stx-unended": (Role.CLIENT, lambda: b"\x02" + _flood(b"x")),
    "stx": (Role.CLIENT, lambda: _flood(b"\x02")),
    "unframed-after-ident": (Role.CLIENT, lambda: IDENT + _flood(b"1.8.0(1)")),
    "slashes": (Role.CLIENT, lambda: _flood(b"/")),
    "requests": (Role.METER, lambda: _flood(b"/?1234")),
    "acks": (Role.METER, lambda: _flood(b"\x06")),
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_streams_stay_bounded(name: str) -> None:
    role, build = PATHOLOGICAL[name]
    stream = build()
    decoder = FrameDecoder(role=role)
    began = time.perf_counter()
    for start in range(0, len(stream), 4096):
        decoder.receive_data(stream[start : start + 4096])
        for _ in decoder.frames():
            pass
        assert decoder.buffered <= decoder.max_frame + MAX_FRAME_SLACK
    decoder.end_of_data()
    # Linear work takes well under a second here; the quadratic cases took minutes.
    assert time.perf_counter() - began < 5.0


def test_megabytes_of_junk_keep_memory_bounded() -> None:
    """A megabyte of junk and overlong frames: peak allocation stays near max_frame."""
    max_frame = 32 * 1024
    decoder = FrameDecoder(max_frame=max_frame)
    junk = random.Random(7).randbytes(4096) + _flood(b"\x01", 2048) + _flood(b"\x00", 2048)
    chunk = IDENT + junk + b"\x02" + _flood(b"y", max_frame + 4096)  # an STX that never ends
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        fed = 0
        while fed < MEGABYTE:
            decoder.receive_data(chunk)
            for _ in decoder.frames():
                pass
            fed += len(chunk)
            assert decoder.buffered <= max_frame + MAX_FRAME_SLACK
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    # The buffer, the chunk being masked, a frame's copies: a few max_frames, not megabytes.
    assert peak < 4 * (max_frame + len(chunk)), peak
