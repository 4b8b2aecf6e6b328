"""The public API (``import poller``): ``Meter`` and a bus engine's batch stream, on
simulated meters on a manual clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import subprocess
import sys

import pytest

import poller

ZMD = "sim://lg-zmd?clock=manual"
ZMD_3 = "sim://lg-zmd?count=3&clock=manual"
LZQJ = "sim://emh-lzqj?clock=manual&epoch=2026-03-02T10:00:00Z"
ADDRESSES = ("31002781", "31002782", "31002783")


def test_every_public_name_resolves_and_import_poller_stays_light() -> None:
    for name in poller.__all__:
        assert getattr(poller, name) is not None
    code = "import sys, poller\nprint(sorted(m for m in sys.modules if m.startswith('poller')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['poller']"
    with pytest.raises(AttributeError):
        _ = poller.NoSuchName  # type: ignore[attr-defined]


async def test_a_meter_reads_and_can_be_entered_again() -> None:
    async def main() -> tuple[poller.ReadingBatch, poller.ReadingBatch]:
        meter = poller.Meter(ZMD, address="31002781", timeout=30.0)
        async with meter:
            first = await meter.read()
        async with meter:  # reusable once left
            second = await meter.read()
        return first, second

    first, second = await main()
    assert first.ok
    assert second.ok
    assert first.ident == "/LGZ5ZMD310CR.S40"
    assert {r.address for r in first.readings} >= {"1.8.0", "2.8.0"}
    obis = next(r.obis for r in first.readings if r.address == "1.8.0")
    assert isinstance(obis, poller.ObisCode)


async def test_a_meter_is_not_reentrant_and_not_read_outside() -> None:
    async def main() -> None:
        meter = poller.Meter(ZMD, address="31002781")
        with pytest.raises(poller.PortError):
            await meter.read()
        async with meter:
            with pytest.raises(poller.MeterInUseError):
                async with meter:
                    pass
            assert (await meter.read()).ok  # the failed re-entry left it usable

    await main()


async def test_a_failed_read_raises_with_its_typed_failure() -> None:
    async def main() -> poller.ReadFailedError:
        async with poller.Meter(ZMD, address="99999999", timeout=20.0) as meter:
            with pytest.raises(poller.ReadFailedError) as caught:
                await meter.read()
        return caught.value

    error = await main()
    assert error.failure.kind is poller.FailureKind.NO_ANSWER
    assert error.batch.failure is error.failure
    assert str(error) == error.failure.message


async def test_the_timeout_bounds_the_whole_read() -> None:
    async def main() -> poller.ReadFailedError:
        async with poller.Meter(ZMD, address="31002781", timeout=1.0) as meter:
            with pytest.raises(poller.ReadFailedError) as caught:
                await meter.read()
        return caught.value

    error = await main()
    assert "deadline" in error.failure.message


async def test_a_meter_reads_registers_and_a_profile_in_programming_mode() -> None:
    async def main() -> poller.ReadingBatch:
        meter = poller.Meter(LZQJ, address="06417290", password="00000000")
        async with meter:
            start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
            return await meter.read(registers=["1.8.0"], profile="P.01", start=start)

    batch = await main()
    assert batch.ok, batch.error
    assert "1.8.0" in {r.address for r in batch.readings}
    assert any(r.meter_time is not None for r in batch.readings)


async def test_an_engines_batches_arrive_in_order_without_loss_through_a_small_stream() -> None:
    async def main() -> list[str]:
        meters = [poller.MeterSettings(address=a) for a in ADDRESSES]
        seen: list[str] = []
        async with poller.BusEngine("bus-1", ZMD_3, meters) as engine:
            stream = engine.batches(maxsize=1)  # the bus waits for this consumer
            for _ in range(3):
                engine.submit_all()
            async for batch in stream:
                assert batch.ok, batch.error
                seen.append(batch.meter)
                if len(seen) == 9:
                    break
        return seen

    assert await main() == list(ADDRESSES) * 3


async def test_a_stream_ends_when_the_engine_stops() -> None:
    async def main() -> list[poller.ReadingBatch]:
        meters = [poller.MeterSettings(address=ADDRESSES[0])]
        engine = poller.BusEngine("bus-1", ZMD, meters)
        stream = engine.batches()
        async with engine:
            await engine.submit(ADDRESSES[0])
        return [batch async for batch in stream]

    (batch,) = await main()
    assert batch.meter == ADDRESSES[0]


async def test_a_consumer_that_leaves_does_not_hold_the_bus() -> None:
    async def main() -> list[poller.ReadingBatch]:
        meters = [poller.MeterSettings(address=a) for a in ADDRESSES]
        async with poller.BusEngine("bus-1", ZMD_3, meters) as engine:
            async with engine.batches(maxsize=1):
                pass  # left at once: closed
            dropped = engine.batches(maxsize=1)
            # Six reads, two abandoned one-batch streams: neither may hold the bus.
            futures = engine.submit_all() + engine.submit_all()
            async for _ in dropped:
                break
            del dropped  # dropped, not closed
            gc.collect()
            return list(await asyncio.wait_for(asyncio.gather(*futures), timeout=30))

    batches = await main()
    assert len(batches) == 6
    assert all(b.ok for b in batches)
