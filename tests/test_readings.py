"""The reading record and its idempotency key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from poller.protocol import parse_data_block, parse_profile
from poller.readings import Quality, readings_from_datasets, readings_from_profile
from tests.builders import make_context

TAKEN = dt.datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt.UTC)
SLOT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_record_has_the_keys_of_decode_plus_context() -> None:
    (reading,) = readings_from_datasets(
        parse_data_block("1-0:1.8.0*255(001234.567*kWh)\r\n"),
        context=make_context(
            bus="cabinet-1", meter="12345678", taken_at=TAKEN, slot=SLOT, ident="/ISk5MT174-0001"
        ),
    )
    record = reading.to_record()
    assert record["value"] == "001234.567"
    assert record["unit"] == "kWh"
    assert record["values"] == [{"value": "001234.567", "unit": "kWh"}]
    assert record["taken_at"] == "2026-03-01T12:00:05+00:00"
    assert record["slot"] == "2026-03-01T12:00:00+00:00"
    assert record["meter_time"] is None
    assert record["quality"] == "good"
    assert record["key"] == "12345678|1-0:1.8.0*255|2026-03-01T12:00:00+00:00"
    assert reading.decimal == Decimal("1234.567")


def test_profile_intervals_keep_their_key_across_reads() -> None:
    block = "P.01(1260301111500)(00)(15)(1)(1.5)(kW)\r\n(0.5)\r\n(0.7)\r\n"
    first = readings_from_profile(
        parse_profile(block), context=make_context(bus="b", meter="1", taken_at=TAKEN), tz=dt.UTC
    )
    again = readings_from_profile(
        parse_profile(block),
        context=make_context(bus="b", meter="1", taken_at=TAKEN + dt.timedelta(hours=1)),
        tz=dt.UTC,
    )
    assert [r.key for r in first] == [r.key for r in again]
    assert [r.meter_time for r in first] == [
        dt.datetime(2026, 3, 1, 11, 15, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 11, 30, tzinfo=dt.UTC),
    ]
    assert first[1].unit == "kW"
    assert first[1].address == "P.01:1.5"


def test_quality_is_carried() -> None:
    (reading,) = readings_from_datasets(
        parse_data_block("1.8.0(1*kWh)"),
        context=make_context(bus="b", meter="1", taken_at=TAKEN),
        quality=Quality.SUSPECT,
    )
    assert reading.to_record()["quality"] == "suspect"
    assert reading.key.endswith(TAKEN.isoformat())
