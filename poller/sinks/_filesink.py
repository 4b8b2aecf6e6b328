"""The ``Sink`` half of the file sinks: one ``RecordFile`` driven from a worker thread."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from poller.readings import Reading, ReadingBatch

from ._base import ThreadedSink
from ._contract import Rejection, SinkContext, SinkSettings, WriteResult
from ._files import FileSettings, RecordFile
from ._records import record_for

__all__ = ["FileSink"]

F = TypeVar("F", bound=FileSettings)


class FileSink(ThreadedSink[F]):
    """Formats each reading's record as one ``bytes`` line; subclasses say how."""

    header: bytes = b""

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        settings = self._settings
        path = settings.path if settings.path.is_absolute() else context.state_dir / settings.path
        self.path = path
        self._file = RecordFile(path, settings, read_keys=self.read_keys, header=self.header)

    def _describe(self) -> str:
        return f"path={str(self.path)!r}"

    def format(self, record: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def read_keys(self, data: bytes) -> Iterable[str]:
        raise NotImplementedError

    def _open_on_thread(self) -> None:
        self._file.open()

    def _close_on_thread(self) -> None:
        self._file.close()

    async def _write(self, batch: ReadingBatch) -> WriteResult:
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
