"""When a client session's bytes may go out, and when and to what rate the line switches.

Theory of operation
-------------------
A session never reads a clock: it is told when the meter's last byte arrived (``now``)
and answers with actions stamped with times. ``LineTimeline`` keeps the two facts
those stamps depend on, so that every send and every switch is computed one way:

* the rate the line was last set to (``baud``; None until the session first sets it,
  the transport's previous state being the engine's, not ours), and
* when our last byte leaves the wire (``last_send_end``): a send's ``not_before``
  plus its wire time at the rate in force when it was sent.

Rules (IEC 62056-21 clause 6.4 and annex A):

* We answer exactly tr after the last byte of the meter's message (``answer_at``):
  200 ms, or 20 ms after an identification whose third letter is lowercase, or the
  configured client reaction time. Waiting longer gains nothing.
* A send never starts before the previous one has left the wire: bytes are queued,
  never interleaved, whatever time the caller asks for.
* A baud switch happens only after our last byte has left the wire at the old rate
  plus ``switch_delay`` (USB adapters report "sent" while bytes are still in their
  FIFO), so an option select is never cut by its own switch. A ``SetLine`` is made
  only when the rate really changes, because some drivers reject a no-op
  reconfiguration.
* The bus is free at the later of ``now`` and our last byte's end, plus
  ``BREAK_GUARD_TIME`` when the meter's state is unknown (after a B0 or a failure).

``choose_baud_char`` is the other half of a mode C switch: which Z to ask for, given
what the meter offered, the configured cap and whether a capped attempt failed.
"""

from __future__ import annotations

from typing import Final

from ._actions import LineFraming, Send, SetLine
from ._constants import (
    BITS_PER_CHAR,
    BREAK_GUARD_TIME,
    INITIAL_BAUD,
    MODE_C_RATES,
    WAKE_UP_DURATION,
)

__all__ = ["WAKE_UP_NULS", "LineTimeline", "choose_baud_char"]

# Annex B.1: NULs for WAKE_UP_DURATION at 300 Bd, i.e. 66 characters.
WAKE_UP_NULS: Final = round(WAKE_UP_DURATION * INITIAL_BAUD / BITS_PER_CHAR)


class LineTimeline:
    """The line's rate and our bytes' place on the wire, for one session; see above."""

    def __init__(self, *, framing: LineFraming, switch_delay: float, reaction_time: float) -> None:
        self.framing = framing
        self.switch_delay = switch_delay
        self.reaction_time = reaction_time
        """tr: how long after the meter's last byte we answer."""
        self.baud: int | None = None
        self.last_send_end = float("-inf")

    @property
    def line_baud(self) -> int:
        """The rate bytes go out at now (300 Bd before the line was first set)."""
        return self.baud if self.baud is not None else INITIAL_BAUD

    def answer_at(self, now: float) -> float:
        """When to answer a message whose last byte arrived at ``now``."""
        return now + self.reaction_time

    def send(self, data: bytes, at: float, description: str, *, sensitive: bool = False) -> Send:
        """``data`` at ``at``, or once our previous bytes have left the wire if later."""
        send = Send(
            data=data,
            not_before=max(at, self.last_send_end),
            description=description,
            sensitive=sensitive,
        )
        self.last_send_end = send.end(self.line_baud)
        return send

    def set_line(self, baud: int, at: float) -> tuple[float, SetLine | None]:
        """Switch to ``baud`` once our last byte is out: when, and the action if it changes."""
        when = max(at, self.last_send_end + self.switch_delay)
        if baud == self.baud:
            return when, None
        self.baud = baud
        return when, SetLine(baud=baud, framing=self.framing, at=when)

    def bus_free_at(self, now: float, *, guard: bool) -> float:
        """When the next session may use the bus; ``guard`` when the meter's state is unknown."""
        free = max(now, self.last_send_end)
        return free + BREAK_GUARD_TIME if guard else free


def choose_baud_char(offered: int, *, cap: int | None, fallback_300: bool) -> tuple[str, bool]:
    """The option select's Z for a meter offering ``offered`` Bd, and whether ``cap`` lowered it.

    Below the offered rate the cap's own Z is asked for (some meters honour a lower
    Z); a standard meter ignores a Z it did not offer and stays at 300 Bd, so after
    such an attempt failed (``fallback_300``) Z=0 is asked for.
    """
    z = next((char for char, rate in MODE_C_RATES.items() if rate == offered), "0")
    if fallback_300:
        return "0", False
    if cap is not None and MODE_C_RATES[z] > cap:
        lower = max(
            (char for char, rate in MODE_C_RATES.items() if rate <= cap),
            key=MODE_C_RATES.__getitem__,
        )
        return lower, True
    return z, False
