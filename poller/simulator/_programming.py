"""A simulated meter's programming mode (clause 6.3.7-6.3.12, PROTOCOL.md section 6).

Rules of this mode, as the simulator plays them:

* After ``ACK V Z 1`` the meter sends P0 with its operand and waits for commands.
* P1/P2: right password -> ACK; wrong -> NAK, an error or a break (per meter), and
  after ``lockout_after`` wrong ones in a row the meter breaks and refuses every
  password for ``lockout_seconds``, even in later sessions.
* Reading needs no password (as the MetCom manual in the corpus says); writing does.
* R1-R4 ``addr(n)``: the data set, or an error when the address is unknown.
  R5/R6 ``P.01(from;to)`` / ``P.98(from;to)``: the records, ``(ERROR)`` when there are
  none. Replies longer than the meter's block size, and every R6 reply, go out in
  partial blocks: ACK asks for the next, NAK for a repeat, a new command abandons them.
* NAK answers a frame whose BCC does not check and repeats the last reply.
* B0 ends the session without a reply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from poller.protocol import (
    BREAK,
    Ack,
    Check,
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    Frame,
    Nak,
    Password,
    get_scheme,
)

from ._datablock import RangeRequest, format_lines, parse_range, parse_read
from ._faults import FaultInjector
from ._model import MeterSpec, PasswordSpec
from ._readings import find_register, logbook_lines, profile_lines, register_line

__all__ = ["AccessState", "Outcome", "ProgrammingSession", "expected_password"]

# Error texts of the simulated meters (the standard leaves them to the maker).
NO_DATA = "ERROR"
ACCESS_DENIED = "ER02"
UNSUPPORTED = "ER04"
WRONG_PASSWORD = "ER10"  # noqa: S105 - an error code, not a secret
LOCKED = "ER11"
# R6 replies without a configured block size are cut into blocks of this many lines.
DEFAULT_BLOCK_LINES = 16

_ACK = Ack().to_bytes()
_NAK = Nak().to_bytes()


def expected_password(access: PasswordSpec) -> tuple[str, str] | None:
    """The command code and bracket content a client must send, or None for no check.

    ``plain`` is ``P1(password)``; any other name is a P2 scheme of the protocol core's
    registry (``elster-a1140`` ...), applied to the meter's own P0 operand.
    """
    if access.scheme == "none":
        return None
    if access.scheme == "plain":
        return "1", access.password
    answer = get_scheme(access.scheme)(access.operand, Password(access.password))
    return "2", answer


@dataclass
class AccessState:
    """Wrong-password bookkeeping that outlives a session."""

    failures: int = 0
    locked_until: float = -math.inf


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the meter answers a frame with; ``end`` returns it to idle afterwards."""

    reply: bytes | None
    end: bool = False


class ProgrammingSession:
    """One programming-mode session of one meter."""

    def __init__(
        self,
        spec: MeterSpec,
        faults: FaultInjector,
        access: AccessState,
        written: dict[str, str],
    ) -> None:
        assert spec.password is not None
        self.spec = spec
        self.password = spec.password
        self._faults = faults
        self._access = access
        self._written = written
        self._expected = expected_password(spec.password)
        self.authenticated = self._expected is None
        self._blocks: list[bytes] = []
        self._last: bytes | None = None

    @property
    def sending_blocks(self) -> bool:
        """A partial-block reply is under way: a lone ACK means "next"."""
        return bool(self._blocks)

    def p0(self) -> bytes:
        operand = Command(kind=CommandKind.PASSWORD, code="0", data=f"({self.password.operand})")
        return self._remember(self._faults.block(operand.to_bytes()))

    def handle(self, frame: Frame, now: float, moment: datetime) -> Outcome:
        message = frame.message
        if frame.check is Check.BAD:
            return Outcome(_NAK)
        if isinstance(message, Nak):
            return Outcome(self._last)
        if isinstance(message, Ack):
            return Outcome(self._next_block() if self._blocks else None)
        if not isinstance(message, Command):
            return Outcome(_NAK)
        self._blocks = []
        if message.kind is CommandKind.BREAK:
            return Outcome(None, end=True)
        if self._faults.nak():
            return Outcome(_NAK)
        if message.kind is CommandKind.PASSWORD:
            return self._password(message, now)
        if message.kind is CommandKind.READ:
            return Outcome(self._read(message, moment))
        if message.kind in (CommandKind.WRITE, CommandKind.EXECUTE):
            if not self.authenticated:
                return Outcome(self._error(ACCESS_DENIED))
            if message.kind is CommandKind.WRITE and message.data:
                request = parse_read(message.data.split(")")[0] + ")")
                if request is not None:
                    self._written[request.address] = message.data.split("(", 1)[1].rstrip(")")
            return Outcome(self._remember(_ACK))
        return Outcome(self._error(UNSUPPORTED))

    def _password(self, message: Command, now: float) -> Outcome:
        if now < self._access.locked_until:
            return Outcome(self._error(LOCKED))
        supplied = (message.code, (message.data or "").strip("()"))
        if self._expected is None or supplied == self._expected:
            self._access.failures = 0
            self.authenticated = True
            return Outcome(self._remember(_ACK))
        self._access.failures += 1
        if self._access.failures >= self.password.lockout_after:
            self._access.failures = 0
            self._access.locked_until = now + self.password.lockout_seconds
            return Outcome(BREAK.to_bytes(), end=True)
        if self.password.wrong_reply == "break":
            return Outcome(BREAK.to_bytes(), end=True)
        if self.password.wrong_reply == "error":
            return Outcome(self._error(WRONG_PASSWORD))
        return Outcome(_NAK)

    def _read(self, message: Command, moment: datetime) -> bytes:
        data = message.data or ""
        if message.code in "56":
            found = parse_range(data, self.spec.utc_offset_minutes)
            if found is not None:
                lines = self._records(found, moment)
                if lines is None:
                    return self._error(NO_DATA)
                return self._reply_lines(lines, partial=message.code == "6")
        if message.code == "1" and self.spec.faults.r1_error:
            return self._error(self.spec.faults.r1_error)
        request = parse_read(data)
        if request is None:
            return self._remember(_NAK)
        if request.address in self._written:
            return self._reply_lines([f"{request.address}({self._written[request.address]})"])
        register = find_register(self.spec, request.address)
        if register is None:
            return self._error(NO_DATA)
        line = register_line(self.spec, register, moment)
        return self._reply_lines([format_lines([line]).rstrip("\r\n")])

    def _records(self, found: RangeRequest, moment: datetime) -> list[str] | None:
        profile, book = self.spec.load_profile, self.spec.logbook
        if profile is not None and found.code == profile.code:
            return profile_lines(self.spec, moment, found.since, found.until)
        if book is not None and found.code == book.code:
            return logbook_lines(self.spec, moment, found.since, found.until)
        return None

    def _reply_lines(self, lines: list[str], *, partial: bool = False) -> bytes:
        size = self.spec.partial_block_lines
        if partial and size is None:
            size = DEFAULT_BLOCK_LINES
        if size is None or len(lines) <= size:
            return self._remember(self._message("".join(f"{x}\r\n" for x in lines), End.ETX))
        chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
        self._blocks = [
            self._message(
                "".join(f"{x}\r\n" for x in chunk), End.EOT if i < len(chunks) - 1 else End.ETX
            )
            for i, chunk in enumerate(chunks)
        ]
        return self._next_block()

    def _next_block(self) -> bytes:
        return self._remember(self._blocks.pop(0))

    def _message(self, text: str, end: End) -> bytes:
        return self._faults.block(DataMessage(data=text, end=end).to_bytes())

    def _error(self, text: str) -> bytes:
        return self._remember(self._faults.block(ErrorMessage(text=text).to_bytes()))

    def _remember(self, reply: bytes) -> bytes:
        self._last = reply
        return reply
