"""One read of one meter through one open port: the read path every caller shares.

``read_meter`` is what the bus engine does for each job, what ``iec-poller read``
does once and what the demo does per simulated meter: flush stale input, run one
addressed protocol session (``run_session``) under the read's deadline, and turn
its outcome into a ``ReadingBatch`` (``build_batch``). It returns a frozen
``ReadResult``; it decides nothing about retries and stores nothing, so each caller
applies its own policy (the engine's is ``_policy.py``) and moves the profile
cursors only once the batch has been handed over.

Timing: ``start`` and ``end`` are on the port's clock, around the session; the
deadline defaults to ``start + settings.session_timeout``. ``bus_free_at`` is when
the next sign-on on this line may start (the session's guard time after a B0 or a
failure, else ``end``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from poller.protocol import ClientSession, Done, Failed, SessionResult
from poller.readings import ReadingBatch
from poller.transport import Port, PortError

from ._batches import ReadPlan, build_batch
from ._errors import LinkLostError
from ._meter_config import MeterSettings
from ._recorder import FlightRecorder
from ._session_runner import run_session

__all__ = ["ReadResult", "read_meter"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadResult:
    """What one read produced: the batch, the session's outcome, when, and the cursors."""

    batch: ReadingBatch
    outcome: Done | Failed
    start: float
    """Port clock time the session started (after the input flush)."""
    end: float
    cursors: Mapping[str, dt.datetime]
    """Profile -> cursor, to store once ``batch`` has been delivered (read-only)."""

    @property
    def ok(self) -> bool:
        return isinstance(self.outcome, Done)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def bus_free_at(self) -> float:
        return max(self.end, self.outcome.result.bus_free_at)


async def read_meter(
    port: Port,
    settings: MeterSettings,
    plan: ReadPlan | None = None,
    *,
    bus: str,
    slot: dt.datetime | None = None,
    max_baud: int | None = None,
    deadline: float | None = None,
    recorder: FlightRecorder | None = None,
    abort: asyncio.Event | None = None,
    session_id: str | None = None,
    wall_clock: Callable[[], dt.datetime] = _utc_now,
) -> ReadResult:
    """Read the meter ``settings`` describes through the open ``port``.

    ``plan`` says what to ask (None: the readout, or the push telegram of a push
    meter); ``max_baud`` overrides the meter's cap (the engine's fallback);
    ``recorder`` gets every frame, tagged ``session_id``. A port failure becomes a
    failed result (``FailureKind.PORT``), never an exception.
    """
    plan = plan if plan is not None else ReadPlan()
    recorder = recorder if recorder is not None else FlightRecorder()
    config = settings.session_config(commands=plan.commands, max_baud=max_baud, push=plan.push)
    clock = port.clock
    recorder.begin(session_id if session_id is not None else settings.address or "-")
    start = clock.now()
    if deadline is None:
        deadline = start + settings.session_timeout
    outcome = await _converse(port, ClientSession(config), start, deadline, recorder, abort)
    end = clock.now()
    batch, cursors = build_batch(
        outcome,
        plan,
        bus=bus,
        settings=settings,
        slot=slot,
        taken_at=wall_clock(),
        duration=end - start,
    )
    return ReadResult(
        batch=batch, outcome=outcome, start=start, end=end, cursors=MappingProxyType(cursors)
    )


async def _converse(
    port: Port,
    session: ClientSession,
    start: float,
    deadline: float,
    recorder: FlightRecorder,
    abort: asyncio.Event | None,
) -> Done | Failed:
    try:
        # Bytes left from before (a meter's late answer, line noise) would be read
        # as the answer to our sign-on.
        await port.reset_input()
    except PortError as exc:
        error = LinkLostError(exc.url, exc.reason)
        error.__cause__ = exc
        return Failed(error=error, result=SessionResult(bus_free_at=start))
    return await run_session(port, session, deadline=deadline, recorder=recorder, abort=abort)
