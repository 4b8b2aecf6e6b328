"""The public API as an embedding program uses it; mypy strict checks this file.

Nothing here runs under pytest (it is not a ``test_*.py``): a wrong type in the
public names, or a name gone from ``poller``, fails ``make typecheck``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import poller


async def read_one(url: str) -> list[tuple[str | None, Decimal | None, str | None]]:
    meter = poller.Meter(url, address="31002781", timeout=30.0, password="00000000")
    async with meter as entered:
        same: poller.Meter = entered
        batch: poller.ReadingBatch = await same.read()
        again = await meter.read(registers=["1.8.0"], profile="P.01", start=_since())
    context: poller.BatchContext = batch.context
    assert context.identification is None or context.identification.manufacturer
    rows = []
    for reading in (*batch.readings, *again.readings):
        code: poller.ObisCode | None = reading.obis
        quality: poller.Quality = reading.quality
        assert quality is not poller.Quality.SUSPECT or code is not None
        rows.append((reading.address, reading.decimal, reading.unit))
    return rows


async def tolerant_read(url: str) -> poller.FailureKind | None:
    try:
        async with poller.Meter(url, timeout=5.0) as meter:
            await meter.read()
    except poller.ReadFailedError as exc:
        failure: poller.Failure = exc.failure
        partial: poller.ReadingBatch = exc.batch
        assert partial.failure is failure
        return failure.kind
    except poller.MeterInUseError:
        raise
    except (poller.PortError, poller.ProtocolError, TimeoutError):
        return None
    return None


async def poll_bus(url: str) -> int:
    meters = [
        poller.MeterSettings(address="31002781", name="flat-1"),
        poller.MeterSettings(address="31002782", password=poller.Password("secret12")),
    ]
    options = poller.EngineOptions(stop_timeout=5.0)
    readings = 0
    async with poller.BusEngine("bus-1", url, meters, options=options) as engine:
        stream: poller.BatchStream = engine.batches(maxsize=4)
        engine.submit("31002782", poller.ReadKind.REGISTERS)
        for future in engine.submit_all():
            finished: poller.ReadingBatch = await future
            assert finished.meter
        async for batch in stream:
            readings += len(batch.readings)
            if batch.failure is not None and batch.failure.kind is poller.FailureKind.PORT:
                break
            records: list[dict[str, object]] = [r.to_record() for r in batch.readings]
            assert all("key" in record for record in records)
    return readings


def _since() -> dt.datetime:
    return dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


VERSION: str = poller.__version__
