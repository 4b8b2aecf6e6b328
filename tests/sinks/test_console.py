"""The console sink: one readable line per reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from poller.readings import Quality
from poller.sinks import SinkContext, build_sink, sink_config_models
from tests.builders import make_batch

from .helpers import METER_TZ, reading


async def test_one_line_per_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = sink_config_models()["console"].model_validate(
        {"type": "console", "names": {"1.8.0": "import"}}
    )
    sink = build_sink(settings, SinkContext(tmp_path))
    readings = (
        reading(meter_name="flat 3"),
        reading(
            address="P.01:1.5",
            text="0.42",
            unit="kW",
            meter_time=dt.datetime(2026, 3, 2, 10, 45, tzinfo=METER_TZ),
            quality=Quality.SUSPECT,
        ),
    )
    one = make_batch(
        bus="bus-1", meter="12345678", taken_at=readings[0].taken_at, readings=readings
    )

    async def main():
        await sink.connect()
        result = await sink.write(one)
        await sink.close()
        return result

    assert (await main()).accepted == 2
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-02T10:00:00+00:00  bus-1  12345678 (flat 3)  1.8.0 import = 042951.721 kWh",
        "2026-03-02T10:00:00+00:00  bus-1  12345678  P.01:1.5 = 0.42 kW"
        "  @ 2026-03-02T10:45:00+01:00  [suspect]",
    ]
