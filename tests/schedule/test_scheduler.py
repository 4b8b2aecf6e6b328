"""The scheduler on a manual wall clock: slots, missed slots, overruns, restarts."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from poller.config import AnySink, parse_config
from poller.engine import BusEngine, ReadKind
from poller.readings import ReadingBatch
from poller.schedule import (
    DailySchedule,
    EverySchedule,
    ManualWallClock,
    ScheduledRead,
    Scheduler,
    get_zone,
)
from poller.transport import port_for_url
from tests.builders import make_batch

UTC = dt.UTC
M = dt.timedelta(minutes=1)
START = dt.datetime(2026, 11, 29, 10, 7, 30, tzinfo=UTC)
QUARTER = EverySchedule(15 * M, UTC)


@dataclass
class Submitted:
    address: str
    kind: ReadKind | None
    slot: dt.datetime | None
    future: asyncio.Future[ReadingBatch]


@dataclass
class RecordingBus:
    """Takes jobs like ``BusEngine.submit`` and leaves them outstanding until told."""

    name: str
    jobs: list[Submitted] = field(default_factory=list)

    def submit(self, address, kind=None, slot=None):
        future = asyncio.get_running_loop().create_future()
        self.jobs.append(Submitted(address, kind, slot, future))
        return future

    def finish_all(self):
        for job in self.jobs:
            if not job.future.done():
                job.future.set_result(
                    make_batch(bus=self.name, meter=job.address, taken_at=START, slot=job.slot)
                )

    def slots(self, address):
        return [j.slot for j in self.jobs if j.address == address]


def reads(bus, *addresses, schedule=QUARTER, kind=None):
    return [ScheduledRead(bus=bus, address=a, schedule=schedule, kind=kind) for a in addresses]


async def test_each_meter_is_submitted_at_its_aligned_slot_with_the_slot():
    clock = ManualWallClock(START)
    bus = RecordingBus("b1")
    async with Scheduler({"b1": bus}, reads("b1", "1", "2"), clock=clock):
        await clock.advance_to(START + M)
        assert bus.jobs == []
        await clock.advance_to(dt.datetime(2026, 11, 29, 10, 15, tzinfo=UTC))
        assert [(j.address, j.slot) for j in bus.jobs] == [
            ("1", dt.datetime(2026, 11, 29, 10, 15, tzinfo=UTC)),
            ("2", dt.datetime(2026, 11, 29, 10, 15, tzinfo=UTC)),
        ]
        for _ in range(2):
            bus.finish_all()
            await clock.advance(15 * M)
        assert bus.slots("1")[1:] == [
            dt.datetime(2026, 11, 29, 10, 30, tzinfo=UTC),
            dt.datetime(2026, 11, 29, 10, 45, tzinfo=UTC),
        ]


async def test_after_a_restart_the_schedule_goes_on_from_the_clock():
    bus = RecordingBus("b1")
    clock = ManualWallClock(START)
    async with Scheduler({"b1": bus}, reads("b1", "1"), clock=clock):
        await clock.advance_to(START + 10 * M)
    restart = dt.datetime(2026, 11, 29, 11, 40, tzinfo=UTC)
    clock = ManualWallClock(restart)
    async with Scheduler({"b1": bus}, reads("b1", "1"), clock=clock) as scheduler:
        assert [slot for _, slot in scheduler.next_slots()] == [restart + 5 * M]
        await clock.advance_to(restart + 5 * M)
    assert bus.slots("1") == [START + 7.5 * M, restart + 5 * M]


async def test_a_meter_still_outstanding_misses_its_next_slot_and_the_cycle_overran():
    clock = ManualWallClock(START)
    bus = RecordingBus("b1")
    scheduler = Scheduler({"b1": bus}, reads("b1", "1", "2"), clock=clock)
    async with scheduler:
        await clock.advance_to(START + 7.5 * M)  # 10:15, both submitted
        bus.jobs[0].future.set_result(make_batch(bus="b1", meter="1", taken_at=START))
        with capture_logs() as logs:
            await clock.advance_to(START + 22.5 * M)  # 10:30, meter 2 still busy
    assert [(j.address, j.slot.minute) for j in bus.jobs] == [("1", 15), ("2", 15), ("1", 30)]
    assert scheduler.stats.missed_slots == {("b1", "2"): 1}
    assert scheduler.stats.cycle_overruns == {"b1": 1}
    assert scheduler.stats.submitted == {("b1", "1"): 2, ("b1", "2"): 1}
    events = {entry["event"]: entry for entry in logs}
    assert events["slot missed"]["bus"] == "b1"
    assert events["slot missed"]["meter"] == "2"
    assert events["slot missed"]["slot"] == "2026-11-29T10:30:00+00:00"
    assert events["slot missed"]["log_level"] == "warning"
    assert events["bus cycle overran its interval"]["outstanding"] == 1


async def test_slots_passed_while_not_running_are_reported_and_only_the_latest_read():
    clock = ManualWallClock(START)
    bus = RecordingBus("b1")
    scheduler = Scheduler({"b1": bus}, reads("b1", "1"), clock=clock)
    async with scheduler:
        await clock.advance_to(START)  # let the task start sleeping until 10:15
        with capture_logs() as logs:
            await clock.jump_to(dt.datetime(2026, 11, 29, 10, 50, tzinfo=UTC))
    assert bus.slots("1") == [dt.datetime(2026, 11, 29, 10, 45, tzinfo=UTC)]
    assert scheduler.stats.missed_slots == {("b1", "1"): 2}
    assert [e["slot"][11:16] for e in logs if e["event"] == "slot missed"] == ["10:15", "10:30"]


async def test_a_profile_schedule_is_tracked_apart_from_the_main_one():
    clock = ManualWallClock(dt.datetime(2026, 11, 29, 23, 50, tzinfo=UTC))
    bus = RecordingBus("b1")
    daily = DailySchedule(dt.time(0, 5), UTC)
    work = reads("b1", "1") + reads("b1", "1", schedule=daily, kind=ReadKind.PROFILE)
    scheduler = Scheduler({"b1": bus}, work, clock=clock)
    async with scheduler:
        await clock.advance(20 * M)
    # The 00:00 readout is still outstanding at 00:05: the profile job is not
    # held back by it, and nothing is reported missed.
    assert [(j.kind, j.slot.strftime("%H:%M")) for j in bus.jobs] == [
        (None, "00:00"),
        (ReadKind.PROFILE, "00:05"),
    ]
    assert scheduler.stats.missed_slots == {}


async def test_read_now_goes_to_the_bus_without_a_slot():
    bus = RecordingBus("b1")
    scheduler = Scheduler({"b1": bus}, reads("b1", "1"), clock=ManualWallClock(START))
    future = scheduler.read_now("b1", "1", ReadKind.REGISTERS)
    assert bus.jobs == [Submitted("1", ReadKind.REGISTERS, None, future)]
    with pytest.raises(KeyError):
        scheduler.read_now("b9", "1")


def test_reads_of_an_unknown_bus_or_twice_the_same_meter_are_refused():
    with pytest.raises(KeyError, match="b2"):
        Scheduler({"b1": RecordingBus("b1")}, reads("b2", "1"))
    with pytest.raises(ValueError, match="scheduled twice"):
        Scheduler({"b1": RecordingBus("b1")}, reads("b1", "1", "1"))


async def test_the_whole_path_from_configuration_to_readings_on_simulated_time():
    config = parse_config(
        """
        timezone: Europe/Berlin
        buses:
          - name: zmd
            port: sim://lg-zmd?count=2&clock=manual&epoch=2026-11-29T09:00:00%2B00:00
            schedule: {every: 15m}
            meters:
              - {address: "31002781", name: flat-1}
              - {address: "31002782", name: flat-2}
        sinks: [{type: console}]
        """,
        sink_models={"console": AnySink},
    )
    bus = config.buses[0]

    async def main():
        clock = ManualWallClock(START)
        batches: list[ReadingBatch] = []
        done = asyncio.Event()

        async def collect(batch):
            batches.append(batch)
            if len(batches) == 2:
                done.set()

        port = port_for_url(bus.port, options=bus.port_options())
        engine = BusEngine(
            bus.name,
            port,
            bus.meter_settings(),
            on_batch=collect,
            options=bus.engine_options(wall_clock=clock.now),
        )
        async with engine, Scheduler({"zmd": engine}, config.scheduled_reads(), clock=clock):
            await clock.advance_to(START + 7.5 * M)
            await asyncio.wait_for(done.wait(), timeout=10)
        return batches

    batches = await main()
    slot = dt.datetime(2026, 11, 29, 10, 15, tzinfo=UTC)
    assert [(b.meter, b.slot, b.ok) for b in batches] == [
        ("31002781", slot, True),
        ("31002782", slot, True),
    ]
    assert all(b.readings for b in batches)
    assert slot.astimezone(get_zone("Europe/Berlin")).minute == 15
