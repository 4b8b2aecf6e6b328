"""Filters and names mean the same for every sink."""

from __future__ import annotations

from poller.sinks import RECORD_KEYS, SinkSettings, record_for, select_readings, wants

from .helpers import batch, reading


def settings(**changes: object) -> SinkSettings:
    return SinkSettings.model_validate({"type": "x", **changes})


def test_record_for_is_the_products_record_plus_the_configured_name() -> None:
    r = reading(address="1.8.0", obis="1-0:1.8.0*255")
    record = record_for(r, settings(names={"1-0:1.8.0*255": "import"}))
    assert record == {**r.to_record(), "name": "import"}
    assert set(record) == set(RECORD_KEYS)
    # The address as written wins over the OBIS form.
    both = settings(names={"1.8.0": "by address", "1-0:1.8.0*255": "by obis"})
    assert record_for(r, both)["name"] == "by address"
    assert record_for(r, settings())["name"] is None


def test_filters_match_meters_by_address_or_name_and_registers_by_address_or_obis() -> None:
    r = reading(meter="12345678", address="1.8.0", obis="1-0:1.8.0*255", meter_name="flat 3")
    assert wants(r, settings())
    assert wants(r, settings(meters=["flat 3"]))
    assert wants(r, settings(meters=["12345678"]))
    assert not wants(r, settings(meters=["87654321"]))
    assert wants(r, settings(registers=["1-0:1.8.0*255"]))
    assert wants(r, settings(registers=["1.8.0"]))
    assert not wants(r, settings(registers=["2.8.0"]))


def test_select_readings_keeps_the_batch_when_nothing_is_filtered() -> None:
    b = batch(0)
    assert select_readings(b, settings()) is b
    narrowed = select_readings(b, settings(registers=["1.8.0"]))
    assert [r.address for r in narrowed.readings] == ["1.8.0"]
    assert narrowed.meter == b.meter
    assert narrowed.taken_at == b.taken_at
