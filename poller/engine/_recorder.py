"""A flight recorder: the last frames on a bus, dumped to the log when a session fails.

Logging every frame of every session would drown the log of a healthy bus, and a
failure is only understood with the bytes that led to it (pymodbus keeps a ring
buffer for the same reason). So every exchange goes into a bounded ring, and the
engine dumps it, one log line per entry, only when a session fails.

Secrets: a ``Send`` marked sensitive carries a password or an answer derived from
one. Its bracket content and its BCC (which is computed over the password and so
narrows it down) are masked in both the hex and the text. An echoing adapter sends
the same bytes back; received data that repeats a masked frame, or the secret alone,
is masked the same way. The raw bytes are never stored, so no later code can leak them.

Entries keep the masked bytes and are rendered to hex and text only when read: a
healthy bus records every exchange and almost never reads one back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from poller.protocol import LineFraming, Send, printable

__all__ = ["FlightRecorder", "RecordedFrame"]

DEFAULT_SIZE: Final = 64
MASK: Final = "**"
# A secret shorter than this is not searched for in received data: masking every
# "0" of a readout because the password is "0" would hide the data, not the secret.
_MIN_SECRET_LEN: Final = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedFrame:
    """One entry: ``>`` sent, ``<`` received, ``=`` line change, ``!`` a note.

    ``cells`` are the bytes as recorded, None where masked; ``label`` is the text
    shown before them (a sent message's description) or instead of them.
    """

    time: float
    direction: str
    cells: tuple[int | None, ...] | bytes = b""
    label: str = ""
    session: str = ""
    sensitive: bool = False
    """A message carrying a secret: its text is the label alone."""

    @property
    def hex(self) -> str:
        return _render(self.cells)[0]

    @property
    def text(self) -> str:
        if not self.cells:
            return self.label
        if self.sensitive:
            return self.label
        shown = _render(self.cells)[1]
        return f"{self.label}: {shown}" if self.label else shown

    def fields(self) -> dict[str, Any]:
        return {
            "t": round(self.time, 6),
            "dir": self.direction,
            "hex": self.hex,
            "text": self.text,
            "frame_session": self.session,
        }


def _render(cells: tuple[int | None, ...] | bytes) -> tuple[str, str]:
    """Hex and printable text of bytes where None stands for a masked byte."""
    hexes: list[str] = []
    parts: list[str] = []
    for i, byte in enumerate(cells):
        if byte is not None:
            hexes.append(f"{byte:02x}")
            parts.append(printable(bytes((byte,))))
        elif i == 0 or cells[i - 1] is not None:
            # A run of masked bytes shows once: not even the secret's length is told.
            hexes.append(MASK)
            parts.append("***")
    return " ".join(hexes), "".join(parts)


def _masked_send(data: bytes) -> list[int | None]:
    """Keep the command letters; mask from the opening bracket's content to the end."""
    open_at = data.find(b"(")
    keep = len(data) if open_at < 0 else open_at + 1
    cells: list[int | None] = list(data[:keep])
    close_at = data.find(b")", keep)
    if close_at < 0:
        return cells + [None] * (len(data) - keep)
    cells += [None] * (close_at - keep)
    cells.append(data[close_at])
    # ETX stays readable; the BCC after it depends on the secret.
    tail = data[close_at + 1 :]
    cells += [b if b == 0x03 else None for b in tail]
    return cells


def _secret_of(data: bytes) -> bytes:
    open_at = data.find(b"(")
    close_at = data.find(b")", open_at + 1)
    return data[open_at + 1 : close_at] if 0 <= open_at < close_at else b""


class FlightRecorder:
    """A ring of the last ``size`` exchanges on one bus, with passwords masked."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self._ring: deque[RecordedFrame] = deque(maxlen=size)
        self._session = ""
        # Byte strings to mask wherever they are heard again (an echo).
        self._secrets: list[bytes] = []

    def begin(self, session: str) -> None:
        """A new session starts; entries are tagged with its id."""
        self._session = session
        self._secrets = []

    def sent(self, at: float, send: Send) -> None:
        if send.sensitive:
            cells = _masked_send(send.data)
            self._secrets.append(send.data)
            secret = _secret_of(send.data)
            if len(secret) >= _MIN_SECRET_LEN:
                self._secrets.append(secret)
            self._add(at, ">", tuple(cells), send.description, sensitive=True)
            return
        self._add(at, ">", send.data, send.description)

    def received(self, at: float, data: bytes) -> None:
        self._add(at, "<", self._mask_heard(data), "")

    def line(self, at: float, baud: int, framing: LineFraming) -> None:
        self._add(at, "=", b"", f"{baud} Bd {framing.value}")

    def note(self, at: float, text: str) -> None:
        self._add(at, "!", b"", text)

    def entries(self) -> list[RecordedFrame]:
        return list(self._ring)

    def __iter__(self) -> Iterator[RecordedFrame]:
        return iter(list(self._ring))

    def __len__(self) -> int:
        return len(self._ring)

    def clear(self) -> None:
        self._ring.clear()

    def _add(
        self,
        at: float,
        direction: str,
        cells: tuple[int | None, ...] | bytes,
        label: str,
        *,
        sensitive: bool = False,
    ) -> None:
        self._ring.append(
            RecordedFrame(
                time=at,
                direction=direction,
                cells=cells,
                label=label,
                session=self._session,
                sensitive=sensitive,
            )
        )

    def _mask_heard(self, data: bytes) -> tuple[int | None, ...] | bytes:
        found = [s for s in self._secrets if s in data]
        if not found:
            return data
        cells: list[int | None] = list(data)
        for secret in found:
            start = data.find(secret)
            while start >= 0:
                cells[start : start + len(secret)] = [None] * len(secret)
                start = data.find(secret, start + 1)
        return tuple(cells)
