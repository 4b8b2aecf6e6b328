"""Deterministic fault injection: what a meter's bad day does to its bytes.

One seeded generator per meter draws every random decision in the order the meter
makes them, so the same seed and the same client produce the same faults.
"""

from __future__ import annotations

import random

from ._model import Faults

__all__ = ["FaultInjector"]


class FaultInjector:
    def __init__(self, faults: Faults, seed: str) -> None:
        self.faults = faults
        self._seed = seed
        self._random: random.Random | None = None

    @property
    def _rng(self) -> random.Random:
        # Made at the first draw: a generator's state is 2.5 KB, and most meters of a
        # large simulated bus have no faults and never draw.
        if self._random is None:
            self._random = random.Random(self._seed)
        return self._random

    def block(self, data: bytes) -> bytes:
        """A framed block (``... ETX|EOT BCC``), its BCC spoilt with the configured odds."""
        rate = self.faults.bcc_error_rate
        if rate and self._rng.random() < rate:
            return data[:-1] + bytes([(data[-1] ^ 0x01) & 0x7F])
        return data

    def line(self, data: bytes) -> bytes:
        """Bytes as they leave the meter: some dropped, some with one bit flipped."""
        drop, flip = self.faults.drop_rate, self.faults.flip_rate
        if not (drop or flip):
            return data
        out = bytearray()
        for byte in data:
            if drop and self._rng.random() < drop:
                continue
            if flip and self._rng.random() < flip:
                byte ^= 1 << self._rng.randrange(7)
            out.append(byte)
        return bytes(out)

    def nak(self) -> bool:
        """Whether to answer this programming command with NAK."""
        return bool(self.faults.nak_rate) and self._rng.random() < self.faults.nak_rate
