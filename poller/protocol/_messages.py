"""Codecs for every IEC 62056-21 message (clause 6.3), both directions.

Each message is a frozen, slotted, keyword-only dataclass that validates its fields
when it is built, encodes itself with ``to_bytes()`` and is decoded strictly by
``from_bytes()``. The strict decoders here take exactly one whole message; the
tolerant, incremental decoding of a byte stream lives in ``_decoder.py`` and builds
these same objects.

Text fields are ``str`` holding 7-bit ASCII: the standard's character set, and what a
7E1 line carries.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import ClassVar

from ._checksums import bcc, crc16
from ._constants import (
    ACK,
    CRLF,
    EOT,
    ETX,
    INITIAL_BAUD,
    MAX_ADDRESS_LEN,
    MAX_ERROR_TEXT_LEN,
    MODE_B_RATES,
    MODE_C_RATES,
    MODE_PROGRAMMING,
    MODE_READOUT,
    NAK,
    PROTOCOL_NORMAL,
    REACTION_TIME_FAST_MIN,
    REACTION_TIME_MIN,
    SOH,
    STX,
)
from ._errors import ChecksumError, FramingError, InvalidMessageError

__all__ = [
    "BREAK",
    "Ack",
    "Command",
    "CommandKind",
    "DataMessage",
    "End",
    "ErrorMessage",
    "Identification",
    "Message",
    "Mode",
    "Nak",
    "OptionSelect",
    "Request",
    "UnframedData",
    "normalize_address",
    "push_telegram",
]

_ADDRESS_RE = re.compile(r"[0-9A-Za-z ]*")
# Printable 7-bit ASCII.
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")


def _ascii(data: bytes, what: str) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FramingError(f"{what} holds a non-ASCII byte", data) from exc


def normalize_address(address: str) -> str:
    """The form two addresses are compared in: leading zeros are not significant.

    Any two all-zero addresses match each other (clause 6.3.1, item 22), so an
    all-zero address normalizes to ``"0"``; the empty (general) address stays empty.
    """
    if not address:
        return ""
    stripped = address.lstrip("0")
    return stripped or "0"


class Mode(enum.Enum):
    """Protocol modes of clause 6.4."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class End(enum.Enum):
    """How a block ends: ETX for the last (or only) block, EOT for a partial block."""

    ETX = ETX
    EOT = EOT


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """Request message ``/ ? address ! CR LF`` (clause 6.3.1).

    An empty address is the general address, which every meter on a line answers.
    """

    address: str = ""

    def __post_init__(self) -> None:
        if len(self.address) > MAX_ADDRESS_LEN:
            raise InvalidMessageError(
                "address", f"{len(self.address)} characters, at most {MAX_ADDRESS_LEN}"
            )
        if not _ADDRESS_RE.fullmatch(self.address):
            raise InvalidMessageError("address", "only 0-9, A-Z, a-z and space are allowed")

    def to_bytes(self) -> bytes:
        return b"/?" + self.address.encode("ascii") + b"!" + CRLF

    @classmethod
    def from_bytes(cls, data: bytes) -> Request:
        if not (data.startswith(b"/?") and data.endswith(b"!\r\n")):
            raise FramingError("not a request message", data)
        return cls(address=_ascii(data[2:-3], "request"))

    def matches(self, address: str) -> bool:
        """Whether a meter with ``address`` must answer this request."""
        return not self.address or normalize_address(self.address) == normalize_address(address)


@dataclass(frozen=True, slots=True, kw_only=True)
class Identification:
    r"""Identification message ``/ XXX Z [\W ...] ident CR LF`` (clause 6.3.2).

    ``manufacturer`` is the three-letter FLAG ID, ``baud_char`` the character Z,
    ``escapes`` the W of each ``\W`` pair, ``ident`` the rest of the line.
    """

    manufacturer: str
    baud_char: str
    ident: str = ""
    escapes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.manufacturer) != 3 or not _PRINTABLE_RE.fullmatch(self.manufacturer):
            raise InvalidMessageError("manufacturer", "three printable characters")
        if "/" in self.manufacturer or "!" in self.manufacturer:
            raise InvalidMessageError("manufacturer", "'/' and '!' are not allowed")
        if len(self.baud_char) != 1 or self.baud_char in "/!\\" or not self.baud_char.isprintable():
            raise InvalidMessageError("baud_char", "one printable character other than / ! \\")
        for escape in self.escapes:
            if len(escape) != 1 or not _PRINTABLE_RE.fullmatch(escape):
                raise InvalidMessageError("escapes", "each escape is one printable character")
        if not _PRINTABLE_RE.fullmatch(self.ident) or any(c in self.ident for c in "/!"):
            raise InvalidMessageError("ident", "printable characters other than / and !")
        if self.ident.startswith("\\"):
            raise InvalidMessageError("ident", "a leading backslash would read as an escape")

    @property
    def mode(self) -> Mode:
        """The mode the baud character announces: B for letters, C for digits, else A.

        Mode D meters announce ``3`` too; only the configuration can tell them apart.
        """
        if self.baud_char in MODE_B_RATES or self.baud_char in "GHI":
            return Mode.B
        if self.baud_char.isdigit():
            return Mode.E if "2" in self.escapes else Mode.C
        return Mode.A

    @property
    def baud_rate(self) -> int:
        """The highest rate the meter offers; 300 where the character names none."""
        return MODE_B_RATES.get(self.baud_char) or MODE_C_RATES.get(self.baud_char, INITIAL_BAUD)

    @property
    def reaction_time(self) -> float:
        """The shortest reaction time tr the meter accepts from the client."""
        third = self.manufacturer[2]
        return REACTION_TIME_FAST_MIN if third.islower() else REACTION_TIME_MIN

    @property
    def supports_mode_e(self) -> bool:
        return "2" in self.escapes

    @property
    def text(self) -> str:
        """The whole line between ``/`` and CR LF, as the meter sent it."""
        escapes = "".join("\\" + w for w in self.escapes)
        return f"{self.manufacturer}{self.baud_char}{escapes}{self.ident}"

    def to_bytes(self) -> bytes:
        return b"/" + self.text.encode("ascii") + CRLF

    @classmethod
    def parse_line(cls, line: str) -> Identification:
        r"""Parse the text between ``/`` and the line end, tolerant of real meters.

        ``\W`` pairs are taken as the standard defines them; a backslash at the very
        end is kept in the ident.
        """
        if len(line) < 4:
            raise FramingError("identification shorter than XXXZ", line.encode("ascii", "replace"))
        manufacturer, baud_char, rest = line[:3], line[3], line[4:]
        escapes: list[str] = []
        while len(rest) >= 2 and rest[0] == "\\":
            escapes.append(rest[1])
            rest = rest[2:]
        try:
            return cls(
                manufacturer=manufacturer, baud_char=baud_char, ident=rest, escapes=tuple(escapes)
            )
        except InvalidMessageError as exc:
            raise FramingError(
                f"bad identification: {exc.reason}", line.encode("ascii", "replace")
            ) from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> Identification:
        """Decode one identification; CR LF, a bare LF or LF LF may end it."""
        if not data.startswith(b"/") or not data.endswith(b"\n"):
            raise FramingError("not an identification message", data)
        return cls.parse_line(_ascii(data[1:], "identification").rstrip("\r\n"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionSelect:
    """Acknowledgement / option select message ``ACK V Z Y CR LF`` (clause 6.3.3)."""

    protocol: str = PROTOCOL_NORMAL
    baud_char: str
    mode: str = MODE_READOUT

    def __post_init__(self) -> None:
        for name in ("protocol", "baud_char", "mode"):
            value = getattr(self, name)
            if len(value) != 1 or not value.isalnum() or not value.isascii():
                raise InvalidMessageError(name, "one ASCII letter or digit")

    @classmethod
    def readout(cls, baud_char: str) -> OptionSelect:
        return cls(baud_char=baud_char, mode=MODE_READOUT)

    @classmethod
    def programming(cls, baud_char: str) -> OptionSelect:
        return cls(baud_char=baud_char, mode=MODE_PROGRAMMING)

    @property
    def baud_rate(self) -> int:
        return MODE_C_RATES.get(self.baud_char, INITIAL_BAUD)

    def to_bytes(self) -> bytes:
        return bytes([ACK]) + f"{self.protocol}{self.baud_char}{self.mode}".encode("ascii") + CRLF

    @classmethod
    def from_bytes(cls, data: bytes) -> OptionSelect:
        if len(data) != 6 or data[0] != ACK or data[4:] != CRLF:
            raise FramingError("not an option select message", data)
        text = _ascii(data[1:4], "option select")
        try:
            return cls(protocol=text[0], baud_char=text[1], mode=text[2])
        except InvalidMessageError as exc:
            raise FramingError(f"bad option select: {exc.reason}", data) from exc


@dataclass(frozen=True, slots=True)
class Ack:
    """Positive acknowledge, a single ACK (clause 6.3.4)."""

    def to_bytes(self) -> bytes:
        return bytes([ACK])

    @classmethod
    def from_bytes(cls, data: bytes) -> Ack:
        if data != bytes([ACK]):
            raise FramingError("not an ACK", data)
        return cls()


@dataclass(frozen=True, slots=True)
class Nak:
    """Negative acknowledge, a single NAK: "repeat" (clause 6.3.5)."""

    def to_bytes(self) -> bytes:
        return bytes([NAK])

    @classmethod
    def from_bytes(cls, data: bytes) -> Nak:
        if data != bytes([NAK]):
            raise FramingError("not a NAK", data)
        return cls()


def _split_checked_block(data: bytes, start: int, what: str) -> tuple[bytes, End]:
    """Check a ``start ... ETX|EOT BCC`` frame and return its body and end character."""
    if len(data) < 3 or data[0] != start:
        raise FramingError(f"not a {what}", data)
    end_char = data[-2]
    if end_char not in (ETX, EOT):
        raise FramingError(f"{what} does not end in ETX or EOT followed by the BCC", data)
    expected = bcc(data[1:-1])
    if expected != data[-1] & 0x7F:
        raise ChecksumError(expected=expected, received=data[-1])
    return data[1:-2], End(end_char)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataMessage:
    """Data message ``STX data ETX|EOT BCC`` (clauses 6.3.6 and 6.3.8).

    ``data`` is everything between STX and the end character: for a readout the data
    block with its closing ``! CR LF``, for a programming reply the data sets alone.
    An EOT end marks a partial block (clause 6.4.7); the next one follows on ACK.
    """

    data: str
    end: End = End.ETX

    def __post_init__(self) -> None:
        # A garbled block may carry SOH or STX (the BCC then tells); ETX and EOT would
        # end the frame early, so they are the only characters a block cannot hold.
        if not self.data.isascii():
            raise InvalidMessageError("data", "7-bit ASCII only")
        if "\x03" in self.data or "\x04" in self.data:  # ETX, EOT (str.find runs in C)
            raise InvalidMessageError("data", "ETX and EOT cannot appear in a block")

    @classmethod
    def readout(cls, block: str) -> DataMessage:
        """A readout data message for ``block`` (data lines, each ending in CR LF)."""
        return cls(data=block + "!\r\n")

    @property
    def is_partial(self) -> bool:
        return self.end is End.EOT

    @property
    def is_readout(self) -> bool:
        return self.data.rstrip("\r\n").endswith("!")

    @property
    def block(self) -> str:
        """The data without the readout's closing ``!`` line."""
        text = self.data
        if text.endswith("!\r\n"):
            return text[:-3]
        if text.endswith("!"):
            return text[:-1]
        return text

    def to_bytes(self) -> bytes:
        body = self.data.encode("ascii") + bytes([self.end.value])
        return bytes([STX]) + body + bytes([bcc(body)])

    @classmethod
    def from_bytes(cls, data: bytes) -> DataMessage:
        body, end = _split_checked_block(data, STX, "data message")
        return cls(data=_ascii(body, "data message"), end=end)


_ERROR_TEXT_RE = re.compile(rf"\(([^()*/!]{{1,{MAX_ERROR_TEXT_LEN}}})\)(?:\r\n)?")


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorMessage:
    """Error message ``STX (text) ETX BCC`` (clause 6.3.11).

    It shares its framing with a data message; ``from_data`` tells them apart by the
    standard's suggestion that error texts start with ``ER``.
    """

    text: str
    PREFIXES: ClassVar[tuple[str, ...]] = ("ER",)

    def __post_init__(self) -> None:
        if not self.text or len(self.text) > MAX_ERROR_TEXT_LEN:
            raise InvalidMessageError("text", f"1 to {MAX_ERROR_TEXT_LEN} characters")
        if not _PRINTABLE_RE.fullmatch(self.text) or any(c in self.text for c in "()*/!"):
            raise InvalidMessageError("text", "printable characters other than ( ) * / !")

    def to_bytes(self) -> bytes:
        return DataMessage(data=f"({self.text})").to_bytes()

    @classmethod
    def from_data(
        cls, message: DataMessage, prefixes: tuple[str, ...] | None = None
    ) -> ErrorMessage | None:
        """The error a data message carries, or None when it is ordinary data."""
        match = _ERROR_TEXT_RE.fullmatch(message.data)
        if match is None:
            return None
        text = match.group(1)
        if not text.upper().startswith(prefixes or cls.PREFIXES):
            return None
        return cls(text=text)

    @classmethod
    def from_bytes(cls, data: bytes) -> ErrorMessage:
        """Decode a message known to be an error reply, whatever its text."""
        found = cls.from_data(DataMessage.from_bytes(data), prefixes=("",))
        if found is None:
            raise FramingError("not an error message", data)
        return found


class CommandKind(enum.Enum):
    """Command message identifier C (clause 6.3.7, item 19)."""

    PASSWORD = "P"  # noqa: S105 - the command letter, not a secret
    WRITE = "W"
    READ = "R"
    EXECUTE = "E"
    BREAK = "B"


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Programming command ``SOH C D [STX data] ETX|EOT BCC`` (clause 6.3.7).

    ``code`` is the command type identifier D. Break (``B0``) carries no data and no
    STX. ``repr`` hides the data of password commands.
    """

    kind: CommandKind
    code: str
    data: str | None = None
    end: End = End.ETX

    def __post_init__(self) -> None:
        if len(self.code) != 1 or not self.code.isascii() or not self.code.isalnum():
            raise InvalidMessageError("code", "one ASCII letter or digit")
        if self.data is not None:
            if not self.data.isascii():
                raise InvalidMessageError("data", "7-bit ASCII only")
            if "\x03" in self.data or "\x04" in self.data:  # ETX, EOT (str.find runs in C)
                raise InvalidMessageError("data", "ETX and EOT cannot appear in data")

    def __repr__(self) -> str:
        shown = (
            "'***'" if self.kind is CommandKind.PASSWORD and self.code != "0" else repr(self.data)
        )
        return f"Command(kind={self.kind}, code={self.code!r}, data={shown}, end={self.end})"

    @property
    def name(self) -> str:
        """``P1``, ``R5``, ``B0``: how the standard names the command."""
        return self.kind.value + self.code

    def to_bytes(self) -> bytes:
        head = (self.kind.value + self.code).encode("ascii")
        if self.data is not None:
            head += bytes([STX]) + self.data.encode("ascii")
        body = head + bytes([self.end.value])
        return bytes([SOH]) + body + bytes([bcc(body)])

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        body, end = _split_checked_block(data, SOH, "command message")
        if len(body) < 2:
            raise FramingError("command message without identifier", data)
        try:
            kind = CommandKind(chr(body[0]))
        except ValueError as exc:
            raise FramingError(f"unknown command identifier {chr(body[0])!r}", data) from exc
        payload: str | None = None
        if len(body) > 2:
            if body[2] != STX:
                raise FramingError("command data does not start with STX", data)
            payload = _ascii(body[3:], "command data")
        try:
            return cls(kind=kind, code=chr(body[1]), data=payload, end=end)
        except InvalidMessageError as exc:
            raise FramingError(f"bad command: {exc.reason}", data) from exc

    # Constructors for the commands a client sends.
    @classmethod
    def password(cls, code: str, secret: str) -> Command:
        """``P1``/``P2`` with the password (or its computed answer) in brackets."""
        return cls(kind=CommandKind.PASSWORD, code=code, data=f"({secret})")

    @classmethod
    def read(cls, code: str, dataset: str) -> Command:
        return cls(kind=CommandKind.READ, code=code, data=dataset)

    @classmethod
    def write(cls, code: str, dataset: str, end: End = End.ETX) -> Command:
        return cls(kind=CommandKind.WRITE, code=code, data=dataset, end=end)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnframedData:
    """A data block sent without STX, ETX and BCC: mode A and D readouts, P1 telegrams.

    ``data`` is the text between the identification line and the closing ``!``; ``crc``
    the hexadecimal CRC16 that DSMR / Nordic HAN P1 meters put after ``!`` (None where
    the meter sends none). The CRC covers the identification too, so it is computed by
    ``push_telegram``, which sees both.
    """

    data: str
    crc: str | None = None

    def __post_init__(self) -> None:
        if not self.data.isascii() or "!" in self.data or "/" in self.data:
            raise InvalidMessageError("data", "7-bit ASCII without / and !")
        if self.crc is not None and not re.fullmatch(r"[0-9A-Fa-f]{1,4}", self.crc):
            raise InvalidMessageError("crc", "one to four hexadecimal digits")

    def to_bytes(self) -> bytes:
        return self.data.encode("ascii") + b"!" + (self.crc or "").encode("ascii") + CRLF


def push_telegram(identification: Identification, data: str, *, with_crc: bool) -> bytes:
    """The bytes of a mode D / P1 telegram, with the CRC16 of P1 meters if asked.

    ``data`` usually starts with CR LF: the blank line after the identification.
    """
    head = identification.to_bytes() + UnframedData(data=data).data.encode("ascii") + b"!"
    crc = f"{crc16(head):04X}" if with_crc else ""
    return head + crc.encode("ascii") + CRLF


BREAK = Command(kind=CommandKind.BREAK, code="0")
"""The break (sign-off) command ``SOH B0 ETX BCC`` = ``01 42 30 03 71``."""

Message = Request | Identification | OptionSelect | Ack | Nak | DataMessage | Command | UnframedData
"""Every message a stream decoder can produce."""
