"""Many meters on one bus: turns, dead meters, retries, a vanishing port, fallback."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from poller.engine import Backoff, MeterState
from poller.protocol import Password, SessionMode
from poller.simulator import get_profile

from .helpers import read_all, rig, settings, spec

FAST_RETRY = Backoff(initial=0.0, factor=1.0, maximum=0.0)


def zmds(n: int, first: int = 10_000_000):
    return [get_profile("lg-zmd").with_address(str(first + i), seed=i) for i in range(n)]


def request(address: str) -> bytes:
    return f"/?{address}!\r\n".encode()


async def test_a_bus_of_32_meters_is_read_in_turn() -> None:
    meters = zmds(32)

    async def main():
        r = rig(meters)
        async with r.engine:
            batches = await read_all(r)
        return r, batches

    r, batches = await main()
    assert [b.meter for b in batches] == [m.address for m in meters]
    assert all(b.ok for b in batches), [b.error for b in batches if not b.ok]
    requests = [data for _, data in r.port.writes if data.startswith(b"/?")]
    assert requests == [request(m.address) for m in meters]  # one addressed sign-on each
    # Each mode C 9600 Bd readout takes about 2.24 s on the wire and in reaction times.
    assert r.clock.now() < 32 * 2.3


async def test_a_silent_meter_costs_only_its_timeouts_and_retries() -> None:
    meters = zmds(4)
    meters[1] = spec("lg-zmd", "99999999", faults={"silent": True})
    configs = [settings(m, retries=1, backoff=FAST_RETRY) for m in meters]

    async def main():
        r = rig(meters, configs)
        with capture_logs() as logs:
            async with r.engine:
                batches = await read_all(r)
        return r, batches, logs

    r, batches, logs = await main()
    assert [b.ok for b in batches] == [True, False, True, True]
    assert "no identification" in (batches[1].error or "")
    starts = [e["meter"] for e in logs if e["event"] == "session start"]
    # Round robin: the silent meter's retry waits behind the meters queued after it.
    assert starts == [meters[0].address, "99999999", meters[2].address, meters[3].address,
                      "99999999"]  # fmt: skip
    # One silent session: 4 requests, each 0.43 s of wire + a 2.0 s reply timeout,
    # and 3 guard pauses of 2 s between them; the bus then rests another 2 s.
    silent_session = 4 * (0.4333 + 2.0) + 3 * 2.0 + 2.0
    assert r.clock.now() < 3 * 2.3 + 2 * silent_session + 0.5
    assert r.engine.status("99999999").state is MeterState.FAILING


async def test_a_dead_meter_becomes_unreachable_and_is_probed_later() -> None:
    dead = spec("lg-zmd", "99999999", faults={"silent": True})
    alive = get_profile("lg-zmd")
    configs = [settings(m, retries=1, backoff=FAST_RETRY) for m in (dead, alive)]

    async def main():
        r = rig([dead, alive], configs, unreachable_after=3, probe_interval=600.0)
        async with r.engine:
            for _ in range(3):
                batches = await read_all(r)
                assert batches[1].ok
            skipped_at = r.clock.now()
            cycle3 = [d for _, d in r.port.writes].count(request(dead.address))
            status = r.engine.status(dead.address)
            await r.clock.sleep_until(skipped_at + 600.0)
            probe = await read_all(r)
            after = [d for _, d in r.port.writes].count(request(dead.address))
        return status, batches, cycle3, after, probe

    status, batches, cycle3, after, probe = await main()
    assert status.state is MeterState.UNREACHABLE
    assert status.consecutive_failures == 3
    assert "unreachable" in (batches[0].error or "")
    # Cycle 1: two sessions, cycle 2: one (the third failure), cycle 3: none; 4 requests each.
    assert cycle3 == 3 * 4
    assert after == cycle3 + 4  # the probe: one session, no retries
    assert not probe[0].ok
    assert probe[1].ok


async def test_wrong_password_is_reported_b0_sent_and_the_next_meter_is_fine() -> None:
    lzqj = get_profile("emh-lzqj")
    zmd = get_profile("lg-zmd")
    configs = [
        settings(lzqj, mode=SessionMode.PROGRAMMING, password=Password("WRONG123"),
                 registers=("1.8.0",)),
        settings(zmd),
    ]  # fmt: skip

    async def main():
        r = rig([lzqj, zmd], configs)
        async with r.engine:
            batches = await read_all(r)
        return r, batches

    r, batches = await main()
    assert not batches[0].ok
    assert "password refused" in (batches[0].error or "")
    assert "WRONG123" not in (batches[0].error or "")
    sends = [d for _, d in r.port.writes]
    zmd_request = sends.index(request(zmd.address))
    assert sends[zmd_request - 1] == b"\x01B0\x03q"  # signed off before the next address
    # A refused password is not tried again (meters lock out).
    assert sends.count(request(lzqj.address)) == 1
    assert batches[1].ok


async def test_a_port_that_vanishes_and_comes_back() -> None:
    meters = zmds(4)

    async def main():
        r = rig(meters, port_options={"outage": (5.0, 30.0)})
        with capture_logs() as logs:
            async with r.engine:
                batches = await read_all(r)
        return r, batches, logs

    r, batches, logs = await main()
    assert all(b.ok for b in batches), [b.error for b in batches]
    assert r.port.opens == 2
    events = [e["event"] for e in logs]
    assert "port lost during session" in events
    assert events.count("port open failed") >= 3  # backoff 1, 2, 4, 8, 16 s
    # The interrupted job ran again after the port came back, before the fourth meter.
    starts = [e["meter"] for e in logs if e["event"] == "session start"]
    assert starts == [m.address for m in meters[:3]] + [meters[2].address, meters[3].address]
    assert r.engine.status(meters[2].address).consecutive_failures == 0


async def test_a_meter_announcing_a_rate_it_cannot_do_falls_back() -> None:
    meter = spec("lg-zmd", quirks={"announced_baud_char": "6"})  # says 19200, does 9600

    async def main():
        r = rig([meter], [settings(meter, backoff=FAST_RETRY)])
        async with r.engine:
            first = await r.engine.submit(meter.address)
            sessions_first = sum(1 for _, d in r.port.writes if d.startswith(b"/?"))
            second = await r.engine.submit(meter.address)
            sessions_total = sum(1 for _, d in r.port.writes if d.startswith(b"/?"))
        return r, first, second, sessions_first, sessions_total

    r, first, second, sessions_first, sessions_total = await main()
    assert first.ok, first.error
    assert first.baud == 9600
    assert r.engine.status(meter.address).max_baud == 9600
    # Two failed sessions (4 sign-ons each) at 19200, then one good one at 9600.
    assert sessions_first == 4 + 4 + 1
    # What works is remembered: the next read needs one sign-on.
    assert second.ok
    assert sessions_total - sessions_first == 1


async def test_abort_during_a_programming_session_sends_b0() -> None:
    lzqj = get_profile("emh-lzqj")
    config = settings(lzqj, mode=SessionMode.PROGRAMMING, password=Password("00000000"),
                      profiles=("P.01",))  # fmt: skip

    async def main():
        r = rig([lzqj], [config])
        r.engine.start()
        future = r.engine.submit(lzqj.address)
        while not any(d.startswith(b"\x01R5") for _, d in r.port.writes):
            await asyncio.sleep(0)
        await r.engine.stop(graceful=False)
        return r, await future

    r, batch = await main()
    assert not batch.ok
    assert "aborted" in (batch.error or "")
    assert r.port.writes[-1][1] == b"\x01B0\x03q"
    assert not r.port.is_open
    assert r.engine.status(lzqj.address).consecutive_failures == 0  # not the meter's fault
