"""Building engines on simulated buses for the engine tests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from poller.engine import BusEngine, EngineOptions, MeterSettings
from poller.readings import ReadingBatch
from poller.simulator import Faults, ManualClock, MeterSpec, Quirks, SimulatedMeter, get_profile

from .simport import METER_TZ, SimPort, sim_bus, wall_clock


def spec(profile: str, address: str | None = None, **changes: Any) -> MeterSpec:
    base = get_profile(profile)
    if address is not None:
        changes["address"] = address
    if "faults" in changes and isinstance(changes["faults"], dict):
        changes["faults"] = Faults(**changes["faults"])
    if "quirks" in changes and isinstance(changes["quirks"], dict):
        changes["quirks"] = Quirks(**changes["quirks"])
    return dataclasses.replace(base, **changes)


def settings(meter: MeterSpec, **changes: Any) -> MeterSettings:
    changes.setdefault("timezone", METER_TZ)
    return MeterSettings(address=meter.address, **changes)


@dataclasses.dataclass
class Rig:
    engine: BusEngine
    port: SimPort
    clock: ManualClock
    meters: list[SimulatedMeter]
    batches: list[ReadingBatch]


def rig(
    specs: Sequence[MeterSpec],
    meter_settings: Sequence[MeterSettings] | None = None,
    *,
    on_batch: Callable[[ReadingBatch], Awaitable[None]] | None = None,
    port_options: dict[str, Any] | None = None,
    **options: Any,
) -> Rig:
    """An engine (not started) over a simulated bus of ``specs``; needs a running loop."""
    port, clock, meters = sim_bus(specs, **(port_options or {}))
    batches: list[ReadingBatch] = []

    async def collect(batch: ReadingBatch) -> None:
        batches.append(batch)

    engine = BusEngine(
        "bus-1",
        port,
        meter_settings if meter_settings is not None else [settings(s) for s in specs],
        on_batch=on_batch or collect,
        options=EngineOptions(wall_clock=wall_clock(clock), **options),
    )
    return Rig(engine, port, clock, meters, batches)


async def read_all(r: Rig, **submit: Any) -> list[ReadingBatch]:
    """One cycle over every meter, awaited."""
    return list(await asyncio.gather(*r.engine.submit_all(**submit)))


def client_sends(r: Rig) -> list[bytes]:
    return [data for _, data in r.port.writes]
