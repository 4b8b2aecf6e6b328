"""Execute one ``ClientSession`` against a ``Port``: the only place bytes meet the protocol.

Theory of operation
-------------------
The session says what to do and when; the runner does it on the port's clock:

* ``Send``: sleep until ``not_before``, write. The session already placed the send tr
  after the meter's last byte and after our own previous bytes have left the wire.
* ``SetLine``: sleep until ``at`` (the session computed it from the wire time at the
  old rate, never from a driver's "drained"), then reconfigure.
* ``Wait``: read until bytes come or the deadline passes. Bytes that follow each
  other closely are handed over as one burst, stamped with the time the last one
  arrived: the port's ``read_burst`` (``poller.transport.GatheringPort``, which every
  port is read through; the gap is ``poller.protocol.burst_gap`` at the rate last
  set), so this is the same gathering that suppresses echo, not another on top.

Two deadlines sit above the session's own. The overall ``deadline`` stops a meter
that dribbles a byte every second (each one legally extends the inter-character
timeout) from holding the bus; ``abort`` (an ``asyncio.Event``, set at shutdown)
ends the conversation early. Both call ``session.abort`` and execute what it returns
(a programming session gets its B0), without waiting for any reply. The abort event
is looked at least every ``_ABORT_POLL`` seconds of clock time while reading.

A ``PortError`` ends the session as ``Failed(LinkLostError)``; reopening the port is
the bus loop's job. The partial result comes from aborting the session, whose final
sends are not attempted on a dead port.
"""

from __future__ import annotations

import asyncio
from typing import Final

from poller.protocol import (
    Action,
    ClientSession,
    Done,
    Failed,
    Send,
    SessionAbortedError,
    SetLine,
    Wait,
)
from poller.transport import Port, PortError, gathering_port

from ._errors import LinkLostError, SessionDeadlineError
from ._recorder import FlightRecorder

__all__ = ["run_session"]

_ABORT_POLL: Final = 0.25
# A session that has not ended after this many steps is a bug, not a slow meter.
_MAX_STEPS: Final = 1_000_000


class _Stop(Exception):  # noqa: N818 - control flow, never escapes this module
    """Raised inside the runner when the overall deadline or the abort event fires."""

    def __init__(self, *, deadline: bool) -> None:
        self.deadline = deadline


async def run_session(
    port: Port,
    session: ClientSession,
    *,
    deadline: float,
    recorder: FlightRecorder | None = None,
    abort: asyncio.Event | None = None,
) -> Done | Failed:
    """Drive ``session`` on ``port`` until it ends, ``deadline`` passes or ``abort`` is set."""
    recorder = recorder if recorder is not None else FlightRecorder()
    runner = _Runner(port, session, deadline, recorder, abort)
    return await runner.run()


class _Runner:
    def __init__(
        self,
        port: Port,
        session: ClientSession,
        deadline: float,
        recorder: FlightRecorder,
        abort: asyncio.Event | None,
    ) -> None:
        self.port = gathering_port(port)
        self.clock = port.clock
        self.session = session
        self.deadline = deadline
        self.started = self.clock.now()
        self.recorder = recorder
        self.abort = abort

    async def run(self) -> Done | Failed:
        try:
            return await self._drive(self.session.start(self.clock.now()))
        except PortError as exc:
            now = self.clock.now()
            self.recorder.note(now, f"port lost: {exc.reason}")
            aborted = self.session.abort(now)
            final = aborted[-1]
            assert isinstance(final, Failed)
            error = LinkLostError(exc.url, exc.reason)
            # Without its traceback, whose frames (this one among them) would hold the
            # error in a cycle: its reason says what happened.
            error.__cause__ = exc.with_traceback(None)
            return Failed(error=error, result=final.result)

    async def _drive(self, actions: list[Action]) -> Done | Failed:
        for _ in range(_MAX_STEPS):
            following: list[Action] | None = None
            for action in actions:
                if isinstance(action, Send):
                    await self._send(action)
                elif isinstance(action, SetLine):
                    await self._set_line(action)
                elif isinstance(action, Wait):
                    try:
                        following = await self._wait(action)
                    except _Stop as stop:
                        return await self._abort(deadline=stop.deadline)
                    break
                else:
                    return action
            if following is None:
                raise RuntimeError("session returned actions without a Wait, Done or Failed")
            actions = following
        raise RuntimeError(f"session did not end within {_MAX_STEPS} steps")

    async def _send(self, send: Send) -> None:
        # An answer already due goes out now: a sleep, even of 0, is another turn of
        # the loop between the meter's last byte and our first.
        if send.not_before > self.clock.now():
            await self.clock.sleep_until(send.not_before)
        self.recorder.sent(self.clock.now(), send)
        await self.port.write(send.data)

    async def _set_line(self, line: SetLine) -> None:
        await self.clock.sleep_until(line.at)
        self.recorder.line(self.clock.now(), line.baud, line.framing)
        await self.port.set_line(line.baud, line.framing)

    def _check_stop(self, now: float) -> None:
        if self.abort is not None and self.abort.is_set():
            raise _Stop(deadline=False)
        if now >= self.deadline:
            raise _Stop(deadline=True)

    async def _wait(self, wait: Wait) -> list[Action]:
        while True:
            now = self.clock.now()
            if now >= wait.deadline:
                self.recorder.note(now, f"timeout waiting for {wait.waiting_for}")
                return self.session.timeout(now)
            self._check_stop(now)
            until = min(wait.deadline, self.deadline, now + _ABORT_POLL)
            # A meter streaming a long block is handed over every _ABORT_POLL seconds,
            # so a stop is seen within that time, not after the block (seconds at 4800 Bd).
            burst = await self.port.read_burst(until, limit=self.deadline, span=_ABORT_POLL)
            if burst.data:
                self.recorder.received(burst.at, burst.data)
                return self.session.receive_data(burst.data, burst.at)

    async def _abort(self, *, deadline: bool) -> Failed:
        now = self.clock.now()
        self.recorder.note(now, "session deadline passed" if deadline else "aborted")
        final: Failed | None = None
        for action in self.session.abort(now):
            if isinstance(action, Send):
                await self._send(action)
            elif isinstance(action, SetLine):
                await self._set_line(action)
            elif isinstance(action, Failed):
                final = action
        assert final is not None, "abort always ends in Failed"
        if deadline:
            state = final.error.state if isinstance(final.error, SessionAbortedError) else "?"
            error = SessionDeadlineError(seconds=self.deadline - self.started, state=state)
            return Failed(error=error, result=final.result)
        return final
