"""A sink that fails for good, for the dispatcher's and the daemon's tests."""

from __future__ import annotations

import dataclasses

from poller.readings import ReadingBatch
from poller.sinks import SinkFatalError, WriteResult

from ..spool.helpers import ScriptedSink

__all__ = ["FatalSink"]


@dataclasses.dataclass
class FatalSink(ScriptedSink):
    """Refuses for good: at ``connect`` (``on_connect``) or as a write's result."""

    on_connect: bool = True
    accept_first: int = 0

    async def connect(self) -> None:
        self.connects += 1
        if self.on_connect:
            raise SinkFatalError("login refused for user reader")

    async def write(self, batch: ReadingBatch) -> WriteResult:
        self.writes.append(batch)
        readings = batch.readings
        self.stored.extend(readings[: self.accept_first])
        return WriteResult(
            accepted=self.accept_first,
            retry=tuple(readings[self.accept_first :]),
            retry_reason="HTTP 403 Forbidden",
            fatal=True,
        )
