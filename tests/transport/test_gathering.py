"""``GatheringPort``: echo, ``inter_byte_read`` gathering and bursts, on a ManualClock."""

from __future__ import annotations

import math

import pytest

from poller.protocol import MAX_BURST_GAP, LineFraming, burst_gap
from poller.simulator import ManualClock
from poller.transport import (
    MAX_BURST_BYTES,
    GatheringPort,
    PortClosedError,
    PortOptions,
    gathering_port,
)


class ScriptedPort:
    """A raw port whose input arrives at given clock times; lost at ``lost_at``, if given."""

    def __init__(self, arrivals: list[tuple[float, bytes]], lost_at: float | None = None) -> None:
        self.url = "fake://scripted"
        self.clock = ManualClock()
        self.is_open = False
        self.arrivals = sorted(arrivals, key=lambda arrival: arrival[0])
        self.lost_at = math.inf if lost_at is None else lost_at
        self.lines: list[int] = []

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    async def write(self, data: bytes) -> float:
        return self.clock.now()

    async def read(self, deadline: float) -> bytes:
        due = self._due()
        if due:
            return due
        upcoming = self.arrivals[0][0] if self.arrivals else math.inf
        if self.lost_at <= min(upcoming, deadline):
            await self.clock.sleep_until(self.lost_at)
            raise PortClosedError(self.url, "EIO: input/output error")
        await self.clock.sleep_until(min(upcoming, deadline))
        return self._due()

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        self.lines.append(baud)

    async def reset_input(self) -> None:
        self._due()

    def _due(self) -> bytes:
        now = self.clock.now()
        due = [data for at, data in self.arrivals if at <= now]
        self.arrivals = [(at, data) for at, data in self.arrivals if at > now]
        return b"".join(due)


async def opened(inner: ScriptedPort, options: PortOptions | None = None) -> GatheringPort:
    port = GatheringPort(inner, options)
    await port.open()
    return port


async def test_echo_is_dropped_and_an_echo_alone_is_no_data() -> None:
    async def scenario() -> None:
        inner = ScriptedPort([(0.01, b"/?"), (0.02, b"!\r\n"), (0.3, b"/ABC5\r\n")])
        port = await opened(inner, PortOptions(echo=True))
        await port.write(b"/?!\r\n")
        assert await port.read(1.0) == b"/ABC5\r\n"
        assert port.clock.now() == 0.3  # the echo did not end the read
        assert (port.echo.dropped, port.echo.mismatches) == (5, 0)

        plain = await opened(ScriptedPort([(0.01, b"/?!\r\n"), (0.3, b"/ABC5\r\n")]))
        await plain.write(b"/?!\r\n")
        assert await plain.read(1.0) == b"/?!\r\n"  # without the option: every byte

    await scenario()


async def test_reset_input_forgets_the_echo_still_expected() -> None:
    async def scenario() -> None:
        port = await opened(ScriptedPort([(0.1, b"/?!\r\n")]), PortOptions(echo=True))
        await port.write(b"/?!\r\n")
        await port.reset_input()
        assert port.echo.pending == 0
        assert await port.read(1.0) == b"/?!\r\n"

    await scenario()


async def test_inter_byte_read_gathers_while_bytes_follow_never_past_the_deadline() -> None:
    chunks = [(0.0, b"a"), (0.03, b"b"), (0.07, b"c"), (0.2, b"d")]

    async def scenario() -> None:
        port = await opened(ScriptedPort(chunks), PortOptions(inter_byte_read=0.05))
        assert await port.read(1.0) == b"abc"
        assert await port.read(1.0) == b"d"

        bare = await opened(ScriptedPort(chunks))
        assert await bare.read(1.0) == b"a"  # 0: what is there, at once

        early = await opened(ScriptedPort(chunks), PortOptions(inter_byte_read=0.05))
        assert await early.read(0.05) == b"ab"
        assert early.clock.now() == 0.05

    await scenario()


async def test_an_echo_during_gathering_does_not_extend_it() -> None:
    async def scenario() -> None:
        # Junk first, then our echo, then the answer: the pause is counted from the junk.
        inner = ScriptedPort([(0.0, b"\x7f"), (0.03, b"/?!\r\n"), (0.06, b"/ABC5\r\n")])
        port = await opened(inner, PortOptions(echo=True, inter_byte_read=0.05))
        await port.write(b"/?!\r\n")
        assert await port.read(1.0) == b"\x7f"
        assert port.clock.now() == 0.05
        assert await port.read(1.0) == b"/ABC5\r\n"

    await scenario()


async def test_a_line_lost_while_gathering_keeps_the_bytes_and_raises_next() -> None:
    async def scenario() -> None:
        inner = ScriptedPort([(0.0, b"/ABC"), (0.01, b"5")], lost_at=0.02)
        port = await opened(inner, PortOptions(inter_byte_read=0.05))
        assert await port.read(1.0) == b"/ABC5"
        with pytest.raises(PortClosedError):
            await port.read(1.0)

    await scenario()


@pytest.mark.parametrize(
    ("arrivals", "burst", "at"),
    [
        # A line end hands the burst over at once, though more follows within the gap.
        ([(0.0, b"/ISk5"), (0.01, b"MT174\r\n"), (0.011, b"next")], b"/ISk5MT174\r\n", 0.01),
        # ETX and its BCC, or EOT and its BCC.
        ([(0.0, b"\x02(1)"), (0.005, b"\x03"), (0.01, b"B"), (0.012, b"x")], b"\x02(1)\x03B", 0.01),
        ([(0.0, b"\x02(1)\x04"), (0.005, b"B"), (0.006, b"x")], b"\x02(1)\x04B", 0.005),
        # A lone ACK or NAK.
        ([(0.0, b"\x06"), (0.001, b"x")], b"\x06", 0.0),
        ([(0.0, b"\x15"), (0.001, b"x")], b"\x15", 0.0),
        # A pause longer than the gap (15 ms at 300 Bd) ends it.
        ([(0.0, b"ab"), (0.01, b"cd"), (0.03, b"ef")], b"abcd", 0.01),
    ],
)
async def test_a_burst_ends_at_a_possible_message_end_or_a_pause(
    arrivals: list[tuple[float, bytes]], burst: bytes, at: float
) -> None:
    async def scenario() -> None:
        port = await opened(ScriptedPort(arrivals))
        got = await port.read_burst(1.0)
        assert (got.data, got.at) == (burst, at)

    await scenario()


async def test_the_burst_gap_follows_the_rate_set() -> None:
    arrivals = [(0.0, b"ab"), (0.001, b"cd"), (0.004, b"ef")]

    async def scenario() -> None:
        inner = ScriptedPort(arrivals)
        port = await opened(inner)
        await port.set_line(9600, LineFraming.BITS_7E1)
        assert (port.baud, inner.lines) == (9600, [9600])
        assert burst_gap(9600) < 0.003 < MAX_BURST_GAP
        assert (await port.read_burst(1.0)).data == b"abcd"
        assert (await port.read_burst(1.0)).data == b"ef"

        await port.close()
        await port.open()  # back at 300 Bd, where 3 ms is no pause
        inner.arrivals = [(1.0, b"ab"), (1.001, b"cd"), (1.004, b"ef")]
        assert (await port.read_burst(2.0)).data == b"abcdef"

    await scenario()


async def test_nothing_by_the_deadline_is_an_empty_burst_and_limit_caps_a_burst() -> None:
    async def scenario() -> None:
        port = await opened(ScriptedPort([(0.5, b"ab"), (0.51, b"cd")]))
        nothing = await port.read_burst(0.2)
        assert (nothing.data, nothing.at) == (b"", 0.2)
        capped = await port.read_burst(1.0, limit=0.505)
        assert (capped.data, capped.at) == (b"ab", 0.5)

    await scenario()


async def test_a_long_burst_is_handed_over_in_pieces() -> None:
    chunk = b"x" * 1000
    arrivals = [(i / 1024, chunk) for i in range(8)]

    async def scenario() -> None:
        port = await opened(ScriptedPort(arrivals))
        first = await port.read_burst(1.0)
        # The size is looked at before each read: the read that passes it is kept.
        assert len(first.data) == 5000 > MAX_BURST_BYTES
        assert len((await port.read_burst(1.0)).data) == 3000

    await scenario()


async def test_a_burst_that_lasts_span_is_handed_over_so_a_stop_is_seen() -> None:
    step = 1 / 128  # below the 15 ms gap: one continuous stream
    arrivals = [(i * step, b"z") for i in range(128)]

    async def scenario() -> None:
        port = await opened(ScriptedPort(arrivals))
        burst = await port.read_burst(10.0, span=0.25)
        assert (len(burst.data), burst.at) == (33, 0.25)
        unbounded = await port.read_burst(10.0)
        assert len(unbounded.data) == 128 - 33

    await scenario()


def test_gathering_port_wraps_once() -> None:
    inner = ScriptedPort([])
    wrapped = gathering_port(inner)
    assert wrapped.inner is inner
    assert wrapped.options == PortOptions()
    assert gathering_port(wrapped) is wrapped
    assert repr(wrapped).startswith("GatheringPort(")
