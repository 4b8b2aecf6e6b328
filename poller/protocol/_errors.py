"""The protocol core's one error family.

Every error carries its data as attributes; the message is derived from them and
never holds a password. Callers branch on the type and the attributes, never on text.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error the protocol core raises."""


class InvalidMessageError(ProtocolError, ValueError):
    """A message could not be encoded because a field breaks the standard's rules."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"invalid {field}: {reason}")


class FramingError(ProtocolError):
    """Bytes do not form the message that was expected."""

    def __init__(self, reason: str, data: bytes = b"") -> None:
        self.reason = reason
        self.data = data
        super().__init__(f"{reason} ({len(data)} bytes)" if data else reason)


class ChecksumError(ProtocolError):
    """A block check character or CRC16 did not verify."""

    def __init__(self, *, expected: int, received: int | None, kind: str = "BCC") -> None:
        self.expected = expected
        self.received = received
        self.kind = kind
        got = "none" if received is None else f"0x{received:02X}"
        super().__init__(f"{kind} mismatch: computed 0x{expected:02X}, received {got}")


class ProtocolTimeoutError(ProtocolError):
    """The meter did not answer, or stopped answering, within the deadline."""

    def __init__(self, *, waiting_for: str, waited: float) -> None:
        self.waiting_for = waiting_for
        self.waited = waited
        super().__init__(f"no {waiting_for} within {waited:.3f} s")


class RemoteError(ProtocolError):
    """The meter answered a valid command with an error message, e.g. ``(ER03)``."""

    def __init__(self, code: str, *, command: str | None = None) -> None:
        self.code = code
        self.command = command
        where = f" to {command}" if command else ""
        super().__init__(f"meter replied error {code!r}{where}")


class AuthenticationError(ProtocolError):
    """The meter refused the password (NAK, an error message or a break)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"password refused: {reason}")


class RetriesExhaustedError(ProtocolError):
    """A message was repeated the standard's number of times without success."""

    def __init__(self, *, what: str, attempts: int, last: ProtocolError | None = None) -> None:
        self.what = what
        self.attempts = attempts
        self.last = last
        tail = f": {last}" if last is not None else ""
        super().__init__(f"{what} failed after {attempts} attempts{tail}")


class SessionStateError(ProtocolError):
    """The session was driven in a way its state does not allow (a caller bug)."""

    def __init__(self, state: str, action: str) -> None:
        self.state = state
        self.action = action
        super().__init__(f"cannot {action} in state {state}")
