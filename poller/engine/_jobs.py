"""The bus's job queue: first come, first served, and retries go to the back.

One queue per bus, served by the one task that owns the port. A job is one
conversation with one meter. A failed job that may retry is appended again with
``not_before`` set by the meter's backoff, so every job queued before the failure
runs first: a dead meter costs its own timeouts and nobody else's (pymodbus #2432).
The queue hands out the first job, in queue order, whose time has come.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import itertools
from collections import deque
from dataclasses import dataclass, field

from poller.readings import ReadingBatch

__all__ = ["Job", "JobQueue", "ReadKind"]

_ids = itertools.count(1)


class ReadKind(enum.Enum):
    """What one job reads."""

    READOUT = "readout"
    """The data readout (modes A, B, C), or a push telegram for a push meter."""
    REGISTERS = "registers"
    """Programming mode: R1 of the configured registers, then the configured profiles."""
    PROFILE = "profile"
    """Programming mode: only the configured profiles and logbooks, incrementally."""


@dataclass(eq=False, slots=True, kw_only=True)
class Job:
    """One requested conversation and the future its caller awaits."""

    address: str
    kind: ReadKind
    future: asyncio.Future[ReadingBatch]
    slot: dt.datetime | None = None
    attempts: int = 0
    """Sessions run for this job so far."""
    not_before: float = 0.0
    id: int = field(default_factory=lambda: next(_ids))


class JobQueue:
    """FIFO with due times; ``pop_due`` skips jobs that must still wait."""

    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self.changed = asyncio.Event()
        """Set whenever a job is added, so an idle bus wakes up."""

    def __len__(self) -> int:
        return len(self._jobs)

    def push(self, job: Job) -> None:
        self._jobs.append(job)
        self.changed.set()

    def push_front(self, job: Job) -> None:
        """For a job that never got its turn (the port failed under it)."""
        self._jobs.appendleft(job)
        self.changed.set()

    def pop_due(self, now: float) -> Job | None:
        for job in self._jobs:
            if job.future.done():
                continue  # the caller gave up (cancelled); dropped below
            if job.not_before <= now:
                self._jobs.remove(job)
                return job
        self._drop_done()
        return None

    def next_due(self) -> float | None:
        return min((j.not_before for j in self._jobs if not j.future.done()), default=None)

    def drain(self) -> list[Job]:
        jobs = list(self._jobs)
        self._jobs.clear()
        return jobs

    def order(self) -> list[tuple[str, int]]:
        """``(address, attempts)`` in queue order, for tests and status pages."""
        return [(j.address, j.attempts) for j in self._jobs]

    def _drop_done(self) -> None:
        self._jobs = deque(j for j in self._jobs if not j.future.done())
