"""One simulated meter's side of IEC 62056-21, sans-I/O, on simulated time.

Theory of operation
-------------------
The meter is driven by two calls and never reads a clock: ``receive(data, now, line)``
hands it bytes whose last character ended at ``now`` (sent at the client's ``line``),
``poll(now)`` fires its timers; ``next_deadline()`` says when to poll next. Both
return ``Transmit`` objects: bytes, the time their first character starts and the
line (rate, framing) they go out at. The bus owns the wire: it decides what the
client and the other meters make of them and tells the meter, through ``abort``,
when the client talked over it.

States and transitions (clause 6.4):

    IDLE (300 Bd) --/?ADDR! for this meter--> ident after tr
      mode A: ident and readout in one go at 300 Bd, then IDLE
      mode B: readout at the letter's rate tr after the ident, then IDLE
      mode C: OPTION_SELECT for tt after the ident ends
    OPTION_SELECT --ACK V Z Y, Z = announced Z--> switch to Z's rate
                  --ACK V Z Y, other Z----------> stay at 300 Bd
                  --Y = 0, or no programming----> READOUT tr later, then IDLE
                  --Y = 1-----------------------> P0 tr later, PROGRAMMING
                  --anything else---------------> READOUT at 300 Bd
                  --tt expires------------------> READOUT at 300 Bd at once
    PROGRAMMING   --commands--> replies (``_programming.py``); B0 --> IDLE
    PUSH (mode D) --every push_interval--> a telegram at 2400 Bd; hears nothing

From every state but IDLE and PUSH, inactivity for the meter's timeout returns it to
IDLE at 300 Bd; a request addressed elsewhere does too. Answers start tr after the
last character received; a reply's timing never depends on how bytes were chunked.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta

from poller.protocol import (
    BREAK,
    INITIAL_BAUD,
    MODE_B_RATES,
    MODE_C_RATES,
    MODE_D_BAUD,
    MODE_PROGRAMMING,
    MODE_READOUT,
    DataMessage,
    Frame,
    FrameDecoder,
    Mode,
    OptionSelect,
    Request,
    Role,
    push_telegram,
)

from ._datablock import format_lines
from ._faults import FaultInjector
from ._line import FRAMING_8N1, LineSettings, Transmit, hear
from ._model import MeterSpec
from ._programming import AccessState, ProgrammingSession
from ._readings import readout_lines

__all__ = ["MeterState", "SimulatedMeter"]


class MeterState(enum.Enum):
    IDLE = "idle"
    OPTION_SELECT = "option-select"
    READOUT = "readout"
    PROGRAMMING = "programming"
    PUSH = "push"


class SimulatedMeter:
    """A meter on simulated time; ``epoch`` is the wall-clock moment of time 0."""

    def __init__(self, spec: MeterSpec, *, epoch: datetime, start: float = 0.0) -> None:
        self.spec = spec
        self.epoch = epoch
        self.state = MeterState.IDLE
        self.sessions = 0
        """Sign-ons answered: lets tests and logs tell sessions apart."""
        self._faults = FaultInjector(spec.faults, f"{spec.seed}:{spec.address}:faults")
        self._decoder = FrameDecoder(role=Role.METER)
        self._line = LineSettings(INITIAL_BAUD, spec.quirks.framing)
        self._access = AccessState()
        self._written: dict[str, str] = {}
        self._session: ProgrammingSession | None = None
        self._timer: float | None = None  # tt, or the next mode D telegram
        self._idle_at: float | None = None  # end of a readout, a reset, a break
        self._busy_until = start
        self._last_activity = start
        self._sent = 0  # bytes sent this session, for the reset fault
        if spec.mode is Mode.D and not spec.faults.silent:
            self.state = MeterState.PUSH
            self._timer = start + spec.push_interval

    # -- the bus's view ----------------------------------------------------------------

    @property
    def line(self) -> LineSettings:
        """The rate and framing the meter's UART is set to now."""
        return self._line

    @property
    def echoes(self) -> bool:
        return self.spec.quirks.echo

    @property
    def listens(self) -> bool:
        return self.state is not MeterState.PUSH and not self.spec.faults.silent

    def moment(self, now: float) -> datetime:
        """Simulated time ``now`` as a wall-clock moment."""
        return self.epoch + timedelta(seconds=now)

    def next_deadline(self) -> float | None:
        # Asked for every meter on every byte of a bus: no lists, no min() on the way.
        deadline = self._timer
        idle = self._idle_at
        if idle is not None and (deadline is None or idle < deadline):
            deadline = idle
        if self.state is MeterState.OPTION_SELECT or self.state is MeterState.PROGRAMMING:
            inactive = self._inactivity_deadline()
            if deadline is None or inactive < deadline:
                deadline = inactive
        return deadline

    def receive(self, data: bytes, now: float, line: LineSettings) -> list[Transmit]:
        """Bytes from the client whose last character ended at ``now``."""
        out = self.poll(now)
        if not self.listens:
            return out
        self._last_activity = now
        heard = hear(data, line, self._line)
        if self._line.framing == FRAMING_8N1:
            # Firmware reading 8 data bits compares all of them: a 7E1 client's parity
            # bit makes '/' read 0xAF, which matches nothing.
            heard = bytes(b for b in heard if b < 0x80)
        self._decoder.receive_data(heard)
        for frame in self._decoder.frames():
            out.extend(self._on_frame(frame, now))
        return out

    def passes_over(self, request: Request, line: LineSettings, now: float) -> bool:
        """Take a whole request for another meter in one step, if that is all it is.

        True when this meter is idle with nothing buffered and no timer, hears the
        request as sent and is not addressed: decoding it would change nothing but
        the time of its last activity, which is all this does. False, doing nothing,
        otherwise (call ``receive``). A bus of 32 meters asks every one of them on
        every sign-on, so the common case should not run 32 decoders.
        """
        if (
            self.state is MeterState.IDLE
            and self._timer is None
            and self._idle_at is None
            and self.listens
            and line == self._line
            and not self._decoder.buffered
            and not request.matches(self.spec.address)
        ):
            self._last_activity = now
            return True
        return False

    def poll(self, now: float) -> list[Transmit]:
        """Fire the timers due at ``now``."""
        out: list[Transmit] = []
        if self._idle_at is not None and now >= self._idle_at:
            self._go_idle()
        if self._timer is not None and now >= self._timer:
            at, self._timer = self._timer, None
            if self.state is MeterState.OPTION_SELECT:
                out.extend(self._readout(at, INITIAL_BAUD))
            elif self.state is MeterState.PUSH:
                out.append(self._push(at))
        if (
            self.state in (MeterState.OPTION_SELECT, MeterState.PROGRAMMING)
            and now >= self._inactivity_deadline()
        ):
            at = self._inactivity_deadline()
            if self.state is MeterState.PROGRAMMING and self.spec.quirks.break_on_timeout:
                out.append(self._send(BREAK.to_bytes(), at, self._line.baud))
            self._go_idle()
        return out

    def abort(self, now: float) -> None:
        """The client talked while the meter was sending: it gives up, back to idle."""
        self._busy_until = now
        self._go_idle()

    # -- protocol ----------------------------------------------------------------------

    def _inactivity_deadline(self) -> float:
        return max(self._last_activity, self._busy_until) + self.spec.inactivity_timeout

    def _go_idle(self) -> None:
        self.state = MeterState.IDLE
        self._line = LineSettings(INITIAL_BAUD, self.spec.quirks.framing)
        self._decoder.reset()
        self._decoder.expect_option_select = True
        self._session = None
        self._timer = None
        self._idle_at = None

    def _on_frame(self, frame: Frame, now: float) -> list[Transmit]:
        message = frame.message
        if isinstance(message, Request):
            if not message.matches(self.spec.address):
                if self.state is not MeterState.IDLE:
                    self._go_idle()
                return []
            return self._sign_on(now)
        if self.state is MeterState.OPTION_SELECT:
            if isinstance(message, OptionSelect):
                return self._option_select(message, now)
            # A bad or unexpected answer to the identification: readout at 300 Bd.
            self._timer = None
            return self._readout(now + self._tr, INITIAL_BAUD)
        if self.state is MeterState.PROGRAMMING and self._session is not None:
            session = self._session
            outcome = session.handle(frame, now, self.moment(now))
            self._decoder.expect_option_select = not session.sending_blocks
            out = []
            if outcome.reply is not None:
                out.append(self._send(outcome.reply, now + self._tr, self._line.baud))
            if outcome.end:
                if out:
                    self._idle_at = self._busy_until
                else:
                    self._go_idle()
            return out
        return []

    @property
    def _tr(self) -> float:
        return self.spec.effective_reaction_time

    def _sign_on(self, now: float) -> list[Transmit]:
        self._go_idle()
        self.sessions += 1
        self._sent = 0
        spec = self.spec
        ident = (
            spec.quirks.junk_before_ident
            + b"/"
            + spec.identification.text.encode("ascii")
            + spec.quirks.ident_line_end
        )
        at = now + self._tr
        if spec.mode is Mode.A:
            return self._readout(at, INITIAL_BAUD, prefix=ident)
        sent = self._send(ident, at, INITIAL_BAUD)
        if spec.mode is Mode.B:
            return [sent, *self._readout(sent.end + self._tr, MODE_B_RATES[spec.baud_char])]
        self.state = MeterState.OPTION_SELECT
        self._timer = sent.end + spec.option_select_window
        return [sent]

    def _option_select(self, message: OptionSelect, now: float) -> list[Transmit]:
        self._timer = None
        baud = INITIAL_BAUD
        if message.baud_char == self.spec.baud_char:
            baud = MODE_C_RATES[message.baud_char]
        if message.mode == MODE_PROGRAMMING and self.spec.password is not None:
            self._switch(baud)
            self.state = MeterState.PROGRAMMING
            self._session = ProgrammingSession(self.spec, self._faults, self._access, self._written)
            return [self._send(self._session.p0(), now + self._tr, self._line.baud)]
        if message.mode not in (MODE_READOUT, MODE_PROGRAMMING):
            baud = INITIAL_BAUD  # a mode we do not offer: a faulty request (6.4.5)
        return self._readout(now + self._tr, baud)

    def _switch(self, baud: int) -> None:
        if baud != INITIAL_BAUD and self.spec.faults.answer_baud:
            baud = self.spec.faults.answer_baud
        self._line = LineSettings(baud, self.spec.quirks.framing)

    def _readout(self, at: float, baud: int, *, prefix: bytes = b"") -> list[Transmit]:
        self._switch(baud)
        block = format_lines(readout_lines(self.spec, self.moment(at)))
        message = self._faults.block(DataMessage.readout(block).to_bytes())
        sent = self._send(prefix + message, at, self._line.baud)
        self.state = MeterState.READOUT
        self._idle_at = self._busy_until
        return [sent]

    def _push(self, at: float) -> Transmit:
        block = format_lines(readout_lines(self.spec, self.moment(at)))
        telegram = push_telegram(self.spec.identification, "\r\n" + block, with_crc=False)
        self._timer = at + self.spec.push_interval
        return self._send(telegram, at, MODE_D_BAUD)

    def _send(self, data: bytes, at: float, baud: int) -> Transmit:
        at = max(at, self._busy_until)
        data = self._faults.line(data)
        limit = self.spec.faults.reset_after_bytes
        if limit is not None and self.state is not MeterState.PUSH:
            room = max(0, limit - self._sent)
            if len(data) > room:
                data = data[:room]
                # A watchdog reset: the meter comes back idle once the stub is out.
                self._idle_at = -math.inf
        self._sent += len(data)
        sent = Transmit(data=data, at=at, line=LineSettings(baud, self.spec.quirks.framing))
        self._busy_until = sent.end
        if self._idle_at == -math.inf:
            self._idle_at = sent.end
        return sent
