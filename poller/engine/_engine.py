"""One bus, one task, one conversation at a time.

Theory of operation
-------------------
A ``BusEngine`` owns one port. Callers never touch it: they ``submit`` jobs and
await the returned future (or receive every batch through ``on_batch``). The bus
task takes the first due job from the queue (``_jobs.py``), waits for the bus to be
free, reads the meter once (``read_meter``: stale input flushed, one addressed
session under an overall deadline, the outcome turned into a ``ReadingBatch``) and
settles the job as the job policy (``_policy.py``) decides:

* success: the meter is OK; the batch goes to ``on_batch``; only if that returned
  normally do the profile cursors move (so a sink failure re-reads, never skips);
* failure: the meter's failure count and backoff grow and the flight recorder is
  dumped; the job is appended to the back of the queue with ``not_before`` = now +
  backoff while it has retries left and the meter is not unreachable, otherwise its
  failed batch is delivered;
* the port failed under it: the job goes back to the front uncounted (not the
  meter's fault), the port is closed and reopened with backoff, and the queue is
  served again as if nothing happened.

``bus_free_at`` from each result is honoured before the next sign-on: after a B0 or
a failure the bus rests the guard time, after a clean readout not at all. A meter
that is unreachable gets no bus time until its probe is due; jobs for it meanwhile
finish at once with a failed batch.

Every delivered batch (what ``on_batch`` gets) is also offered to each stream
``batches()`` returned, for ``async for`` (``_stream.py``): bounded, so a slow
consumer slows the bus instead of losing batches, and released when it leaves.

``stop(graceful=True)`` lets the running conversation finish (bounded by
``stop_timeout``), then aborts it; an aborted programming session still sends B0.
Queued jobs are cancelled and the port is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from types import TracebackType
from typing import Any

import structlog

from poller.protocol import Done, Failed, SessionMode
from poller.readings import ReadingBatch
from poller.transport import Clock, Port, PortError, open_with_backoff, port_for_url

from ._batches import plan_job, unreachable_batch
from ._cursor import CursorStore, MemoryCursorStore
from ._errors import LinkLostError
from ._gate import SessionGate
from ._jobs import Job, JobQueue, ReadKind
from ._meter_config import MeterSettings
from ._observer import EngineObserver
from ._options import EngineOptions
from ._policy import JobAction, admit, counts_against_meter, decide
from ._read import ReadResult, read_meter
from ._recorder import FlightRecorder
from ._status import MeterStatus, MeterTracker
from ._stream import BatchStream, Feed

__all__ = ["BusEngine", "OnBatch"]

OnBatch = Callable[[ReadingBatch], Awaitable[None]]


class BusEngine:
    """Reads the meters of one bus through one port; see the module docstring."""

    def __init__(
        self,
        name: str,
        port: Port | Callable[[], Port] | str,
        meters: Iterable[MeterSettings],
        *,
        on_batch: OnBatch | None = None,
        options: EngineOptions | None = None,
        cursors: CursorStore | None = None,
        observer: EngineObserver | None = None,
        gate: SessionGate | None = None,
    ) -> None:
        self.name = name
        self._gate = gate
        self._observer = observer or EngineObserver()
        if isinstance(port, str):
            # A factory, not one port: after a failure the port is built afresh.
            port = functools.partial(port_for_url, port)
        if isinstance(port, Port):
            self._port, self._factory = port, None
        else:
            self._port, self._factory = port(), port
        self._settings = {m.address: m for m in meters}
        self._check_addresses(meters)
        self._trackers = {a: MeterTracker(s) for a, s in self._settings.items()}
        self._on_batch = on_batch
        self._feeds: list[Feed] = []
        self.options = options or EngineOptions()
        self.cursors: CursorStore = cursors if cursors is not None else MemoryCursorStore()
        self.recorder = FlightRecorder(self.options.recorder_size)
        self._queue = JobQueue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._abort = asyncio.Event()
        self._bus_free_at = self.clock.now()
        self._sessions = itertools.count(1)
        self._log = structlog.get_logger("poller.engine").bind(bus=name)

    def _check_addresses(self, meters: Iterable[MeterSettings]) -> None:
        addresses = [m.address for m in meters]
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"bus {self.name}: two meters share an address")
        if len(addresses) > 1 and "" in addresses:
            # The general address makes every meter on the line answer at once.
            raise ValueError(f"bus {self.name}: every meter on a shared bus needs its address")

    # -- public API ----------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._port.clock

    @property
    def port(self) -> Port:
        return self._port

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the bus task (once; an engine is not restartable)."""
        if self._task is not None:
            raise RuntimeError(f"bus {self.name} was already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"bus {self.name}")

    async def __aenter__(self) -> BusEngine:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(graceful=exc is None)

    def submit(
        self, address: str, kind: ReadKind | None = None, slot: dt.datetime | None = None
    ) -> asyncio.Future[ReadingBatch]:
        """Queue one read of meter ``address``; the future gets its final batch."""
        settings = self._settings.get(address)
        if settings is None:
            raise KeyError(f"no meter {address!r} on bus {self.name}")
        if self._stopping:
            raise RuntimeError(f"bus {self.name} is stopping")
        if kind is None:
            programming = settings.mode is SessionMode.PROGRAMMING
            kind = ReadKind.REGISTERS if programming else ReadKind.READOUT
        future: asyncio.Future[ReadingBatch] = asyncio.get_running_loop().create_future()
        self._queue.push(Job(address=address, kind=kind, future=future, slot=slot))
        return future

    def submit_all(
        self, kind: ReadKind | None = None, slot: dt.datetime | None = None
    ) -> list[asyncio.Future[ReadingBatch]]:
        """One job per meter, in configuration order: one polling cycle."""
        return [self.submit(address, kind, slot) for address in self._settings]

    def batches(self, *, maxsize: int = 16) -> BatchStream:
        """Every batch delivered from now on, for ``async for``, until the engine stops.

        Delivered means what ``on_batch`` gets: a success, or a failure that is not
        retried. At most ``maxsize`` wait for the consumer; beyond that the bus waits
        for it (nothing is lost). Leaving the loop releases the bus.
        """
        feed = Feed(maxsize)
        if self._stopping:
            feed.ended.set()
        self._feeds.append(feed)
        return BatchStream(feed)

    def status(self, address: str) -> MeterStatus:
        return self._trackers[address].snapshot()

    def statuses(self) -> list[MeterStatus]:
        return [t.snapshot() for t in self._trackers.values()]

    def queued(self) -> list[tuple[str, int]]:
        """``(address, attempts)`` of the waiting jobs, in the order they will run."""
        return self._queue.order()

    async def stop(self, *, graceful: bool = True) -> None:
        """Finish (or, not graceful, abort) the conversation, cancel the queue, close."""
        self._stopping = True
        self._stop_event.set()
        if not graceful:
            self._abort.set()
        task = self._task
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.options.stop_timeout)
            if not done:
                self._log.warning("stop: aborting the running session")
                self._abort.set()
                done, _ = await asyncio.wait({task}, timeout=self.options.stop_timeout)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._cancel_queue()
        self._end_feeds()
        await self._close_port()

    # -- the bus task --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._stopping:
                if not self._port.is_open:
                    await self._open_port()
                    continue
                job = self._queue.pop_due(self.clock.now())
                if job is None:
                    await self._idle()
                    continue
                await self._run_job(job)
        finally:
            self._cancel_queue()
            self._end_feeds()
            await self._close_port()

    async def _idle(self) -> None:
        self._queue.changed.clear()
        due = self._queue.next_due()
        waits: list[Awaitable[Any]] = [self._queue.changed.wait(), self._stop_event.wait()]
        if due is not None:
            waits.append(self.clock.sleep_until(due))
        await _first(waits)

    async def _sleep_until(self, when: float) -> None:
        """Sleep on the port's clock, but wake up for a stop."""
        if self.clock.now() < when and not self._stopping:
            await _first([self.clock.sleep_until(when), self._stop_event.wait()])

    async def _open_port(self) -> None:
        attempts = 1
        port = self._port

        def build() -> Port:
            # The first try reuses the port we hold; after a failure a factory builds
            # afresh, as a half-opened port object may be unusable.
            nonlocal port
            if attempts > 1 and self._factory is not None:
                port = self._factory()
            return port

        def failed(exc: PortError, failures: int, wait: float) -> None:
            nonlocal attempts
            attempts = failures + 1
            self._log.warning(
                "port open failed", url=exc.url, reason=exc.reason, retry_in=round(wait, 3)
            )
            self._notify("port_failed", self.name, exc.url, exc.reason)

        opening = asyncio.ensure_future(
            open_with_backoff(
                build, clock=self.clock, backoff=self.options.reopen_backoff, on_failure=failed
            )
        )
        await _first([asyncio.shield(opening), self._stop_event.wait()])
        if not opening.done():
            opening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await opening
            return
        self._port = opening.result()
        self._log.info("port open", url=self._port.url, attempts=attempts)
        self._notify("port_opened", self.name, self._port.url)
        self._bus_free_at = max(self._bus_free_at, self.clock.now())

    async def _close_port(self) -> None:
        with contextlib.suppress(PortError):
            await self._port.close()

    def _cancel_queue(self) -> None:
        for job in self._queue.drain():
            job.future.cancel()

    def _end_feeds(self) -> None:
        for feed in self._feeds:
            feed.ended.set()

    # -- one job -------------------------------------------------------------------

    def _admitted(self) -> AbstractAsyncContextManager[None]:
        return self._gate.session(self.clock) if self._gate is not None else nullcontext()

    async def _run_job(self, job: Job) -> None:
        settings = self._settings[job.address]
        tracker = self._trackers[job.address]
        admission = admit(tracker.state, tracker.next_try, self.clock.now())
        if admission.action is JobAction.SKIP:
            taken_at = self.options.wall_clock()
            skipped = unreachable_batch(
                self.name, settings, slot=job.slot, taken_at=taken_at, why=tracker.last_error
            )
            self._settle(job, skipped)
            return
        if admission.action is JobAction.WAIT:
            # Another job's failure set a backoff: wait behind the others like its retry.
            job.not_before = admission.not_before
            self._queue.push(job)
            return
        probe = admission.probe
        job.attempts += 1
        plan = await plan_job(job.kind, settings, self.cursors, now=self.options.wall_clock())
        session_id = f"{self.name}#{next(self._sessions)}"
        log = self._log.bind(
            meter=settings.address, session=session_id, attempt=job.attempts, kind=job.kind.value
        )
        await self._sleep_until(self._bus_free_at)
        async with self._admitted():
            cap = tracker.max_baud if tracker.max_baud is not None else settings.max_baud
            log.info("session start", probe=probe, max_baud=cap)
            result = await read_meter(
                self._port,
                settings,
                plan,
                bus=self.name,
                slot=job.slot,
                max_baud=tracker.max_baud,
                recorder=self.recorder,
                abort=self._abort,
                session_id=session_id,
                wall_clock=self.options.wall_clock,
            )
        self._bus_free_at = max(self.clock.now(), result.bus_free_at)
        if isinstance(result.outcome, Done):
            await self._succeeded(job, tracker, result, log)
        else:
            await self._failed(job, tracker, result.outcome, result.batch, log, probe=probe)

    async def _succeeded(
        self, job: Job, tracker: MeterTracker, result: ReadResult, log: Any
    ) -> None:
        batch = result.batch
        tracker.succeeded(batch.taken_at, result.outcome.result)
        self._session_ended(batch, ok=True, error_type=None, will_retry=False)
        log.info(
            "session done",
            readings=len(batch.readings),
            baud=batch.baud,
            repeats=batch.repeats,
            duration=round(batch.duration, 3),
            command_errors=[str(e) for e in batch.command_errors] or None,
        )
        if await self._deliver(batch, log):
            for profile, cursor in result.cursors.items():
                await self.cursors.set(job.address, profile, cursor)
        self._settle(job, batch)

    async def _failed(
        self,
        job: Job,
        tracker: MeterTracker,
        outcome: Failed,
        batch: ReadingBatch,
        log: Any,
        *,
        probe: bool,
    ) -> None:
        error = outcome.error
        if isinstance(error, LinkLostError):
            log.warning("port lost during session", reason=error.reason)
            self._notify("port_failed", self.name, error.url, error.reason)
        else:
            log.warning("session failed", error=str(error), error_type=type(error).__name__)
            for frame in self.recorder:
                log.info("flight recorder", **frame.fields())
        unreachable = False
        if counts_against_meter(error):
            cap = tracker.max_baud
            unreachable = tracker.failed(
                self.clock.now(),
                error,
                outcome.result,
                unreachable_after=self.options.unreachable_after,
                probe_interval=self.options.probe_interval,
            )
            if tracker.max_baud != cap:
                log.warning("baud fallback", max_baud=tracker.max_baud, was=cap)
            if unreachable:
                log.error("meter unreachable", failures=tracker.consecutive_failures)
        decision = decide(
            error,
            attempts=job.attempts,
            retries=tracker.settings.retries,
            probe=probe,
            unreachable=unreachable,
            next_try=tracker.next_try,
        )
        if decision.action is JobAction.REQUEUE_FRONT:
            job.attempts -= 1
            self._queue.push_front(job)
            await self._close_port()
            return
        if decision.action is JobAction.SETTLE:
            self._settle(job, batch)  # shutting down: not the meter's failure
            return
        retry = decision.action is JobAction.RETRY
        self._session_ended(batch, ok=False, error_type=type(error).__name__, will_retry=retry)
        if retry:
            job.not_before = decision.not_before
            self._queue.push(job)
            log.info("retry queued", not_before=round(job.not_before, 3))
            return
        await self._deliver(batch, log)
        self._settle(job, batch)

    async def _deliver(self, batch: ReadingBatch, log: Any) -> bool:
        if self._on_batch is not None:
            try:
                await self._on_batch(batch)
            except Exception:  # a sink's failure must not kill the bus
                log.exception("on_batch failed")
                return False
        # After on_batch accepted it: a batch read again (its cursors did not move)
        # reaches the streams once, like the sinks.
        self._feeds = [f for f in self._feeds if not f.closed.is_set()]
        for feed in self._feeds:
            await feed.offer(batch)
        return True

    def _settle(self, job: Job, batch: ReadingBatch) -> None:
        self._notify("batch_settled", batch)
        if not job.future.done():
            job.future.set_result(batch)

    def _session_ended(
        self, batch: ReadingBatch, *, ok: bool, error_type: str | None, will_retry: bool
    ) -> None:
        self._notify(
            "session_ended",
            self.name,
            batch.meter,
            ok=ok,
            duration=batch.duration,
            error_type=error_type,
            will_retry=will_retry,
        )

    def _notify(self, hook: str, *args: Any, **kwargs: Any) -> None:
        try:
            getattr(self._observer, hook)(*args, **kwargs)
        except Exception:  # noqa: BLE001 - an observer's bug must not stop the bus
            self._log.exception("observer failed", hook=hook)


async def _first(waits: list[Awaitable[Any]]) -> None:
    """Wait until the first of ``waits`` completes; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
