"""Incremental profile reads, deadlines, the flight recorder, secrets, efficiency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path

from structlog.testing import capture_logs

from poller.engine import FlightRecorder, ReadKind, SqliteCursorStore, run_session
from poller.protocol import (
    ClientSession,
    Failed,
    Password,
    Send,
    SessionConfig,
    SessionMode,
    wire_time,
)
from poller.simulator import ManualClock, get_profile

from .helpers import read_all, rig, settings, spec
from .simport import METER_TZ

LZQJ = get_profile("emh-lzqj")
QUARTER = dt.timedelta(minutes=15)


def profile_settings(**changes):
    return settings(LZQJ, mode=SessionMode.PROGRAMMING, password=Password("00000000"),
                    profiles=("P.01",), **changes)  # fmt: skip


def p01_times(batch):
    return sorted({r.meter_time for r in batch.readings if r.address == "P.01:1.5"})


def assert_contiguous(times):
    assert len(set(times)) == len(times)
    assert all(b - a == QUARTER for a, b in itertools.pairwise(times))


async def test_a_load_profile_read_in_two_parts_joins_without_gap_or_overlap() -> None:
    async def main():
        r = rig([LZQJ], [profile_settings()])
        async with r.engine:
            first = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
            await r.clock.sleep_until(r.clock.now() + 3600.0)
            second = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
            cursor = await r.engine.cursors.get(LZQJ.address, "P.01")
        return r, first, second, cursor

    r, first, second, cursor = await main()
    a, b = p01_times(first), p01_times(second)
    assert len(a) == 96  # the first read backfills a day
    assert len(b) == 4  # an hour later: four new quarter hours
    assert_contiguous(a + b)
    assert cursor == b[-1]
    # The second request starts one minute after the cursor the first one left.
    requests = [d for _, d in r.port.writes if d.startswith(b"\x01R5")]
    assert b"P.01(02603021101;)" in requests[1]


async def test_a_backlog_is_read_in_spans_that_join() -> None:
    config = profile_settings(profile_max_span=dt.timedelta(hours=12))

    async def main():
        r = rig([LZQJ], [config])
        async with r.engine:
            first = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
            second = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
        return first, second

    first, second = await main()
    a, b = p01_times(first), p01_times(second)
    assert len(a) == 48
    assert len(a) + len(b) == 96
    assert_contiguous(a + b)


async def test_the_cursor_moves_only_after_the_batch_was_handed_over() -> None:
    calls = []

    async def flaky_sink(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise ConnectionError("sink down")

    async def main():
        r = rig([LZQJ], [profile_settings()], on_batch=flaky_sink)
        async with r.engine:
            first = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
            second = await r.engine.submit(LZQJ.address, ReadKind.PROFILE)
        return first, second

    first, second = await main()
    assert p01_times(first)[0] == p01_times(second)[0]  # read again, nothing skipped
    assert p01_times(second)[-1] == p01_times(first)[-1]


class DribblePort:
    """A half-dead meter: after our request, one byte of an endless block per second."""

    url = "dribble://"

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.is_open = True
        self.next_byte: float | None = None
        self.writes: list[bytes] = []

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def write(self, data: bytes) -> float:
        self.writes.append(data)
        end = self.clock.now() + wire_time(len(data), 300)
        self.next_byte = end + 0.2
        return end

    async def read(self, deadline: float) -> bytes:
        if self.next_byte is not None and self.next_byte <= deadline:
            await self.clock.sleep_until(self.next_byte)
            first = self.writes and self.next_byte == self.clock.now()
            self.next_byte += 1.0
            return b"\x02" if first and len(self.writes) == 1 else b"A"
        await self.clock.sleep_until(deadline)
        return b""

    async def set_line(self, baud, framing) -> None: ...

    async def reset_input(self) -> None: ...


async def test_a_dribbling_meter_cannot_hold_the_bus_past_the_session_deadline() -> None:
    port = DribblePort()
    session = ClientSession(SessionConfig(address="1"))
    outcome = await run_session(port, session, deadline=10.0)
    assert isinstance(outcome, Failed)
    assert "deadline" in str(outcome.error)
    assert port.clock.now() <= 10.0 + 1e-9


async def test_no_password_in_any_log_line_even_with_an_echo() -> None:
    secret = "SECRET99"
    meter = dataclasses.replace(LZQJ, quirks=dataclasses.replace(LZQJ.quirks, echo=True))
    config = settings(meter, mode=SessionMode.PROGRAMMING, password=Password(secret),
                      registers=("1.8.0",), switch_delay=0.005)  # fmt: skip

    async def main():
        with capture_logs() as logs:
            r = rig([meter], [config])
            async with r.engine:
                batch = await r.engine.submit(meter.address)
        return batch, logs

    batch, logs = await main()
    assert not batch.ok
    frames = [e for e in logs if e["event"] == "flight recorder"]
    assert any("P1" in e["text"] and "***" in e["text"] for e in frames)
    text = repr(logs) + repr(batch)
    for form in (secret, secret.encode().hex(), secret.encode().hex(" ")):
        assert form not in text


def test_the_recorder_masks_the_bracket_and_the_bcc() -> None:
    recorder = FlightRecorder(size=4)
    data = b"\x01P1\x02(SECRET99)\x03\x55"
    recorder.sent(1.0, Send(data=data, not_before=1.0, description="P1(***)", sensitive=True))
    recorder.received(1.5, b"junk" + data + b"\x06")
    sent, heard = recorder.entries()
    assert sent.hex == "01 50 31 02 28 ** 29 03 **"
    assert "SECRET" not in heard.text
    assert heard.text.endswith("<ACK>")
    for i in range(5):
        recorder.note(2.0 + i, "x")
    assert len(recorder) == 4


async def test_bus_efficiency_of_eight_mode_c_meters() -> None:
    meters = [get_profile("lg-zmd").with_address(str(20_000_000 + i), seed=i) for i in range(8)]

    async def main():
        r = rig(meters)
        async with r.engine:
            start = r.clock.now()
            batches = await read_all(r)
            return r, batches, r.clock.now() - start

    r, batches, cycle = await main()
    assert all(b.ok for b in batches)
    wire = sum(wire_time(len(e.data), e.line.baud) for e in r.port.bus.log)
    # Per session: the meter's tr before its ident and before its readout, ours before
    # the option select, all 200 ms for these meters.
    reaction = 8 * 3 * 0.2
    efficiency = (wire + reaction) / cycle
    print(f"\n8 mode C meters: cycle {cycle:.3f} s, wire {wire:.3f} s, "
          f"reaction {reaction:.3f} s, efficiency {efficiency:.4f}")  # fmt: skip
    assert efficiency > 0.99


async def test_mode_settings_pass_through_to_the_session() -> None:
    meter = spec("lg-zmd")
    config = settings(meter, max_baud=4800, wake_up=True)

    async def main():
        r = rig([meter], [config])
        async with r.engine:
            return await r.engine.submit(meter.address), r

    batch, r = await main()
    assert batch.ok, batch.error
    assert r.port.writes[0][1] == b"\x00" * 66  # the wake-up NULs come first
    assert batch.baud == 300  # asked for 4800; a standard meter stays at 300 and it works
    assert r.engine.status(meter.address).state.value == "ok"
    assert len(r.batches) == 1


async def test_cursors_in_a_file_survive_a_restart(tmp_path: Path) -> None:
    async def main():
        path = tmp_path / "cursors.sqlite"
        first = SqliteCursorStore(path)
        stamp = dt.datetime(2026, 3, 2, 9, 45, tzinfo=METER_TZ)
        assert await first.get("06417290", "P.01") is None
        await first.set("06417290", "P.01", stamp)
        await first.set("06417290", "P.01", stamp + dt.timedelta(minutes=15))
        first.close()
        again = SqliteCursorStore(path)
        try:
            return await again.get("06417290", "P.01"), await again.get("06417290", "P.98")
        finally:
            again.close()

    p01, p98 = await main()
    assert p01 == dt.datetime(2026, 3, 2, 10, 0, tzinfo=METER_TZ)
    assert p01.utcoffset() == dt.timedelta(hours=1)
    assert p98 is None
