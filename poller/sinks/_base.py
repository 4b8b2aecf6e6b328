"""What every built-in sink shares: ``BaseSink`` (and ``ThreadedSink`` for blocking I/O).

Theory of operation
-------------------
The contract (``_contract.Sink``) is the spool's view of a sink; this is the sinks'
own scaffolding, so that each one holds only what is its own: how to open, how to
write, how to close.

* Settings are validated again as the sink's own model when built (``settings_as``),
  so a sink built from the base ``SinkSettings`` or a dict-like gets its defaults and
  its checks, and ``settings`` is typed as the sink's model.
* One ``asyncio.Lock`` orders ``connect``, ``write`` and ``close``: a ``close`` (a
  reload, a shutdown) never tears a connection down under a write in progress, and
  two ``connect`` calls never open two. Subclasses implement ``_open``, ``_write``
  and ``_close`` and are called with the lock held; ``_open`` must be idempotent (it
  is called before every write) and ``_close`` safe when nothing was opened (a
  failed start).
* ``write`` of an empty batch answers at once; the network sinks' retry and
  rejection log lines (``<type>_retry``, ``<type>_rejected``) are written here.
* ``repr`` names the class, the sink and where it writes (``_describe``), never a
  secret.

``ThreadedSink`` runs blocking calls (files, SQLite) on one worker thread per sink,
so that they stay off the event loop and in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast

import structlog

from poller.readings import ReadingBatch

from ._contract import SinkContext, SinkSettings, WriteResult, settings_as

__all__ = ["BaseSink", "ThreadedSink"]

S = TypeVar("S", bound=SinkSettings)
T = TypeVar("T")


class BaseSink(Generic[S]):
    """A sink's scaffolding; subclasses set ``settings_model`` and the three hooks."""

    settings_model: ClassVar[type[SinkSettings]]
    log_name: ClassVar[str] = "poller.sinks"
    """The structlog logger the sink's lines go to (bound with ``sink=<id>``)."""
    log_outcomes: ClassVar[bool] = False
    """Log ``<type>_rejected`` and ``<type>_retry`` after each write that had them."""

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        self._settings: S = settings_as(settings, cast("type[S]", self.settings_model))
        self._context = context
        self._lock = asyncio.Lock()
        self._log = structlog.get_logger(self.log_name).bind(sink=self._settings.sink_id)

    def __repr__(self) -> str:
        details = self._describe()
        suffix = f", {details}" if details else ""
        return f"{type(self).__name__}({self._settings.sink_id!r}{suffix})"

    @property
    def settings(self) -> S:
        return self._settings

    async def connect(self) -> None:
        async with self._lock:
            await self._open()

    async def write(self, batch: ReadingBatch) -> WriteResult:
        if not batch.readings:
            return WriteResult()
        async with self._lock:
            result = await self._write(batch)
        if self.log_outcomes:
            self._log_outcome(result)
        return result

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    # -- for subclasses ---------------------------------------------------------------

    def _describe(self) -> str:
        """Where the sink writes, for ``repr`` (no secrets)."""
        return ""

    async def _open(self) -> None:
        """Make ready; idempotent. Raise ``SinkUnavailableError`` to be tried again."""

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        raise NotImplementedError

    async def _close(self) -> None:
        """Release everything; safe when nothing was opened."""

    def _log_outcome(self, result: WriteResult) -> None:
        kind = self._settings.type
        if result.rejected:
            self._log.warning(
                f"{kind}_rejected", count=len(result.rejected), reason=result.rejected[0].reason
            )
        if result.retry:
            self._log.info(f"{kind}_retry", count=len(result.retry), reason=result.retry_reason)


class ThreadedSink(BaseSink[S]):
    """A sink whose I/O blocks: it runs on the sink's own worker thread, in order.

    Subclasses implement ``_open_on_thread`` (idempotent), ``_close_on_thread`` and
    ``_write`` (calling ``_run``); the thread starts at the first ``_open``.
    """

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def _open_on_thread(self) -> None:
        raise NotImplementedError

    def _close_on_thread(self) -> None:
        raise NotImplementedError

    async def _open(self) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix=f"sink-{self._settings.sink_id}"
            )
        await self._run(self._open_on_thread)

    async def _close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close_on_thread)
            executor.shutdown(wait=False)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            await self._open()  # a write before connect (or after close) opens again
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
