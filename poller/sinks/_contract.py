"""The contract between the spool and every sink, built in or third-party.

In the style of telegraf's outputs: a sink has a validated configuration
(``SinkSettings`` subclass), connects idempotently, writes one batch at a time and
says exactly what became of it, and closes. It never decides on retries itself:
the spool keeps each sink's cursor and backs off; the sink only sorts readings into

* accepted: stored (for an idempotent sink, stored once even if sent again);
* rejected: bad data the destination will never take (kept aside by the spool,
  counted, logged; not retried forever);
* retry: not taken now (destination down, throttled); the spool sends them again.

Raising any exception from ``write`` means "retry the whole batch".

An error that retrying cannot cure (a login refused, a table the sink may not
create, a request the destination calls wrong: a bug or a bad configuration) is
*fatal*: ``SinkFatalError`` from ``connect`` or ``write``, or ``fatal=True`` on the
result. The spool then stops sending to that sink and keeps its batches (its cursor
stays) until the configuration is reloaded; nothing is rejected or lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from poller.readings import Reading, ReadingBatch

__all__ = [
    "Rejection",
    "Sink",
    "SinkContext",
    "SinkFatalError",
    "SinkSettings",
    "SinkUnavailableError",
    "WriteResult",
    "settings_as",
]


class SinkSettings(BaseModel):
    """What every sink's configuration has; each sink subclasses it with its own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str | None = None
    """Distinguishes two sinks of one type (their spool cursors are kept by name)."""
    meters: tuple[str, ...] | None = None
    """Only readings of these meters (address or name); None: all."""
    registers: tuple[str, ...] | None = None
    """Only these registers (address as the meter writes it, or OBIS); None: all."""
    names: dict[str, str] = Field(default_factory=dict)
    """Register address or OBIS code -> the name the destination uses."""

    @property
    def sink_id(self) -> str:
        return self.name or self.type


S = TypeVar("S", bound="SinkSettings")


def settings_as(settings: SinkSettings, model: type[S]) -> S:
    """``settings`` as ``model``: validated again when given as the base or a dict-like."""
    if isinstance(settings, model):
        return settings
    return model.model_validate(settings.model_dump())


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What the daemon gives every sink when it builds one."""

    state_dir: Path


@dataclass(frozen=True, slots=True)
class Rejection:
    reading: Reading
    reason: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What became of one batch; every reading is counted in exactly one of the three."""

    accepted: int = 0
    rejected: tuple[Rejection, ...] = ()
    retry: tuple[Reading, ...] = ()
    retry_reason: str | None = None
    fatal: bool = False
    """The ``retry`` readings cannot be taken until the configuration changes."""

    @classmethod
    def all_accepted(cls, count: int) -> WriteResult:
        return cls(accepted=count)

    @classmethod
    def all_retry(
        cls, readings: Sequence[Reading], reason: str, *, fatal: bool = False
    ) -> WriteResult:
        return cls(retry=tuple(readings), retry_reason=reason, fatal=fatal)


class SinkUnavailableError(Exception):
    """The destination cannot be reached now; the message never holds a secret."""

    fatal: bool = False


class SinkFatalError(SinkUnavailableError):
    """The sink cannot work as configured (credentials refused, a privilege missing):
    retrying will not help, a reload with a fixed configuration will. No secrets in it."""

    fatal = True


@runtime_checkable
class Sink(Protocol):
    """One destination of readings. Built as ``SinkClass(settings, context)``."""

    settings_model: ClassVar[type[SinkSettings]]

    @property
    def settings(self) -> SinkSettings: ...

    async def connect(self) -> None:
        """Make ready; idempotent (called again after a failure)."""
        ...

    async def write(self, batch: ReadingBatch) -> WriteResult:
        """Store the batch's readings (already filtered and named by the spool)."""
        ...

    async def close(self) -> None:
        """Release everything; safe to call twice or before ``connect``."""
        ...
