"""End to end: a simulated bus polled by the real ``BusEngine`` into the real ``Spool``.

``Poller`` runs the engine on simulated time with ``on_batch`` doing what the daemon
does, ``spool.put``, and notes each batch once ``put`` has returned: that list is
"what the engine produced and the spool acknowledged", the reference every test
counts its destination against, reading by reading, by idempotency key.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from poller.delivery import SpoolDispatcher
from poller.engine import MeterSettings
from poller.protocol import Password, SessionMode
from poller.readings import Reading, ReadingBatch
from poller.sinks import Sink
from poller.spool import Spool
from poller.util import Backoff
from tests.engine.helpers import Rig, rig, settings, spec
from tests.engine.simport import EPOCH

CYCLE = 900.0
"""Simulated seconds between polling cycles (a quarter-hour schedule)."""
FAST = Backoff(initial=0.01, maximum=0.1, factor=2.0, jitter=0.0)
"""The dispatchers' backoff in these tests: a sink that comes back is retried at once."""


def bus_meters() -> tuple[list[Any], list[MeterSettings]]:
    """Three readout meters and a programming one with registers and a load profile."""
    specs = [
        spec("lg-zmd", "10000001"),
        spec("iskra-mt174", "10000002"),
        spec("emh-lzqj"),
        spec("metcom"),
    ]
    emh = settings(
        specs[2],
        mode=SessionMode.PROGRAMMING,
        password=Password("00000000"),
        registers=("1.8.0", "2.8.0"),
        profiles=("P.01",),
    )
    return specs, [settings(specs[0]), settings(specs[1]), emh, settings(specs[3])]


class Poller:
    """A ``BusEngine`` over the simulated bus, every batch ``put`` into ``spool``."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.acked: list[ReadingBatch] = []
        """Batches whose ``put`` returned, in order."""
        specs, meter_settings = bus_meters()
        self.rig: Rig = rig(specs, meter_settings, on_batch=self._put)
        self.engine = self.rig.engine
        self.cycles = 0

    async def _put(self, batch: ReadingBatch) -> None:
        await self.spool.put(batch)
        self.acked.append(batch)

    async def __aenter__(self) -> Poller:
        self.engine.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.engine.stop()

    async def cycle(self, count: int = 1) -> None:
        """``count`` polling cycles, one slot each, CYCLE simulated seconds apart."""
        for _ in range(count):
            at = CYCLE * self.cycles
            await self.rig.clock.sleep_until(at)
            slot = EPOCH + dt.timedelta(seconds=at)
            batches = await asyncio.gather(*self.engine.submit_all(slot=slot))
            failed = [b.error for b in batches if not b.ok]
            assert not failed, failed
            self.cycles += 1

    def readings(self) -> list[Reading]:
        return [r for b in self.acked for r in b.readings]

    def keys(self) -> list[str]:
        keys = [r.key for r in self.readings()]
        assert len(set(keys)) == len(keys), "the simulated bus gave one key twice"
        return keys


def dispatcher(spool: Spool, sink: Sink, **options: Any) -> SpoolDispatcher:
    options.setdefault("backoff", FAST)
    options.setdefault("write_timeout", 10.0)
    return SpoolDispatcher(spool, sink, **options)


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``check`` with short waits; fail naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def delivered(spool: Spool, sink_id: str, timeout: float = 10.0) -> None:
    await until(lambda: not spool.pending(sink_id), f"sink {sink_id} to catch up", timeout)


def assert_each_once(found: Iterable[str], produced: Iterable[str]) -> int:
    """Every produced key found exactly once, nothing else found; returns the count."""
    counts = collections.Counter(found)
    expected = set(produced)
    missing = expected - set(counts)
    extra = set(counts) - expected
    twice = {k: n for k, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} readings lost, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} readings never produced, e.g. {sorted(extra)[:3]}"
    assert not twice, f"{len(twice)} readings stored more than once, e.g. {list(twice)[:3]}"
    return len(expected)


def assert_all_at_least_once(found: Iterable[str], produced: Iterable[str]) -> int:
    """At-least-once (MQTT): every produced key found, nothing else; returns distinct count."""
    distinct = set(found)
    expected = set(produced)
    assert distinct >= expected, f"{len(expected - distinct)} readings lost"
    assert distinct <= expected, f"{len(distinct - expected)} readings never produced"
    return len(distinct)
