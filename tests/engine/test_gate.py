"""SessionGate: sessions start while the loop keeps time, and one at a time when it does not."""

from __future__ import annotations

import asyncio

import pytest

from poller.engine import SessionGate


class SteppingClock:
    """A clock that moves ``step`` seconds whenever it is read: a loop that is late."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.t = 0.0

    def now(self) -> float:
        self.t += self.step
        return self.t

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(0)


async def _sessions(gate: SessionGate, clock: SteppingClock, n: int) -> tuple[list[str], int]:
    """``n`` sessions asking at once; the log of their starts and ends, and the peak."""
    log: list[str] = []
    peak = 0

    async def one(name: str) -> None:
        nonlocal peak
        async with gate.session(clock):
            peak = max(peak, gate.running)
            log.append(f"start {name}")
            await asyncio.sleep(0.001)
            log.append(f"end {name}")

    await asyncio.gather(*(one(str(i)) for i in range(n)))
    return log, peak


async def test_an_on_time_loop_admits_every_session_at_once() -> None:
    gate = SessionGate(max_lag=0.005)
    log, peak = await _sessions(gate, SteppingClock(step=0.0), 4)
    assert peak == 4
    assert gate.deferred == 0
    assert log[:4] == ["start 0", "start 1", "start 2", "start 3"]


async def test_a_late_loop_runs_sessions_one_after_the_other() -> None:
    gate = SessionGate(max_lag=0.005)
    log, peak = await _sessions(gate, SteppingClock(step=0.01), 3)
    assert peak == 1
    assert gate.deferred >= 2
    # Each session starts only once the one before it has ended; none is stranded.
    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
    assert gate.running == 0


async def test_a_session_starts_even_when_late_if_none_is_running() -> None:
    gate = SessionGate(max_lag=0.005)
    async with gate.session(SteppingClock(step=1.0)):
        assert gate.running == 1
    assert gate.deferred == 0


async def test_a_waiter_cancelled_while_deferred_strands_no_one() -> None:
    gate = SessionGate(max_lag=0.005)
    clock = SteppingClock(step=0.01)
    first_in = asyncio.Event()
    release = asyncio.Event()
    started: list[str] = []

    async def holder() -> None:
        async with gate.session(clock):
            first_in.set()
            await release.wait()

    async def waiter(name: str) -> None:
        async with gate.session(clock):
            started.append(name)

    hold = asyncio.create_task(holder())
    await first_in.wait()
    doomed = asyncio.create_task(waiter("cancelled"))
    survivor = asyncio.create_task(waiter("survivor"))
    await asyncio.sleep(0.01)
    doomed.cancel()
    release.set()
    await asyncio.wait_for(asyncio.gather(hold, survivor), timeout=2)
    assert started == ["survivor"]
    assert gate.running == 0


def test_max_lag_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_lag"):
        SessionGate(max_lag=0)
