"""One task per sink: the spool's batches, in order, into the sink, until each is done.

Theory of operation
-------------------
The dispatcher reads the batches after its sink's cursor, oldest first. Each is
narrowed to the readings the sink's ``meters`` and ``registers`` select; a batch
left with none (a failed session, a filtered-out meter) moves the cursor at once.
Otherwise ``connect`` (idempotent) and ``write`` are tried until every reading is
accepted or rejected:

* rejected readings go to the spool's ``rejected`` table and are never sent again;
* ``retry`` readings, an exception, a timeout, or a result whose counts do not add
  up to the readings given are tried again, after an exponential backoff with
  jitter; only what is still pending is sent again;
* then the cursor moves past the batch (at-least-once: a crash before that sends the
  batch again, and idempotent sinks keep each reading once).

A sink that is down simply makes its dispatcher wait: the spool keeps the backlog,
the other sinks and the bus engines go on. If the backlog outgrows the retention
limit, a batch the dispatcher holds may be among those dropped: it is let go before
the next try, so that what the spool counts as dropped for a sink never reaches it.

A sink that says an error is fatal (``SinkFatalError``, or a result with
``fatal=True``: credentials refused, a privilege missing) will not be cured by
waiting: the dispatcher stops, closes the sink and keeps the reason in ``failed``
(health and metrics show it). The batch is not advanced, so the spool keeps it and
every later one under the sink's cursor (retention still bounds them). Starting
again (the daemon does, with a new dispatcher, at a reload) resumes from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from typing import Final

import structlog

from poller.readings import ReadingBatch
from poller.sinks import Sink, SinkFatalError, WriteResult, select_readings
from poller.spool import Spool, SpoolClosedError, SpoolError, StoredBatch
from poller.util import Backoff

__all__ = ["DEFAULT_BACKOFF", "SpoolDispatcher"]

DEFAULT_BACKOFF: Final = Backoff(initial=1.0, maximum=300.0, factor=2.0, jitter=0.2)


class _SinkFailedError(Exception):
    """Unwinds the delivery when the sink said an error is fatal."""


class SpoolDispatcher:
    """Delivers ``spool`` to ``sink``; ``async with`` starts it, leaving stops and closes it."""

    def __init__(
        self,
        spool: Spool,
        sink: Sink,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        write_timeout: float = 120.0,
        fetch_limit: int = 32,
        rng: random.Random | None = None,
    ) -> None:
        self.spool = spool
        self.sink = sink
        self.sink_id = sink.settings.sink_id
        self._backoff = backoff
        self._write_timeout = write_timeout
        self._fetch_limit = fetch_limit
        self._rng = rng
        self._task: asyncio.Task[None] | None = None
        self._writing = False
        self._stopping = False
        self.failures = 0
        """Failed tries in a row (0: the sink is keeping up)."""
        self.last_error: str | None = None
        self.failed: str | None = None
        """Why the sink stopped for good (a fatal error), until it is started again."""
        self._log = structlog.get_logger("poller.spool").bind(sink=self.sink_id)
        spool.register(self.sink_id)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self.failed = None
            self._task = asyncio.create_task(self.run(), name=f"sink {self.sink_id}")

    async def stop(self, timeout: float = 5.0) -> None:
        """Let a write in progress finish (up to ``timeout``), stop, close the sink."""
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            if self._writing:
                await asyncio.wait({task}, timeout=timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.sink.close()
        except Exception:  # noqa: BLE001 - a failing close must not stop the shutdown
            self._log.exception("sink close failed")

    async def __aenter__(self) -> SpoolDispatcher:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def run(self) -> None:
        """Deliver forever (until cancelled, stopped, or the spool closes)."""
        while not self._stopping and self.spool.is_open:
            try:
                await self._round()
            except (SpoolClosedError, _SinkFailedError):
                return
            except SpoolError as exc:
                # The spool's own file failing (a full disk while moving the cursor):
                # nothing is lost, the batch is sent again once it can be noted.
                self._log.error("spool failed under the dispatcher", error=str(exc))
                await self._failed(None, str(exc))

    async def _round(self) -> None:
        entries = await self.spool.fetch(self.sink_id, self._fetch_limit)
        if not entries:
            await self.spool.wait(self.sink_id)
            return
        for entry in entries:
            await self._deliver(entry)
            if self._stopping:
                return

    async def drain(self) -> None:
        """Deliver what is in the spool now, then return (for tests and one-shot runs)."""
        try:
            while self.spool.pending(self.sink_id):
                for entry in await self.spool.fetch(self.sink_id, self._fetch_limit):
                    await self._deliver(entry)
        except _SinkFailedError:
            return

    async def _deliver(self, entry: StoredBatch) -> None:
        pending = select_readings(entry.batch, self.sink.settings)
        if not pending.readings:
            await self.spool.advance(self.sink_id, entry.seq, delivered=None)
            return
        accepted = 0
        while True:
            if self.spool.dropped(entry.seq):
                # Retention deleted it while we were trying (the sink down): it is
                # counted and logged as lost for this sink, so it must not arrive.
                self._log.warning("batch dropped by retention before delivery", seq=entry.seq)
                return
            result = await self._try(pending)
            if result is not None:
                if result.rejected:
                    await self.spool.reject(self.sink_id, entry.seq, result.rejected)
                    for rejection in result.rejected:
                        self._log.warning(
                            "reading rejected",
                            seq=entry.seq,
                            key=rejection.reading.key,
                            reason=rejection.reason,
                        )
                accepted += result.accepted
                if not result.retry:
                    break
                pending = dataclasses.replace(pending, readings=result.retry)
                reason = result.retry_reason or "sink asked to retry"
                if result.fatal:
                    await self._fatal(entry.seq, reason)
                await self._failed(entry.seq, reason)
        await self.spool.advance(self.sink_id, entry.seq, delivered=accepted)
        if self.failures:
            self._log.info("sink recovered", seq=entry.seq, after_failures=self.failures)
        self.failures = 0
        self.last_error = None

    async def _try(self, batch: ReadingBatch) -> WriteResult | None:
        """One try: the result if it accounts for every reading, else None after a backoff."""
        self._writing = True
        try:
            async with asyncio.timeout(self._write_timeout):
                await self.sink.connect()
                result = await self.sink.write(batch)
        except Exception as exc:  # noqa: BLE001 - any failure of a sink means "try again"
            error: Exception | None = exc
        else:
            error = None
        finally:
            self._writing = False
        if error is not None:
            reason = f"{type(error).__name__}: {error}"
            if isinstance(error, SinkFatalError) or getattr(error, "fatal", False) is True:
                await self._fatal(None, reason)
            await self._failed(None, reason)
            return None
        counted = result.accepted + len(result.rejected) + len(result.retry)
        if counted != len(batch.readings) or result.accepted < 0:
            await self._failed(
                None, f"sink accounted for {counted} of {len(batch.readings)} readings"
            )
            return None
        return result

    async def _fatal(self, seq: int | None, reason: str) -> None:
        """Stop: no retry cures this. The batch stays in the spool, under the cursor."""
        self.failures += 1
        self.last_error = self.failed = reason
        self._log.error(
            "sink failed; not retried until it is started again (a reload)",
            seq=seq,
            reason=reason,
        )
        try:
            await self.sink.close()
        except Exception:  # noqa: BLE001 - it failed already; the reason above is the news
            self._log.exception("sink close failed")
        raise _SinkFailedError(reason)

    async def _failed(self, seq: int | None, reason: str) -> None:
        if self._stopping:
            # Shutting down: no backoff to sit out; the batch stays in the spool.
            raise asyncio.CancelledError
        self.failures += 1
        self.last_error = reason
        delay = self._backoff.delay(self.failures, self._rng)
        self._log.warning(
            "sink write failed; retrying",
            seq=seq,
            reason=reason,
            failures=self.failures,
            retry_in=round(delay, 3),
        )
        await asyncio.sleep(delay)
