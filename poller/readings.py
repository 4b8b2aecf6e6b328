"""Readings: what the bus engines produce and every sink consumes.

A ``Reading`` is one register value of one meter at one moment, typed at the
boundary: raw text kept, ``Decimal`` where numeric, aware timestamps. A
``ReadingBatch`` is everything one session produced. The JSON form (``to_record``)
is the one record of the product: the keys of ``iec-poller decode --format json``
plus where and when the value was taken and its idempotency key.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from poller.protocol import DataSet, ProfileRecord, Value

__all__ = ["Quality", "Reading", "ReadingBatch", "readings_from_datasets", "readings_from_profile"]


class Quality(enum.Enum):
    """How far a reading can be trusted."""

    GOOD = "good"
    """Read from a frame whose checksum verified, or a meter that sends none."""
    UNCHECKED = "unchecked"
    """The frame's checksum was missing (a meter that omits it, a cut block)."""
    SUSPECT = "suspect"
    """The checksum failed and no repeat succeeded; kept so nothing is silently lost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One register value of one meter."""

    bus: str
    meter: str
    """The meter's address (serial number) as used in the sign-on."""
    address: str | None
    """The register's address as the meter wrote it (``1.8.0``, ``1-0:1.8.0*255``)."""
    obis: str | None
    values: tuple[Value, ...]
    taken_at: dt.datetime
    """When the session that read it ended (aware, UTC)."""
    ident: str | None = None
    meter_name: str | None = None
    slot: dt.datetime | None = None
    """The schedule slot the read belongs to (aware), for on-demand reads None."""
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
        when = self.meter_time or self.slot or self.taken_at
        return f"{self.meter}|{self.address or ''}|{_iso(when)}"

    def to_record(self) -> dict[str, Any]:
        """The product's one JSON record of a reading."""
        return {
            "bus": self.bus,
            "meter": self.meter,
            "meter_name": self.meter_name,
            "ident": self.ident,
            "address": self.address,
            "obis": self.obis,
            "value": self.value,
            "unit": self.unit,
            "values": [_value_record(v) for v in self.values],
            "taken_at": _iso(self.taken_at),
            "slot": _iso(self.slot) if self.slot else None,
            "meter_time": _iso(self.meter_time) if self.meter_time else None,
            "quality": self.quality.value,
            "key": self.key,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingBatch:
    """Everything one session with one meter produced, successful or not."""

    bus: str
    meter: str
    taken_at: dt.datetime
    readings: tuple[Reading, ...] = ()
    meter_name: str | None = None
    ident: str | None = None
    slot: dt.datetime | None = None
    error: str | None = None
    """Why the session failed (no secret in it); None when it succeeded."""
    duration: float = 0.0
    """Seconds on the bus, first byte to last."""
    baud: int | None = None
    repeats: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _value_record(value: Value) -> dict[str, Any]:
    record: dict[str, Any] = {"value": value.text, "unit": value.unit}
    if value.parts:
        record["parts"] = [_value_record(part) for part in value.parts]
    return record


def readings_from_datasets(
    datasets: Iterable[DataSet],
    *,
    bus: str,
    meter: str,
    taken_at: dt.datetime,
    quality: Quality = Quality.GOOD,
    **context: Any,
) -> list[Reading]:
    """One reading per data set that carries a value."""
    readings = []
    for dataset in datasets:
        if not dataset.values:
            continue
        obis = dataset.obis
        readings.append(
            Reading(
                bus=bus,
                meter=meter,
                address=dataset.address,
                obis=str(obis) if obis is not None else None,
                values=dataset.values,
                taken_at=taken_at,
                quality=quality,
                **context,
            )
        )
    return readings


def readings_from_profile(
    records: Iterable[ProfileRecord],
    *,
    bus: str,
    meter: str,
    taken_at: dt.datetime,
    tz: dt.tzinfo,
    **context: Any,
) -> list[Reading]:
    """One reading per channel and interval of a load profile or logbook.

    The interval's time becomes ``meter_time``, so a profile read twice yields the
    same keys: sinks that deduplicate store each interval once.
    """
    readings = []
    for record in records:
        moment = record.time.to_datetime(tz)
        for channel, value in zip(record.channels, record.values, strict=False):
            address = f"{record.profile}:{channel.code}"
            readings.append(
                Reading(
                    bus=bus,
                    meter=meter,
                    address=address,
                    obis=str(channel.obis) if channel.obis is not None else None,
                    values=(value if value.unit else _with_unit(value, channel.unit),),
                    taken_at=taken_at,
                    meter_time=moment,
                    **context,
                )
            )
    return readings


def _with_unit(value: Value, unit: str | None) -> Value:
    return Value(text=value.text, unit=unit or None, parts=value.parts)
