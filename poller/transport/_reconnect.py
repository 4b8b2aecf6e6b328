"""Getting a port back after it went away: backoff, and a port that reopens itself.

An unplugged USB adapter or a rebooting converter is a normal event for a daemon
that runs for years. The conversation in progress is lost (``PortClosedError``),
but the bus must resume by itself once the line is back, without hammering a
device node that is not there or a converter that is still booting: each failed
open waits longer (exponential, capped), with jitter so that the buses behind one
converter do not retry in lockstep. Every failure goes to a callback, for logs and
metrics; this module logs nothing itself. The schedule is ``poller.util.Backoff``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from poller.protocol import LineFraming
from poller.util import Backoff

from ._port import Clock, Port, PortClosedError, PortError

__all__ = ["FailureCallback", "ReconnectingPort", "open_with_backoff"]

FailureCallback = Callable[[PortError, int, float], None]
"""Called with the error, the number of failures in a row, and the wait before the next try."""


async def open_with_backoff(
    factory: Callable[[], Port],
    *,
    clock: Clock,
    backoff: Backoff | None = None,
    on_failure: FailureCallback | None = None,
    rng: random.Random | None = None,
) -> Port:
    """Build and open ports from ``factory`` until one opens; returns the open one.

    Cancel the task to give up. A fresh port per attempt, because some failures
    leave a port object unusable (a half-negotiated RFC 2217 session).
    """
    policy = backoff or Backoff()
    failures = 0
    while True:
        port = factory()
        try:
            await port.open()
        except PortError as exc:
            failures += 1
            wait = policy.delay(failures, rng)
            if on_failure is not None:
                on_failure(exc, failures, wait)
            await port.close()
            await clock.sleep_until(clock.now() + wait)
            continue
        return port


class ReconnectingPort:
    """A ``Port`` that survives its line: after a loss it reopens with backoff.

    The operation that meets the loss raises ``PortClosedError`` (that conversation
    is over), and so does every one after it until the line is back: the bus must
    not send half a conversation into a fresh line. ``open()`` and ``reset_input()``
    (which the engine calls before every sign-on, the one moment a fresh line is
    safe) reopen, waiting with backoff as long as it takes.
    """

    def __init__(
        self,
        factory: Callable[[], Port],
        *,
        backoff: Backoff | None = None,
        on_failure: FailureCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._factory = factory
        self._port = factory()
        self._backoff = backoff
        self._on_failure = on_failure
        self._rng = rng
        self._lost = False
        self.reconnects = 0
        """Opens after a loss: the number of times the line came back."""

    @property
    def url(self) -> str:
        return self._port.url

    @property
    def clock(self) -> Clock:
        return self._port.clock

    @property
    def is_open(self) -> bool:
        return self._port.is_open and not self._lost

    @property
    def current(self) -> Port:
        """The port object in use now (a new one after each reconnect)."""
        return self._port

    def __repr__(self) -> str:
        return f"ReconnectingPort({self._port!r})"

    async def open(self) -> None:
        if self.is_open:
            return
        await self._port.close()
        # The port we hold may simply not have been opened yet; after a loss, build
        # afresh, as the line may come back as another device or connection.
        reuse = not self._lost

        def build() -> Port:
            nonlocal reuse
            if reuse:
                reuse = False
                return self._port
            return self._factory()

        self._port = await open_with_backoff(
            build,
            clock=self.clock,
            backoff=self._backoff,
            on_failure=self._on_failure,
            rng=self._rng,
        )
        if self._lost:
            self.reconnects += 1
        self._lost = False

    async def close(self) -> None:
        await self._port.close()

    async def write(self, data: bytes) -> float:
        self._check()
        try:
            return await self._port.write(data)
        except PortClosedError:
            self._lost = True
            raise

    async def read(self, deadline: float) -> bytes:
        self._check()
        try:
            return await self._port.read(deadline)
        except PortClosedError:
            self._lost = True
            raise

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        self._check()
        try:
            await self._port.set_line(baud, framing)
        except PortClosedError:
            self._lost = True
            raise

    async def reset_input(self) -> None:
        if not self.is_open:
            await self.open()
        try:
            await self._port.reset_input()
        except PortClosedError:
            self._lost = True
            raise

    def _check(self) -> None:
        if self._lost:
            raise PortClosedError(self.url, "line lost; reopens at the next sign-on")
