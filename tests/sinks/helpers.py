"""Readings and batches for sink and spool tests, built from ``poller.readings`` directly."""

from __future__ import annotations

import datetime as dt
from typing import Any

from poller.protocol import Value
from poller.readings import FailureKind, Quality, Reading, ReadingBatch
from tests.builders import make_batch, make_context, make_reading

EPOCH = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
METER_TZ = dt.timezone(dt.timedelta(hours=1))
REGISTERS = (
    ("1.8.0", "1-0:1.8.0*255", "kWh"),
    ("2.8.0", "1-0:2.8.0*255", "kWh"),
    ("0.9.1", None, None),
)


def reading(
    meter: str = "12345678",
    address: str | None = "1.8.0",
    text: str = "042951.721",
    *,
    unit: str | None = "kWh",
    taken_at: dt.datetime = EPOCH,
    **changes: Any,
) -> Reading:
    changes.setdefault("obis", address)
    return make_reading(
        bus="bus-1",
        meter=meter,
        address=address,
        values=(Value(text=text, unit=unit),),
        taken_at=taken_at,
        **changes,
    )


def batch(index: int, meter: str = "12345678", *, size: int = 3, **changes: Any) -> ReadingBatch:
    """The ``index``-th read of ``meter``: ``size`` readings whose keys no other index shares."""
    taken_at = EPOCH + dt.timedelta(minutes=15 * index)
    context = make_context(
        bus="bus-1", meter=meter, taken_at=taken_at, slot=taken_at, ident="/LGZ4ZMF100AC.M26"
    )
    readings = tuple(
        make_reading(
            context=context,
            address=f"{REGISTERS[i % 3][0]}" if i < 3 else f"C.{i}.0",
            obis=REGISTERS[i % 3][1] if i < 3 else None,
            values=(Value(text=f"{index * 1000 + i:010d}.000", unit=REGISTERS[i % 3][2]),),
            quality=Quality.GOOD,
        )
        for i in range(size)
    )
    return make_batch(context=context, readings=readings, duration=2.24, baud=9600, **changes)


def failed_batch(index: int, meter: str = "99999999") -> ReadingBatch:
    return make_batch(
        bus="bus-1",
        meter=meter,
        taken_at=EPOCH + dt.timedelta(minutes=15 * index),
        error="no identification after 3 tries",
        kind=FailureKind.NO_ANSWER,
    )
