"""The ``Sink`` half of the file sinks: one ``RecordFile`` driven from a worker thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import structlog

from poller.readings import Reading, ReadingBatch

from ._contract import Rejection, SinkContext, WriteResult
from ._files import FileSettings, RecordFile
from ._records import record_for

__all__ = ["FileSink"]

T = TypeVar("T")


class FileSink:
    """Formats each reading's record as one ``bytes`` line; subclasses say how."""

    header: bytes = b""

    def __init__(self, settings: FileSettings, context: SinkContext) -> None:
        self._settings = settings
        path = settings.path if settings.path.is_absolute() else context.state_dir / settings.path
        self.path = path
        self._file = RecordFile(path, settings, read_keys=self.read_keys, header=self.header)
        # One thread per sink: file writes and fsyncs stay off the event loop, in order.
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._log = structlog.get_logger("poller.sinks").bind(sink=settings.sink_id)

    @property
    def settings(self) -> FileSettings:
        return self._settings

    def format(self, record: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def read_keys(self, data: bytes) -> Iterable[str]:
        raise NotImplementedError

    async def connect(self) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix=f"sink-{self._settings.sink_id}"
            )
        await self._run(self._file.open)

    async def write(self, batch: ReadingBatch) -> WriteResult:
        lines: list[tuple[str, bytes]] = []
        rejected: list[Rejection] = []
        for reading in batch.readings:
            line = self._line(reading, rejected)
            if line is not None:
                lines.append((reading.key, line))
        written = await self._run(self._file.append, lines)
        self._log.debug("written", readings=written, replayed=len(lines) - written)
        return WriteResult(accepted=len(lines), rejected=tuple(rejected))

    def _line(self, reading: Reading, rejected: list[Rejection]) -> bytes | None:
        try:
            return self.format(record_for(reading, self._settings))
        except (UnicodeError, ValueError) as exc:
            # Text no file can hold (lone surrogates from a garbled line) is bad data.
            rejected.append(Rejection(reading, f"cannot be written: {exc}"))
            return None

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._file.close)
            executor.shutdown(wait=False)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            await self.connect()
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
