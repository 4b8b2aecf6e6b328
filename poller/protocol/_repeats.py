"""How often a session may repeat: a budget for its sign-ons and one for the current step.

Theory of operation
-------------------
A garbled or missing readout can only be asked for again by signing on again; a
garbled or missing message within programming is asked for again with a NAK, or our
own message is repeated. Each of those has ``max_repeats`` repeats, so 1 +
``max_repeats`` attempts: the sign-on budget lasts the whole session, the step budget
starts afresh at every step (each programming message, each readout block), and
``total`` counts every repeat for the session's result.

A ``repeat_*`` call spends one repeat and says whether there was one to spend; when it
says no, ``*_attempts`` is the number of attempts made, for the error that follows.
"""

from __future__ import annotations

__all__ = ["RepeatBudget"]


class RepeatBudget:
    """The repeats left to one session; see the module docstring."""

    def __init__(self, max_repeats: int) -> None:
        self.max_repeats = max_repeats
        self._sign_on = 0
        self._step = 0
        self.total = 0
        """Repeats of any kind so far."""

    @property
    def sign_on_attempts(self) -> int:
        return self._sign_on + 1

    @property
    def step_attempts(self) -> int:
        return self._step + 1

    def new_step(self) -> None:
        """A new step begins: its own repeats start from none."""
        self._step = 0

    def repeat_sign_on(self) -> bool:
        """Spend a sign-on repeat; False when none is left."""
        self._sign_on, spent = self._spend(self._sign_on)
        return spent

    def repeat_step(self) -> bool:
        """Spend a repeat of the current step; False when none is left."""
        self._step, spent = self._spend(self._step)
        return spent

    def _spend(self, used: int) -> tuple[int, bool]:
        if used >= self.max_repeats:
            return used, False
        self.total += 1
        return used + 1, True
