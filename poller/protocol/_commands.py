"""What a programming session sends after its option select: the password, then each command.

Theory of operation
-------------------
In programming mode the meter opens with ``P0(operand)``; the client answers with
``P1(password)`` or, with a password scheme, ``P2(answer to the operand)``
(``password_command``). Once the meter acknowledges it, the configured commands go
out one at a time, in order, and the session ends with B0.

``CommandCursor`` is the bookkeeping of that command phase, apart from the timing
and the repeats (the session's, shared with the other steps):

* ``next_request`` moves to the next command not yet answered and forgets the partial
  blocks of the last one; None once every command has its result;
* a reply may come as several blocks (EOT, ACK, the next block...): ``add_block``
  keeps them and ``reply`` joins them with the last one (ETX);
* each command ends with exactly one ``CommandResult`` (``record``): its data, a plain
  ACK (a write's), or the error that ended it (an error reply, a break, exhausted
  repeats). Recording advances the cursor, so the results are in command order and
  there is never a second result for one command.
"""

from __future__ import annotations

from ._actions import CommandResult
from ._errors import AuthenticationError, ProtocolError
from ._messages import Command
from ._passwords import Password, get_scheme
from ._session_config import ProgrammingRequest, ReadRequest
from ._session_events import parse_datasets

__all__ = ["CommandCursor", "command_for", "password_command"]


def command_for(request: ProgrammingRequest) -> Command:
    """The ``R`` or ``W`` command that carries ``request``."""
    if isinstance(request, ReadRequest):
        return Command.read(request.code, request.dataset)
    return Command.write(request.code, request.dataset)


def password_command(operand: str, password: Password, scheme: str | None) -> Command:
    """``P1(password)``, or ``P2(answer)`` computed by the named scheme from ``operand``.

    Raises ``AuthenticationError`` for a secret a P message cannot carry and for any
    failure of a scheme, never quoting the password (a plug-in's message might).
    """
    if scheme is None:
        code, secret = "1", password.reveal()
    else:
        code, secret = "2", _scheme_answer(scheme, operand, password)
    if not secret.isascii() or not secret.isprintable() or any(c in secret for c in "()"):
        raise AuthenticationError("the password holds characters a P message cannot carry")
    return Command.password(code, secret)


def _scheme_answer(name: str, operand: str, password: Password) -> str:
    scheme = get_scheme(name)
    try:
        return scheme(operand, password)
    except ProtocolError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plug-in may raise anything
        # Not chained: a plug-in's own message may quote the password it was given.
        raise AuthenticationError(f"password scheme {name!r} raised {type(exc).__name__}") from None


class CommandCursor:
    """Which programming command is next, its reply's blocks so far, and the results."""

    def __init__(self, commands: tuple[ProgrammingRequest, ...]) -> None:
        self._commands = commands
        self._index = 0
        self._blocks: list[str] = []
        self.results: list[CommandResult] = []

    @property
    def current(self) -> ProgrammingRequest:
        """The command being answered; only between ``next_request`` and ``record``."""
        return self._commands[self._index]

    @property
    def partial(self) -> bool:
        """Whether part of the current reply has come (blocks ending in EOT)."""
        return bool(self._blocks)

    def next_request(self) -> ProgrammingRequest | None:
        """The next command to send, or None when every command has its result."""
        self._blocks = []
        if self._index >= len(self._commands):
            return None
        return self._commands[self._index]

    def add_block(self, data: str) -> None:
        """A block of the current reply that more blocks follow."""
        self._blocks.append(data)

    def reply(self, last: str) -> str:
        """The current reply: its earlier blocks and ``last``."""
        return "".join(self._blocks) + last

    def record(
        self, *, data: str | None = None, error: ProtocolError | None = None
    ) -> CommandResult:
        """End the current command with its data or its error, and move past it."""
        request = self.current
        result = CommandResult(
            command=request.name,
            dataset=request.dataset,
            data=data,
            datasets=parse_datasets(data) if data else (),
            error=error,
        )
        self.results.append(result)
        self._index += 1
        return result
