"""The bus's shortcuts change its cost, never what happens on the line.

Three shortcuts keep a bus of many meters cheap: idle meters that are not addressed
skip decoding a whole request (``SimulatedMeter.passes_over``), a transmission with
nothing else on the line is read in bulk (``_read_alone``), and ``rx_latency``
wakes the client less often. Each run here drives the same client script twice,
once with every shortcut off (one character at a time, every meter decoding
everything), and compares what the meters sent and what the client received.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

from poller.protocol import OptionSelect, Request
from poller.simulator import SimulatedMeter, VirtualBus, get_profile
from poller.simulator._bus import VirtualBus as BusClass
from poller.simulator._meter import SimulatedMeter as MeterClass

from .helpers import EPOCH

SPECS = [get_profile("lg-zmd"), get_profile("emh-lzqj"), get_profile("iskra-mt174")]

MESSAGES = [
    *(Request(address=s.address).to_bytes() for s in SPECS),
    Request(address="").to_bytes(),  # all answer at once: a collision
    Request(address="99999999").to_bytes(),  # nobody
    OptionSelect.readout("5").to_bytes(),
    OptionSelect.readout("0").to_bytes(),
    b"/?3100",  # the first half of a request
    b"2781!\r\n",  # and its second half
    b"\x00\x7fjunk",
]

steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.01, 0.05, 0.3, 0.8, 2.5]),  # silence before the write
        st.sampled_from(range(len(MESSAGES))),
        st.sampled_from([300, 300, 9600]),  # the client's rate for this write
    ),
    min_size=1,
    max_size=8,
)


@contextmanager
def _shortcuts_off() -> Iterator[None]:
    passes_over = MeterClass.passes_over
    read_alone = BusClass._read_alone

    def never(self: MeterClass, *args: object) -> bool:
        return False

    def one_by_one(self: BusClass, tx: object, first: int, last: int) -> bytes:
        return self._read_interleaved([(tx, first, last)])  # type: ignore[list-item]

    MeterClass.passes_over = never  # type: ignore[method-assign]
    BusClass._read_alone = one_by_one  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        MeterClass.passes_over = passes_over  # type: ignore[method-assign]
        BusClass._read_alone = read_alone  # type: ignore[method-assign]


def _drive(script: list[tuple[float, int, int]], rx_latency: float) -> tuple[list[object], bytes]:
    from poller.simulator import LineSettings

    bus = VirtualBus([SimulatedMeter(s, epoch=EPOCH) for s in SPECS], rx_latency=rx_latency)
    now, received = 0.0, bytearray()

    def wait_until(until: float) -> None:
        nonlocal now
        while (t := bus.next_event()) is not None and t <= until:
            now = max(now, t)
            received.extend(bus.client_read(now))
        now = max(now, until)
        received.extend(bus.client_read(now))

    for gap, message, baud in script:
        wait_until(now + gap)
        bus.set_client_line(LineSettings(baud), now)
        now = bus.client_write(MESSAGES[message], now)
    # Past every meter's inactivity timeout and the longest readout at 300 Bd, so
    # that whatever a latency held back has been handed over too.
    wait_until(now + 200.0)
    log = [(round(e.time, 9), e.source, e.data, e.line, e.note) for e in bus.log]
    return log, bytes(received)


@settings(max_examples=150, deadline=None)
@given(script=steps)
def test_shortcuts_change_nothing_on_the_line(script: list[tuple[float, int, int]]) -> None:
    with _shortcuts_off():
        expected = _drive(script, rx_latency=0.0)
    assert _drive(script, rx_latency=0.0) == expected
    assert _drive(script, rx_latency=0.016) == expected


def test_an_unaddressed_idle_meter_takes_the_shortcut() -> None:
    zmd, lzqj = (SimulatedMeter(s, epoch=EPOCH) for s in SPECS[:2])
    request = Request(address=SPECS[1].address)
    assert zmd.passes_over(request, zmd.line, 1.0)
    assert not lzqj.passes_over(request, lzqj.line, 1.0)  # addressed: it must answer


def test_a_meter_holding_part_of_a_message_decodes_the_request() -> None:
    zmd = SimulatedMeter(SPECS[0], epoch=EPOCH)
    zmd.receive(b"/?3100", 0.5, zmd.line)
    assert not zmd.passes_over(Request(address="99999999"), zmd.line, 1.0)
