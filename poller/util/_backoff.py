"""Exponential backoff with a cap and jitter; pure: a wait is computed, never slept here."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Waits of ``initial * factor**(n-1)`` seconds, capped at ``maximum``, +/- ``jitter``.

    The one backoff of the product: ports reopening (with jitter, so the buses behind
    one converter do not retry in lockstep), meters retried by the bus engine
    (without, as one bus serialises them anyway) and batches redelivered to a sink.
    """

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1
    """Fraction of the wait drawn at random either way."""

    def __post_init__(self) -> None:
        finite = all(math.isfinite(v) for v in (self.initial, self.maximum, self.factor))
        if not finite or not 0 <= self.initial <= self.maximum or self.factor < 1:
            raise ValueError("backoff needs 0 <= initial <= maximum and factor >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("backoff jitter must be at least 0 and below 1")

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """The wait after the ``failures``-th failure in a row (1 for the first; 0: none)."""
        if failures <= 0:
            return 0.0
        exponent = min(failures - 1, 64)  # 2**64 s is forever enough
        base = min(self.maximum, self.initial * self.factor**exponent)
        if not self.jitter:
            return base
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return base * (1 + spread)
