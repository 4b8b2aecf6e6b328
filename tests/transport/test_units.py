"""Pure parts: the echo filter, URL redaction, the scheme registry, backoff."""

from __future__ import annotations

import random

import pytest

from poller.protocol import LineFraming
from poller.simulator import ManualClock
from poller.transport import (
    EchoFilter,
    PortClosedError,
    PortError,
    PortOptions,
    PortUnavailableError,
    ReconnectingPort,
    open_with_backoff,
    port_for_url,
    raw_port_for_url,
    register_scheme,
)
from poller.util import Backoff, redact_url, scrub, secrets_of


def test_echo_is_dropped_however_it_is_split() -> None:
    echo = EchoFilter()
    echo.expect(b"/?12345!\r\n")
    assert echo.feed(b"/?1") == b""
    assert echo.feed(b"2345") == b""
    assert echo.feed(b"!\r\n/LGZ") == b"/LGZ"
    assert echo.feed(b"5\r\n") == b"5\r\n"
    assert (echo.dropped, echo.mismatches, echo.pending) == (10, 0, 0)


def test_what_is_not_our_echo_passes_through_and_counts() -> None:
    echo = EchoFilter()
    echo.expect(b"\x06050\r\n")
    assert echo.feed(b"\x060") == b""  # held back until the echo is whole
    assert echo.feed(b"X7\r\n") == b"\x060X7\r\n"  # not our echo: nothing is lost
    assert (echo.dropped, echo.mismatches, echo.pending) == (0, 1, 0)
    echo.expect(b"/?!\r\n")
    echo.reset()
    assert echo.feed(b"/?!") == b"/?!"


def test_a_line_that_does_not_echo_loses_nothing() -> None:
    echo = EchoFilter()
    echo.expect(b"/?31002781!\r\n")
    assert echo.feed(b"/LGZ5ZMD310CR.S40\r\n") == b"/LGZ5ZMD310CR.S40\r\n"
    assert echo.mismatches == 1


def test_junk_ahead_of_the_echo_is_passed_on_and_the_echo_still_dropped() -> None:
    echo = EchoFilter()
    echo.expect(b"/?!\r\n")
    assert echo.feed(b"\x7f/?!\r\n/ABC5\r\n") == b"\x7f/ABC5\r\n"
    assert (echo.dropped, echo.mismatches) == (5, 0)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("/dev/ttyUSB0", "/dev/ttyUSB0"),
        ("rfc2217://user:pa55@10.0.0.9:4001", "rfc2217://***@10.0.0.9:4001"),
        ("socket://pa55@gw:7000", "socket://***@gw:7000"),
        ("rfc2217://gw:4001?password=pa55&x=1", "rfc2217://gw:4001?password=***&x=1"),
        ("sim://lg-zmd?count=2", "sim://lg-zmd?count=2"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "pa55" not in scrub(f"cannot reach {url}", secrets_of(url))


def test_scheme_registry_dispatches_and_unregisters() -> None:
    made: list[tuple[str, PortOptions]] = []

    def factory(url: str, options: PortOptions) -> ManualPort:
        made.append((url, options))
        return ManualPort(url)

    unregister = register_scheme("fake", factory)
    try:
        port = raw_port_for_url("fake://x", options=PortOptions(echo=True))
        assert isinstance(port, ManualPort)
        assert made == [("fake://x", PortOptions(echo=True))]
    finally:
        unregister()
    with pytest.raises(PortUnavailableError, match="no transport for fake://"):
        port_for_url("fake://x")
    with pytest.raises(PortUnavailableError) as caught:
        port_for_url("nope://user:pw@host:1")
    assert "pw" not in str(caught.value)


def test_backoff_grows_to_its_cap_with_bounded_jitter() -> None:
    plain = Backoff(initial=1.0, maximum=60.0, jitter=0.0)
    assert [plain.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    jittered = Backoff(jitter=0.1)
    rng = random.Random(1)
    delays = [jittered.delay(3, rng) for _ in range(50)]
    assert all(3.6 <= d <= 4.4 for d in delays)
    assert len(set(delays)) > 1
    assert plain.delay(0) == 0.0
    assert Backoff(initial=0.0, maximum=0.0).delay(5) == 0.0  # retry at once
    for bad in ({"initial": -1.0}, {"initial": 2.0, "maximum": 1.0}, {"factor": 0.5}):
        with pytest.raises(ValueError, match=r"initial|factor"):
            Backoff(**bad)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.0)


class ManualPort:
    """A port on a ManualClock that is absent for its first ``absent`` opens."""

    opened = 0

    def __init__(self, url: str = "fake://bus", clock: ManualClock | None = None) -> None:
        self.url = url
        self.clock = clock or ManualClock()
        self.is_open = False
        self.absent = 0
        self.lose_next = False

    async def open(self) -> None:
        if self.absent > 0:
            self.absent -= 1
            raise PortUnavailableError(self.url, "ENOENT: no such device")
        ManualPort.opened += 1
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    async def write(self, data: bytes) -> float:
        return self.clock.now()

    async def read(self, deadline: float) -> bytes:
        if self.lose_next:
            self.is_open = False
            raise PortClosedError(self.url, "EIO: input/output error")
        await self.clock.sleep_until(deadline)
        return b""

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        pass

    async def reset_input(self) -> None:
        pass


async def test_open_with_backoff_on_simulated_time_reports_each_failure() -> None:
    clock = ManualClock()
    ports: list[ManualPort] = []

    def factory() -> ManualPort:
        port = ManualPort(clock=clock)
        port.absent = 1 if len(ports) < 3 else 0
        ports.append(port)
        return port

    seen: list[tuple[str, int, float]] = []

    def on_failure(exc: PortError, n: int, wait: float) -> None:
        seen.append((exc.reason, n, wait))

    backoff = Backoff(initial=1.0, maximum=3.0, jitter=0.0)
    port = await open_with_backoff(factory, clock=clock, backoff=backoff, on_failure=on_failure)
    assert port is ports[3]
    assert port.is_open
    assert [(n, wait) for _, n, wait in seen] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    assert clock.now() == 6.0


async def test_reconnecting_port_fails_the_conversation_then_resumes_at_the_next_sign_on() -> None:
    clock = ManualClock()
    ports: list[ManualPort] = []

    def factory() -> ManualPort:
        port = ManualPort(clock=clock)
        port.absent = 1 if 1 <= len(ports) <= 2 else 0  # two tries before it is back
        ports.append(port)
        return port

    failures: list[int] = []
    port = ReconnectingPort(
        factory,
        backoff=Backoff(initial=0.5, jitter=0.0),
        on_failure=lambda exc, n, wait: failures.append(n),
    )

    await port.open()
    ports[0].lose_next = True
    with pytest.raises(PortClosedError):
        await port.read(clock.now() + 1.0)
    assert not port.is_open
    with pytest.raises(PortClosedError, match="next sign-on"):
        await port.write(b"\x06050\r\n")  # never half a conversation on a new line
    await port.reset_input()  # the next sign-on: reopens, waiting as needed
    assert port.is_open
    assert port.current is ports[-1]
    await port.close()
    assert failures == [1, 2]
    assert port.reconnects == 1
    assert clock.now() == pytest.approx(1.5)
