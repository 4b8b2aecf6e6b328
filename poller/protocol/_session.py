"""The client side of one IEC 62056-21 conversation, as a sans-I/O state machine.

Theory of operation
-------------------
A ``ClientSession`` talks to one meter once: sign on, read out (or program, or listen
to a push), sign off. It never touches a port or a clock. The engine feeds it three
kinds of input, each with the current monotonic time ``now``:

* ``start(now)`` once,
* ``receive_data(data, now)`` whenever bytes arrive (``now`` = when the last one did),
* ``timeout(now)`` when the deadline of the last ``Wait`` passed,

plus ``abort(now)`` at shutdown. Every call returns a list of actions that the engine
executes in order: ``Send`` (not before a time), ``SetLine`` (switch baud rate at a
time), and exactly one final ``Wait``, ``Done`` or ``Failed``.

Bytes go through a ``FrameDecoder`` (client role); each frame is classified into an
``Event`` (``_session_events.classify``) and dispatched through ``_TABLE``, a dict
``(State, Event) -> handler`` at the end of this module.
That table is the whole protocol: every transition is an entry, every handler is a
few lines. A frame with no entry for the current state is ignored (an echo, a stray
ACK, junk), and the deadline already given stands, so junk can never keep a session
alive. While part of a frame is buffered the deadline is pushed to ``now + ta``.

States and the normal paths::

    IDLE --start--> [WAKING: 66 NULs, 1.6 s pause] --> AWAIT_IDENT   (request sent)
    AWAIT_IDENT --IDENT--> mode A: AWAIT_READOUT at 300 Bd
                           mode B: SetLine(letter rate) at once --> AWAIT_READOUT
                           mode C/E: option select after tr, SetLine after its wire
                                     time --> AWAIT_READOUT or AWAIT_OPERAND
    AWAIT_IDENT --DATA--> DONE             (meters that skip the identification)
    AWAIT_READOUT --DATA|UNFRAMED--> DONE  (PARTIAL: ACK, collect, stay)
        (a block without STX is taken once the decoder has seen that no ETX follows
        its "!": else its STX was lost at the baud switch and we sign on again)
    AWAIT_OPERAND --P0--> P1/P2 --> AWAIT_PASSWORD_ACK --ACK--> AWAIT_REPLY (per
        command; PARTIAL: ACK and stay) --> ... --> B0 --> DONE
    IDLE --start(PUSH)--> LISTENING --IDENT--> AWAIT_PUSH_DATA --UNFRAMED--> DONE

Failures: a bad readout BCC or silence repeats the *whole sign-on* (B0 first if in
programming mode, back to 300 Bd, a guard pause, the request again: state GUARD),
because a readout cannot be asked for again any other way; within programming a bad
block gets a NAK and a NAK or silence gets our message repeated. Each of these has
its own budget of ``max_repeats`` repeats, so 1 + max_repeats attempts
(``_repeats.RepeatBudget``). An error reply fails one command and the session goes
on with the next.

Timing rules (clause 6.4, annex A): when a send may go out (tr after the meter's last
byte, never before our previous bytes left the wire) and when a baud switch happens
(after our last byte's wire time at the old rate plus ``switch_delay``) are
``_timeline.LineTimeline``'s, the one place those times are computed. A reply must
start within ``reply_timeout`` of the end of our message or switch.

Programming's bookkeeping (the password message, which command is next, a reply's
partial blocks, the results) is ``_commands``'; the handlers here only decide.

Where the standard is silent:

* ``max_baud`` below the offered rate sends the cap's Z and switches to it
  (``_timeline.choose_baud_char``); when such an attempt fails the repeats ask for
  Z=0 and stay at 300. Mode B has no negotiation: the cap cannot apply there.
* ``start`` always sets 300 Bd (or the push rate): the port's previous state is the
  engine's, not ours. The transport should skip a reconfiguration that changes nothing.
* Between sign-ons (repeats) we pause ``BREAK_GUARD_TIME`` at 300 Bd; annex B asks for
  at least 1.5 s after a failure and a meter that missed our option select may still
  be reading out at 300 Bd.
* ``bus_free_at`` is the session's end after a good readout (the meter is idle), and
  that plus ``BREAK_GUARD_TIME`` after a B0 or any failure (its state is unknown).
* Echo is the transport's to strip; echoed requests and commands are ignored here, but
  an echoed single ACK or NAK cannot be told from the meter's.

Invariants, tested by property:

* Once a programming option select was sent, every way out (success, error reply,
  timeout, abort, an exception in a handler) ends with a ``B0`` send, and the result's
  ``bus_free_at`` covers the B0's wire time plus ``BREAK_GUARD_TIME``.
* Any exception in a transition becomes ``Failed`` in state ERROR; only misuse of the
  API (``SessionStateError``, e.g. ``receive_data`` after ``Done``) escapes.
* No action, result or error shows a password: ``Send`` hides sensitive bytes and
  descriptions read ``P1(***)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._actions import (
    Action,
    Done,
    Failed,
    Readout,
    Send,
    SessionAbortedError,
    SessionResult,
    UnexpectedError,
    UnsupportedModeError,
    Wait,
)
from ._commands import CommandCursor, command_for, password_command
from ._constants import (
    BREAK_GUARD_TIME,
    INITIAL_BAUD,
    MODE_C_RATES,
    MODE_D_BAUD,
    MODE_PROGRAMMING,
    MODE_READOUT,
    NUL,
    REACTION_TIME_MIN,
    READOUT_TAIL_WAIT,
    WAKE_UP_PAUSE,
)
from ._decoder import FrameDecoder
from ._errors import (
    AuthenticationError,
    FramingError,
    ProtocolError,
    ProtocolTimeoutError,
    RemoteError,
    RetriesExhaustedError,
    SessionStateError,
)
from ._frames import NEED_DATA, NEED_TAIL, Check, Frame, NeedData, Role
from ._messages import (
    BREAK,
    Ack,
    Command,
    DataMessage,
    End,
    Identification,
    Mode,
    Nak,
    OptionSelect,
    Request,
    UnframedData,
)
from ._repeats import RepeatBudget
from ._session_config import SessionConfig, SessionMode
from ._session_events import (
    TERMINAL,
    Event,
    State,
    bracket_content,
    checksum_error,
    classify,
    expect,
    parse_datasets,
    strip_readout_end,
)
from ._timeline import WAKE_UP_NULS, LineTimeline, choose_baud_char

__all__ = ["TRANSITIONS", "ClientSession", "Event", "State"]


class ClientSession:
    """One sign-on to one meter; see the module's theory of operation."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.state = State.IDLE
        self._decoder = FrameDecoder(role=Role.CLIENT)
        self._out: list[Action] = []
        self._line = LineTimeline(
            framing=config.framing,
            switch_delay=config.switch_delay,
            reaction_time=(
                REACTION_TIME_MIN
                if config.client_reaction_time is None
                else config.client_reaction_time
            ),
        )
        self._last_send: Send | None = None
        self._break_last = False
        self._programming_started = False
        self._deadline = 0.0
        self._wait_started = 0.0
        self._waiting_for = ""
        self._idle_wait = False
        self._epoch = 0
        # Per sign-on attempt.
        self._ident: Identification | None = None
        self._mode_used: Mode | None = None
        self._data_baud: int | None = None
        self._capped = False
        self._fallback_300 = False
        self._blocks: list[str] = []
        self._budget = RepeatBudget(config.max_repeats)
        self._readout: Readout | None = None
        self._commands = CommandCursor(config.commands)

    # -- public API -----------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        """Begin: set the line, then wake the meter, send the request, or listen."""
        if self.state is not State.IDLE:
            raise SessionStateError(self.state.name, "start")
        return self._run(now, lambda: self._dispatch(Event.START, None, now))

    def receive_data(self, data: bytes, now: float) -> list[Action]:
        """Bytes from the line; ``now`` is when the last of them arrived."""
        self._require_running("receive data")
        return self._run(now, lambda: self._feed(data, now))

    def timeout(self, now: float) -> list[Action]:
        """The last ``Wait`` deadline passed."""
        self._require_running("handle a timeout")
        return self._run(now, lambda: self._expire(now))

    def abort(self, now: float) -> list[Action]:
        """Stop now (shutdown); a programming session still gets its B0."""
        if self.state in TERMINAL:
            raise SessionStateError(self.state.name, "abort")
        return self._run(now, lambda: self._dispatch(Event.ABORT, None, now))

    # -- driving the table ----------------------------------------------------------

    def _require_running(self, action: str) -> None:
        if self.state is State.IDLE or self.state in TERMINAL:
            raise SessionStateError(self.state.name, action)

    def _run(self, now: float, step: Callable[[], None]) -> list[Action]:
        self._out = []
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - any failure must become Failed
            error = exc if isinstance(exc, ProtocolError) else UnexpectedError(type(exc).__name__)
            if error is exc:
                # Its frames hold this session, which holds the Failed that holds it: a
                # cycle that only a full collection frees, and CPython runs those
                # seldom. Its message says all; an unexpected error keeps its cause's.
                error.__traceback__ = None
            else:
                error.__cause__ = exc
            # A handler that raised after finishing must not leave two endings.
            self._out = [a for a in self._out if not isinstance(a, Done | Failed)]
            self._fail(error, now)
        if self.state not in TERMINAL:
            self._out.append(
                Wait(deadline=self._deadline, waiting_for=self._waiting_for, idle=self._idle_wait)
            )
        return self._out

    def _dispatch(self, event: Event, frame: Frame | None, now: float) -> None:
        handler = _TABLE.get((self.state, event))
        if handler is not None:
            handler(self, frame, now)

    def _feed(self, data: bytes, now: float) -> None:
        self._decoder.receive_data(data)
        frame: Frame | NeedData = NEED_DATA
        while self.state not in TERMINAL:
            frame = self._decoder.next_frame()
            if isinstance(frame, NeedData):
                break
            event = classify(frame)
            if event is not None:
                self._dispatch(event, frame, now)
        if self.state in TERMINAL or not self._decoder.buffered:
            return
        if frame is NEED_TAIL and (self.state, Event.UNFRAMED) in _TABLE:
            # A block without STX, whole up to its line end unless an ETX follows (a
            # framed readout that lost its STX): eHZ meters send no ETX, so silence
            # for a moment says it is whole, and _expire takes it.
            self._deadline = now + READOUT_TAIL_WAIT
        elif not self._idle_wait:
            # A message is on its way: give each further character up to ta.
            self._deadline = max(self._deadline, now + self.config.inter_char_timeout)

    def _expire(self, now: float) -> None:
        epoch = self._epoch
        # A block may be complete except for what never came (a BCC, a line end).
        for frame in self._decoder.end_of_data():
            event = classify(frame)
            if event is not None and self.state not in TERMINAL:
                self._dispatch(event, frame, now)
        if self.state not in TERMINAL and self._epoch == epoch:
            self._dispatch(Event.TIMEOUT, None, now)

    # -- primitives -----------------------------------------------------------------

    def _wait(
        self, state: State, start: float, timeout: float, waiting_for: str, *, idle: bool = False
    ) -> None:
        """Go to ``state`` and read until ``start + timeout``."""
        self.state = state
        self._wait_started = start
        self._deadline = start + timeout
        self._waiting_for = waiting_for
        self._idle_wait = idle
        self._epoch += 1

    def _send(self, data: bytes, at: float, description: str, *, sensitive: bool = False) -> Send:
        send = self._line.send(data, at, description, sensitive=sensitive)
        self._out.append(send)
        self._last_send = send
        self._break_last = False
        return send

    def _set_line(self, baud: int, at: float) -> float:
        """Switch to ``baud`` (if it changes) once our last byte is out; returns when."""
        when, action = self._line.set_line(baud, at)
        if action is not None:
            self._out.append(action)
        return when

    def _send_and_wait(
        self,
        state: State,
        data: bytes,
        at: float,
        description: str,
        waiting_for: str,
        *,
        sensitive: bool = False,
    ) -> None:
        self._send(data, at, description, sensitive=sensitive)
        self._wait(state, self._line.last_send_end, self.config.reply_timeout, waiting_for)

    def _answer_at(self, now: float) -> float:
        return self._line.answer_at(now)

    def _send_break(self, at: float) -> None:
        self._send(BREAK.to_bytes(), at, "B0")
        self._break_last = True

    def _result(self, *, bus_free_at: float) -> SessionResult:
        return SessionResult(
            identification=self._ident,
            mode=self._mode_used,
            baud=self._data_baud,
            readout=self._readout,
            commands=tuple(self._commands.results),
            repeats=self._budget.total,
            bus_free_at=bus_free_at,
            break_sent=self._break_last,
        )

    def _finish(self, now: float) -> None:
        self.state = State.DONE
        self._out.append(Done(result=self._result(bus_free_at=self._bus_free_at(now, ok=True))))

    def _fail(self, error: ProtocolError, now: float) -> None:
        if self._programming_started and not self._break_last:
            self._send_break(now)
        self.state = State.ERROR
        result = self._result(bus_free_at=self._bus_free_at(now, ok=False))
        self._out.append(Failed(error=error, result=result))

    def _bus_free_at(self, now: float, *, ok: bool) -> float:
        # After B0, or with the meter in an unknown state, give it the guard time.
        return self._line.bus_free_at(now, guard=self._break_last or not ok)

    def _timeout_error(self, now: float) -> ProtocolTimeoutError:
        return ProtocolTimeoutError(
            waiting_for=self._waiting_for, waited=max(0.0, now - self._wait_started)
        )

    # -- sign-on --------------------------------------------------------------------

    def _on_start(self, frame: Frame | None, now: float) -> None:
        if self.config.mode is SessionMode.PUSH:
            at = self._set_line(self.config.push_baud, now)
            self._mode_used = Mode.D
            self._data_baud = self.config.push_baud
            self._wait(State.LISTENING, at, self.config.push_timeout, "push telegram")
            return
        self._set_line(INITIAL_BAUD, now)
        self._sign_on(now)

    def _sign_on(self, now: float) -> None:
        self._decoder.reset()
        self._blocks = []
        self._capped = False
        self._budget.new_step()
        if self.config.wake_up:
            self._send(bytes([NUL]) * WAKE_UP_NULS, now, f"wake-up ({WAKE_UP_NULS} NUL)")
            pause_from = self._line.last_send_end
            self._wait(State.WAKING, pause_from, WAKE_UP_PAUSE, "wake-up pause", idle=True)
        else:
            self._send_request(now)

    def _send_request(self, at: float) -> None:
        self._decoder.reset()
        request = Request(address=self.config.address)
        self._send_and_wait(
            State.AWAIT_IDENT,
            request.to_bytes(),
            at,
            f"request /?{self.config.address}!",
            "identification",
        )

    def _on_pause_over(self, frame: Frame | None, now: float) -> None:
        self._send_request(max(now, self._deadline))

    def _on_guard_over(self, frame: Frame | None, now: float) -> None:
        self._sign_on(max(now, self._deadline))

    def _repeat_sign_on(self, now: float, cause: ProtocolError) -> None:
        """Start over from the request: the only way to have a readout sent again."""
        if not self._budget.repeat_sign_on():
            if isinstance(cause, ProtocolTimeoutError):
                raise cause
            raise RetriesExhaustedError(
                what="sign-on", attempts=self._budget.sign_on_attempts, last=cause
            )
        if self._capped:
            # A standard meter stays at 300 Bd when asked for a Z it did not offer.
            self._fallback_300 = True
        if self._programming_started:
            self._send_break(now)
        at = self._set_line(INITIAL_BAUD, now)
        guard_from = max(at, self._line.last_send_end)
        self._wait(State.GUARD, guard_from, BREAK_GUARD_TIME, "guard pause", idle=True)

    def _on_sign_on_timeout(self, frame: Frame | None, now: float) -> None:
        self._repeat_sign_on(now, self._timeout_error(now))

    def _on_sign_on_bad_block(self, frame: Frame | None, now: float) -> None:
        assert frame is not None
        message = frame.message
        if self._blocks or (isinstance(message, DataMessage) and message.end is End.EOT):
            # One partial block of several: ask for that block again (clause 6.4.7).
            self._nak_or(now, lambda: self._repeat_sign_on(now, checksum_error(frame)))
            return
        self._repeat_sign_on(now, checksum_error(frame))

    def _on_ident(self, frame: Frame | None, now: float) -> None:
        ident = expect(frame, Identification)
        self._ident = ident
        mode = self.config.force_mode or ident.mode
        if mode is Mode.E:
            mode = Mode.C  # option select V=0 reads a mode E meter like a mode C one
        self._mode_used = mode
        if self.config.client_reaction_time is None:
            self._line.reaction_time = ident.reaction_time
        if self.config.mode is SessionMode.PROGRAMMING and mode is not Mode.C:
            raise UnsupportedModeError(mode.value, "programming")
        if mode is Mode.C:
            self._send_option_select(ident, now)
            return
        if mode is Mode.A:
            rate = INITIAL_BAUD
        elif mode is Mode.D:
            rate = MODE_D_BAUD
        else:
            # Mode B: both sides switch right after the identification; nothing is sent.
            rate = ident.baud_rate
        self._data_baud = rate
        at = self._set_line(rate, now)
        self._wait(State.AWAIT_READOUT, at, self.config.reply_timeout, "readout")

    def _send_option_select(self, ident: Identification, now: float) -> None:
        programming = self.config.mode is SessionMode.PROGRAMMING
        z, capped = choose_baud_char(
            ident.baud_rate, cap=self.config.max_baud, fallback_300=self._fallback_300
        )
        self._capped = self._capped or capped
        option = OptionSelect(
            protocol=self.config.option_select_protocol,
            baud_char=z,
            mode=MODE_PROGRAMMING if programming else MODE_READOUT,
        )
        rate = MODE_C_RATES[z]
        purpose = "programming" if programming else "readout"
        send = self._send(
            option.to_bytes(),
            self._answer_at(now),
            f"option select {option.protocol}{z}{option.mode} ({rate} Bd, {purpose})",
        )
        self._programming_started = self._programming_started or programming
        at = self._set_line(rate, send.end(INITIAL_BAUD))
        self._data_baud = rate
        if programming:
            self._wait(State.AWAIT_OPERAND, at, self.config.reply_timeout, "P0 operand")
        else:
            self._wait(State.AWAIT_READOUT, at, self.config.reply_timeout, "readout")

    # -- readout --------------------------------------------------------------------

    def _on_readout(self, frame: Frame | None, now: float) -> None:
        assert frame is not None
        message = frame.message
        if isinstance(message, UnframedData):
            # No ETX followed its "!" (the decoder looked, see _feed), so this is not
            # a framed readout that lost its STX: some meters send their readout so.
            text = message.data
        else:
            assert isinstance(message, DataMessage)
            text = strip_readout_end("".join(self._blocks) + message.data)
        if self._data_baud is None:
            self._data_baud = self._line.line_baud  # no identification: still at 300 Bd
        self._readout = Readout(data=text, check=frame.check, datasets=parse_datasets(text))
        if self.config.mode is SessionMode.PROGRAMMING:
            # A faulty programming request falls back to a readout (clause 6.4.5).
            raise UnsupportedModeError("readout only", "programming")
        self._finish(now)

    def _on_readout_partial(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        self._blocks.append(message.data)
        self._budget.new_step()
        self._send_and_wait(
            State.AWAIT_READOUT, Ack().to_bytes(), self._answer_at(now), "ACK", "next readout block"
        )

    def _on_readout_error(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        raise RemoteError(bracket_content(message.data), command="readout")

    # -- programming: operand and password ------------------------------------------

    def _nak_or(self, now: float, give_up: Callable[[], None]) -> None:
        """Ask for a garbled message again, or ``give_up`` when the budget is spent."""
        if not self._budget.repeat_step():
            give_up()
            return
        self._send_and_wait(
            self.state, Nak().to_bytes(), self._answer_at(now), "NAK", self._waiting_for
        )

    def _repeat_or(self, now: float, give_up: Callable[[], None]) -> None:
        """Send our last message again, or ``give_up`` when the budget is spent."""
        last = self._last_send
        if last is None or not self._budget.repeat_step():
            give_up()
            return
        self._send_and_wait(
            self.state,
            last.data,
            self._answer_at(now),
            last.description.removesuffix(" (repeat)") + " (repeat)",
            self._waiting_for,
            sensitive=last.sensitive,
        )

    def _on_operand(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, Command)
        self._budget.new_step()
        password = self.config.password
        if password is None:
            self._start_commands(now)  # some meters need none (PROTOCOL.md 6)
            return
        command = password_command(
            bracket_content(message.data), password, self.config.password_scheme
        )
        self._send_and_wait(
            State.AWAIT_PASSWORD_ACK,
            command.to_bytes(),
            self._answer_at(now),
            f"P{command.code}(***)",
            "password acknowledgement",
            sensitive=True,
        )

    def _on_operand_timeout(self, frame: Frame | None, now: float) -> None:
        if self.config.password is None:
            self._start_commands(now)  # the meter skipped P0 as well
            return
        self._repeat_sign_on(now, self._timeout_error(now))

    def _on_operand_bad_block(self, frame: Frame | None, now: float) -> None:
        assert frame is not None

        def give_up() -> None:
            raise RetriesExhaustedError(
                what="P0 operand", attempts=self._budget.step_attempts, last=checksum_error(frame)
            )

        self._nak_or(now, give_up)

    def _on_programming_refused(self, frame: Frame | None, now: float) -> None:
        raise AuthenticationError("the meter answered the programming request with a break")

    def _on_password_ack(self, frame: Frame | None, now: float) -> None:
        self._start_commands(now)

    def _on_password_nak(self, frame: Frame | None, now: float) -> None:
        # A NAK is also "your frame was garbled": repeat before calling it a refusal.
        def give_up() -> None:
            raise AuthenticationError(f"NAK after {self._budget.step_attempts} attempts")

        self._repeat_or(now, give_up)

    def _on_password_bad_block(self, frame: Frame | None, now: float) -> None:
        assert frame is not None

        def give_up() -> None:
            raise AuthenticationError("the reply to the password was garbled every time")

        self._nak_or(now, give_up)

    def _on_password_error(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        raise AuthenticationError(f"error reply ({bracket_content(message.data)})")

    def _on_password_break(self, frame: Frame | None, now: float) -> None:
        raise AuthenticationError("the meter sent a break (B0)")

    def _on_reply_timeout_repeat(self, frame: Frame | None, now: float) -> None:
        error = self._timeout_error(now)

        def give_up() -> None:
            if self.state is State.AWAIT_REPLY:
                self._commands.record(error=error)
            raise error

        self._repeat_or(now, give_up)

    # -- programming: commands ------------------------------------------------------

    def _start_commands(self, now: float) -> None:
        self._next_command(now)

    def _next_command(self, now: float) -> None:
        request = self._commands.next_request()
        if request is None:
            self._send_break(self._answer_at(now))
            self._finish(now)
            return
        self._budget.new_step()
        self._send_and_wait(
            State.AWAIT_REPLY,
            command_for(request).to_bytes(),
            self._answer_at(now),
            f"{request.name} {request.dataset}",
            f"reply to {request.name}",
        )

    def _on_reply_data(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        self._commands.record(data=self._commands.reply(message.data))
        self._next_command(now)

    def _on_reply_partial(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        self._commands.add_block(message.data)
        self._budget.new_step()
        self._send_and_wait(
            State.AWAIT_REPLY, Ack().to_bytes(), self._answer_at(now), "ACK", self._waiting_for
        )

    def _on_reply_ack(self, frame: Frame | None, now: float) -> None:
        if self._commands.partial:
            return  # an ACK amid partial blocks is our own echo, not the meter's
        self._commands.record()
        self._next_command(now)

    def _on_reply_error(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, DataMessage)
        code = bracket_content(message.data)
        self._commands.record(error=RemoteError(code, command=self._commands.current.name))
        self._next_command(now)

    def _on_reply_bad_block(self, frame: Frame | None, now: float) -> None:
        assert frame is not None

        def give_up() -> None:
            self._commands.record(
                error=RetriesExhaustedError(
                    what=self._commands.current.name,
                    attempts=self._budget.step_attempts,
                    last=checksum_error(frame),
                )
            )
            self._next_command(now)

        self._nak_or(now, give_up)

    def _on_reply_nak(self, frame: Frame | None, now: float) -> None:
        def give_up() -> None:
            self._commands.record(
                error=RetriesExhaustedError(
                    what=self._commands.current.name, attempts=self._budget.step_attempts
                )
            )
            self._next_command(now)

        self._repeat_or(now, give_up)

    def _on_reply_break(self, frame: Frame | None, now: float) -> None:
        # The meter gave up on us (its own timeout, or it rejects the session).
        error = RemoteError("B0", command=self._commands.current.name)
        self._commands.record(error=error)
        raise error

    # -- push (mode D) --------------------------------------------------------------

    def _on_push_ident(self, frame: Frame | None, now: float) -> None:
        message = expect(frame, Identification)
        self._ident = message
        self._wait(State.AWAIT_PUSH_DATA, now, self.config.inter_char_timeout, "push data")

    def _on_push_data(self, frame: Frame | None, now: float) -> None:
        assert frame is not None
        message = frame.message
        if frame.check is Check.MISSING:
            raise FramingError("push telegram cut short", frame.raw)
        if isinstance(message, UnframedData):
            text = message.data
        elif isinstance(message, DataMessage):
            text = strip_readout_end(message.data)
        else:
            return
        # A bad CRC is reported, not retried: the meter pushes again on its own schedule.
        self._readout = Readout(data=text, check=frame.check, datasets=parse_datasets(text))
        self._finish(now)

    # -- every state ----------------------------------------------------------------

    def _on_timeout_fail(self, frame: Frame | None, now: float) -> None:
        raise self._timeout_error(now)

    def _on_abort(self, frame: Frame | None, now: float) -> None:
        raise SessionAbortedError(self.state.name)


_Handler = Callable[[ClientSession, Frame | None, float], None]
S, E, C = State, Event, ClientSession

_TABLE: Final[dict[tuple[State, Event], _Handler]] = {
    (S.IDLE, E.START): C._on_start,
    # Wake-up and guard pauses: only the clock moves us on.
    (S.WAKING, E.TIMEOUT): C._on_pause_over,
    (S.GUARD, E.TIMEOUT): C._on_guard_over,
    # Sign-on.
    (S.AWAIT_IDENT, E.IDENT): C._on_ident,
    (S.AWAIT_IDENT, E.DATA): C._on_readout,
    (S.AWAIT_IDENT, E.PARTIAL): C._on_readout_partial,
    (S.AWAIT_IDENT, E.BAD_BLOCK): C._on_sign_on_bad_block,
    (S.AWAIT_IDENT, E.ERROR_REPLY): C._on_readout_error,
    (S.AWAIT_IDENT, E.TIMEOUT): C._on_sign_on_timeout,
    # Readout (modes A, B, C).
    (S.AWAIT_READOUT, E.DATA): C._on_readout,
    (S.AWAIT_READOUT, E.UNFRAMED): C._on_readout,
    (S.AWAIT_READOUT, E.PARTIAL): C._on_readout_partial,
    (S.AWAIT_READOUT, E.BAD_BLOCK): C._on_sign_on_bad_block,
    (S.AWAIT_READOUT, E.ERROR_REPLY): C._on_readout_error,
    (S.AWAIT_READOUT, E.TIMEOUT): C._on_sign_on_timeout,
    # Programming: operand.
    (S.AWAIT_OPERAND, E.OPERAND): C._on_operand,
    (S.AWAIT_OPERAND, E.BAD_BLOCK): C._on_operand_bad_block,
    (S.AWAIT_OPERAND, E.BREAK): C._on_programming_refused,
    (S.AWAIT_OPERAND, E.DATA): C._on_readout,
    (S.AWAIT_OPERAND, E.UNFRAMED): C._on_readout,
    (S.AWAIT_OPERAND, E.TIMEOUT): C._on_operand_timeout,
    # Programming: password.
    (S.AWAIT_PASSWORD_ACK, E.ACK): C._on_password_ack,
    (S.AWAIT_PASSWORD_ACK, E.NAK): C._on_password_nak,
    (S.AWAIT_PASSWORD_ACK, E.BAD_BLOCK): C._on_password_bad_block,
    (S.AWAIT_PASSWORD_ACK, E.ERROR_REPLY): C._on_password_error,
    (S.AWAIT_PASSWORD_ACK, E.BREAK): C._on_password_break,
    (S.AWAIT_PASSWORD_ACK, E.TIMEOUT): C._on_reply_timeout_repeat,
    # Programming: commands.
    (S.AWAIT_REPLY, E.DATA): C._on_reply_data,
    (S.AWAIT_REPLY, E.PARTIAL): C._on_reply_partial,
    (S.AWAIT_REPLY, E.ACK): C._on_reply_ack,
    (S.AWAIT_REPLY, E.NAK): C._on_reply_nak,
    (S.AWAIT_REPLY, E.BAD_BLOCK): C._on_reply_bad_block,
    (S.AWAIT_REPLY, E.ERROR_REPLY): C._on_reply_error,
    (S.AWAIT_REPLY, E.BREAK): C._on_reply_break,
    (S.AWAIT_REPLY, E.TIMEOUT): C._on_reply_timeout_repeat,
    # Push (mode D).
    (S.LISTENING, E.IDENT): C._on_push_ident,
    (S.LISTENING, E.DATA): C._on_push_data,
    (S.LISTENING, E.TIMEOUT): C._on_timeout_fail,
    (S.AWAIT_PUSH_DATA, E.IDENT): C._on_push_ident,
    (S.AWAIT_PUSH_DATA, E.UNFRAMED): C._on_push_data,
    (S.AWAIT_PUSH_DATA, E.DATA): C._on_push_data,
    (S.AWAIT_PUSH_DATA, E.BAD_BLOCK): C._on_push_data,
    (S.AWAIT_PUSH_DATA, E.TIMEOUT): C._on_timeout_fail,
}
# Every live state can be aborted.
_TABLE.update({(state, E.ABORT): C._on_abort for state in State if state not in TERMINAL})
del S, E, C

TRANSITIONS: Final = _TABLE
"""The transition table, exposed for documentation and for the tests' completeness check."""
