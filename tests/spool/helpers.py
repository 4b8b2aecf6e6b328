"""A sink of our own for spool tests: it keeps what it accepts and fails on cue."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar, Literal

from poller.readings import Reading, ReadingBatch
from poller.sinks import Rejection, SinkSettings, SinkUnavailableError, WriteResult
from poller.util import Backoff

NO_WAIT = Backoff(initial=0.0, maximum=0.0, factor=1.0, jitter=0.0)


class ScriptedSettings(SinkSettings):
    type: Literal["scripted"] = "scripted"


@dataclasses.dataclass
class ScriptedSink:
    """Accepts readings into ``stored`` (a list: duplicates show), after the scripted faults.

    ``raise_for``: the first N writes raise; ``retry_for``: the next N return every
    reading as retry; ``half_retry_for``: the next N accept the first half and ask
    for the rest again; ``reject``: readings for which it returns a reason are rejected.
    """

    settings_model: ClassVar[type[SinkSettings]] = ScriptedSettings
    config: ScriptedSettings = dataclasses.field(default_factory=ScriptedSettings)
    raise_for: int = 0
    retry_for: int = 0
    half_retry_for: int = 0
    reject: Callable[[Reading], str | None] = lambda reading: None
    stored: list[Reading] = dataclasses.field(default_factory=list)
    writes: list[ReadingBatch] = dataclasses.field(default_factory=list)
    connects: int = 0
    closed: bool = False

    @property
    def settings(self) -> SinkSettings:
        return self.config

    async def connect(self) -> None:
        self.connects += 1

    async def write(self, batch: ReadingBatch) -> WriteResult:
        self.writes.append(batch)
        if self.raise_for > 0:
            self.raise_for -= 1
            raise SinkUnavailableError("destination down")
        if self.retry_for > 0:
            self.retry_for -= 1
            return WriteResult.all_retry(batch.readings, "throttled")
        rejected = []
        kept = []
        for reading in batch.readings:
            reason = self.reject(reading)
            if reason is None:
                kept.append(reading)
            else:
                rejected.append(Rejection(reading, reason))
        retry: tuple[Reading, ...] = ()
        if self.half_retry_for > 0 and len(kept) > 1:
            self.half_retry_for -= 1
            half = len(kept) // 2
            kept, retry = kept[:half], tuple(kept[half:])
        self.stored.extend(kept)
        return WriteResult(accepted=len(kept), rejected=tuple(rejected), retry=retry)

    async def close(self) -> None:
        self.closed = True


def keys(readings: list[Reading]) -> list[str]:
    return [r.key for r in readings]
