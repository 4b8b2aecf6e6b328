"""Readings: what the bus engines produce and every sink consumes.

A ``Reading`` is one register value of one meter at one moment, typed at the
boundary: raw text kept, ``Decimal`` where numeric, the parsed ``ObisCode``, aware
timestamps. A ``ReadingBatch`` is everything one session produced. What all the
readings of a batch share (bus, meter, its name, the identification, the slot, the
time taken) is one ``BatchContext`` that the batch and each reading reference, so a
30-register readout holds it once. A failed session carries a ``Failure`` (a kind to
act on, a message to show) and the commands it refused as ``CommandError`` values,
so exit codes, metrics and sinks never parse text.

The JSON form (``to_record``) is the one record of the product: the keys of
``iec-poller decode --format json`` plus where and when the value was taken and its
idempotency key.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from poller.protocol import DataSet, Identification, ObisCode, ProfileRecord, Value

__all__ = [
    "BatchContext",
    "CommandError",
    "Failure",
    "FailureKind",
    "ProfileSpan",
    "Quality",
    "Reading",
    "ReadingBatch",
    "readings_from_datasets",
    "readings_from_profile",
]


class Quality(enum.Enum):
    """How far a reading can be trusted."""

    GOOD = "good"
    """Read from a frame whose checksum verified, or a meter that sends none."""
    UNCHECKED = "unchecked"
    """The frame's checksum was missing (a meter that omits it, a cut block)."""
    SUSPECT = "suspect"
    """The checksum failed and no repeat succeeded; kept so nothing is silently lost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchContext:
    """Where and when a batch was read: shared by the batch and all its readings."""

    bus: str
    meter: str
    """The meter's address (serial number) as used in the sign-on."""
    taken_at: dt.datetime
    """When the session ended (aware, UTC)."""
    meter_name: str | None = None
    identification: Identification | None = None
    """What the meter said it is; None when it never identified itself."""
    slot: dt.datetime | None = None
    """The schedule slot the read belongs to (aware), for on-demand reads None."""

    @property
    def ident(self) -> str | None:
        """The identification line as the record shows it (``/LGZ5ZMD310CR.S40``)."""
        return None if self.identification is None else "/" + self.identification.text


class FailureKind(enum.Enum):
    """Why a session failed, as far as a caller acts on it."""

    NO_ANSWER = "no_answer"
    """Silence: no identification and no readout before the timeouts ran out."""
    PROTOCOL = "protocol"
    """The meter answered, but the conversation failed (garbled, refused, too slow)."""
    AUTHENTICATION = "authentication"
    """The password was refused."""
    PORT = "port"
    """The port failed under the session."""
    UNREACHABLE = "unreachable"
    """Not tried: the meter is unreachable and its next probe is not due."""
    ABORTED = "aborted"
    """Ended by a shutdown, not by the meter."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed session: what kind of failure, and its message (no secret in it)."""

    kind: FailureKind
    message: str
    error_type: str | None = None
    """The protocol error's class name (``ProtocolTimeoutError``), for logs and metrics."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class CommandError:
    """One command that failed inside a session that went on (an error reply)."""

    request: str
    """The command as sent, secrets masked (``R1 1.8.1()``)."""
    message: str

    def __str__(self) -> str:
        return f"{self.request}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileSpan:
    """The range of one profile a session asked for (for logs and reports)."""

    profile: str
    start: dt.datetime
    end: dt.datetime | None = None

    def __str__(self) -> str:
        end = self.end.isoformat() if self.end else ""
        return f"{self.profile} {self.start.isoformat()}..{end}"


class _WithContext:
    """The context's fields, read through: ``reading.meter`` is ``reading.context.meter``."""

    __slots__ = ()
    context: BatchContext

    @property
    def bus(self) -> str:
        return self.context.bus

    @property
    def meter(self) -> str:
        return self.context.meter

    @property
    def meter_name(self) -> str | None:
        return self.context.meter_name

    @property
    def identification(self) -> Identification | None:
        return self.context.identification

    @property
    def ident(self) -> str | None:
        return self.context.ident

    @property
    def slot(self) -> dt.datetime | None:
        return self.context.slot

    @property
    def taken_at(self) -> dt.datetime:
        return self.context.taken_at


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading(_WithContext):
    """One register value of one meter."""

    context: BatchContext
    address: str | None
    """The register's address as the meter wrote it (``1.8.0``, ``1-0:1.8.0*255``)."""
    obis: ObisCode | None
    values: tuple[Value, ...]
    meter_time: dt.datetime | None = None
    """The meter's own time stamp of the value (profile interval, max-demand time)."""
    quality: Quality = Quality.GOOD

    @property
    def value(self) -> str | None:
        return self.values[0].text if self.values else None

    @property
    def unit(self) -> str | None:
        return self.values[0].unit if self.values else None

    @property
    def decimal(self) -> Decimal | None:
        return self.values[0].decimal if self.values else None

    @property
    def key(self) -> str:
        """Idempotency key: the same value read twice (a replay) gets the same key.

        Meter, register, and the most precise time the value belongs to: the meter's
        own stamp, else the schedule slot, else the moment it was taken.
        """
        context = self.context
        when = self.meter_time or context.slot or context.taken_at
        return f"{context.meter}|{self.address or ''}|{_iso(when)}"

    def to_record(self) -> dict[str, Any]:
        """The product's one JSON record of a reading."""
        context = self.context
        return {
            "bus": context.bus,
            "meter": context.meter,
            "meter_name": context.meter_name,
            "ident": context.ident,
            "address": self.address,
            "obis": None if self.obis is None else str(self.obis),
            "value": self.value,
            "unit": self.unit,
            "values": [_value_record(v) for v in self.values],
            "taken_at": _iso(context.taken_at),
            "slot": _iso(context.slot) if context.slot else None,
            "meter_time": _iso(self.meter_time) if self.meter_time else None,
            "quality": self.quality.value,
            "key": self.key,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingBatch(_WithContext):
    """Everything one session with one meter produced, successful or not."""

    context: BatchContext
    readings: tuple[Reading, ...] = ()
    failure: Failure | None = None
    """Why the session failed; None when it succeeded."""
    duration: float = 0.0
    """Seconds on the bus, first byte to last."""
    baud: int | None = None
    repeats: int = 0
    command_errors: tuple[CommandError, ...] = ()
    """Commands refused inside a session that succeeded with what the others gave."""
    profiles_without_data: tuple[str, ...] = ()
    """Profile requests the meter answered with "nothing there" (an error reply)."""
    profile_ranges: tuple[ProfileSpan, ...] = ()
    """What the session asked of each profile."""

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def error(self) -> str | None:
        """The failure's message (no secret in it); None when the session succeeded."""
        return None if self.failure is None else self.failure.message


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _value_record(value: Value) -> dict[str, Any]:
    record: dict[str, Any] = {"value": value.text, "unit": value.unit}
    if value.parts:
        record["parts"] = [_value_record(part) for part in value.parts]
    return record


def readings_from_datasets(
    datasets: Iterable[DataSet], *, context: BatchContext, quality: Quality = Quality.GOOD
) -> list[Reading]:
    """One reading per data set that carries a value."""
    return [
        Reading(
            context=context,
            address=dataset.address,
            obis=dataset.obis,
            values=dataset.values,
            quality=quality,
        )
        for dataset in datasets
        if dataset.values
    ]


def readings_from_profile(
    records: Iterable[ProfileRecord], *, context: BatchContext, tz: dt.tzinfo
) -> list[Reading]:
    """One reading per channel and interval of a load profile or logbook.

    The interval's time becomes ``meter_time``, so a profile read twice yields the
    same keys: sinks that deduplicate store each interval once.
    """
    readings = []
    for record in records:
        moment = record.time.to_datetime(tz)
        for channel, value in zip(record.channels, record.values, strict=False):
            readings.append(
                Reading(
                    context=context,
                    address=f"{record.profile}:{channel.code}",
                    obis=channel.obis,
                    values=(value if value.unit else _with_unit(value, channel.unit),),
                    meter_time=moment,
                )
            )
    return readings


def _with_unit(value: Value, unit: str | None) -> Value:
    return Value(text=value.text, unit=unit or None, parts=value.parts)
