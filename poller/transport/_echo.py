"""Echo suppression: drop our own bytes when the line hands them back.

Optical heads and two-wire RS-485 adapters hear themselves, so everything we send
comes back before the meter's answer (PROTOCOL.md 9). We remember what we sent and
drop exactly that from what arrives, however it is split into chunks:

* bytes that match so far are held back, not dropped, until the whole echo has
  matched; a byte that differs releases them with it, so a line that does not echo
  after all (a misconfigured option) loses nothing: a meter's ``/`` that happens to
  match the ``/`` of our request is handed on with the rest of its ident;
* a differing byte ends the expected echo and is counted as a mismatch, except for
  up to two junk bytes ahead of the echo (VZ's ACE3000 fixture: ``7F`` before the
  echo; the simulator: a collision's junk), which are passed on and the echo still
  looked for.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EchoFilter"]

_MAX_LEADING_JUNK: Final = 2


class EchoFilter:
    """The bytes still expected back, and what was seen of them."""

    def __init__(self) -> None:
        self._expected = bytearray()
        self._matched = 0
        self._junk = 0
        self.dropped = 0
        """Echoed bytes removed so far."""
        self.mismatches = 0
        """Times the line returned something other than the echo we expected."""

    @property
    def pending(self) -> int:
        """Bytes of echo not yet seen."""
        return len(self._expected) - self._matched

    def expect(self, sent: bytes) -> None:
        self._expected += sent

    def reset(self) -> None:
        self._expected.clear()
        self._matched = self._junk = 0

    def feed(self, data: bytes) -> bytes:
        """``data`` without our echo, in the order it arrived."""
        out = bytearray()
        for index, byte in enumerate(data):
            if not self._expected:
                out += data[index:]
                break
            if byte == self._expected[self._matched]:
                self._matched += 1
                if self._matched == len(self._expected):
                    self.dropped += self._matched
                    self.reset()
            elif self._matched == 0 and self._junk < _MAX_LEADING_JUNK:
                self._junk += 1
                out.append(byte)
            else:
                self.mismatches += 1
                out += self._expected[: self._matched]
                out.append(byte)
                self.reset()
        return bytes(out)
