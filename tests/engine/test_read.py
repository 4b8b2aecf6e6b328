"""``read_meter``: one read of one meter through an open port, as every caller does it."""

from __future__ import annotations

import datetime as dt

import pytest

from poller.engine import (
    FlightRecorder,
    MeterSettings,
    ProfileRange,
    ReadPlan,
    ReadResult,
    read_meter,
)
from poller.protocol import Password, ReadRequest
from poller.readings import FailureKind
from poller.transport import Port, port_for_url

from .simport import METER_TZ

EPOCH = "2026-03-02T10:00:00Z"
LZQJ = "06417290"


async def read(
    url: str, settings: MeterSettings, plan: ReadPlan | None = None, *, close_first: bool = False
) -> tuple[ReadResult, FlightRecorder, Port]:
    port = port_for_url(url)
    await port.open()
    if close_first:
        await port.close()
    recorder = FlightRecorder(1000)
    try:
        result = await read_meter(port, settings, plan, bus="bus-1", recorder=recorder)
    finally:
        await port.close()
    return result, recorder, port


async def test_a_readout_gives_its_batch_outcome_and_timing() -> None:
    settings = MeterSettings(address="31002781", name="flat-1")
    result, recorder, _ = await read(f"sim://lg-zmd?clock=manual&epoch={EPOCH}", settings)
    assert result.ok
    batch = result.batch
    assert batch.ok
    assert batch.failure is None
    assert batch.ident == "/LGZ5ZMD310CR.S40"
    assert batch.meter_name == "flat-1"
    assert batch.readings
    assert all(r.context is batch.context for r in batch.readings)
    assert result.start < result.end
    assert result.duration == pytest.approx(batch.duration)
    assert result.bus_free_at >= result.end
    assert result.cursors == {}
    assert {f.session for f in recorder} == {"31002781"}


async def test_a_profile_read_returns_the_cursor_to_store_and_does_not_store_it() -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=METER_TZ)
    ranges = (ProfileRange(profile="P.01", start=start, end=None, cursor=None, tz=METER_TZ),)
    settings = MeterSettings(address=LZQJ, password=Password("00000000"), timezone=METER_TZ)
    plan = ReadPlan.of(ranges=ranges)
    result, _, _ = await read(f"sim://emh-lzqj?clock=manual&epoch={EPOCH}", settings, plan)
    assert result.ok, result.batch.error
    times = sorted({r.meter_time for r in result.batch.readings if r.meter_time is not None})
    assert times
    assert result.cursors == {"P.01": times[-1]}
    assert [s.profile for s in result.batch.profile_ranges] == ["P.01"]
    with pytest.raises(TypeError):
        result.cursors["P.01"] = start  # type: ignore[index]


async def test_a_meter_that_is_not_there_is_no_answer() -> None:
    settings = MeterSettings(address="99999999", timeout=0.5, max_repeats=0)
    result, _, _ = await read("sim://lg-zmd?clock=manual", settings)
    assert not result.ok
    assert result.batch.failure is not None
    assert result.batch.failure.kind is FailureKind.NO_ANSWER
    assert result.batch.error == result.batch.failure.message


async def test_a_refused_password_is_an_authentication_failure() -> None:
    settings = MeterSettings(address=LZQJ, password=Password("WRONG123"))
    plan = ReadPlan(commands=(ReadRequest(dataset="1.8.0()"),))
    result, _, _ = await read("sim://emh-lzqj?clock=manual", settings, plan)
    assert result.batch.failure is not None
    assert result.batch.failure.kind is FailureKind.AUTHENTICATION
    assert "WRONG123" not in result.batch.failure.message


async def test_a_port_that_fails_is_a_port_failure_not_an_exception() -> None:
    result, _, _ = await read(
        "sim://lg-zmd?clock=manual", MeterSettings(address="31002781"), close_first=True
    )
    assert result.batch.failure is not None
    assert result.batch.failure.kind is FailureKind.PORT
