"""``sim://`` through the registry, and echo suppression, on a ManualClock (no real time)."""

from __future__ import annotations

import dataclasses

from poller.protocol import Request
from poller.simulator import ManualClock, SimulatedMeter, SimulatedPort, VirtualBus
from poller.transport import GatheringPort, PortOptions, port_for_url, raw_port_for_url

from .helpers import EPOCH, ZMD, mode_c_readout, read_until

EPOCH_Q = "2026-03-02T10:00:00%2B00:00"


async def test_sim_url_reads_a_meter_on_simulated_time() -> None:
    port = port_for_url(f"sim://lg-zmd?clock=manual&epoch={EPOCH_Q}")
    assert isinstance(port.clock, ManualClock)

    await port.open()
    try:
        result = await mode_c_readout(port)
        assert result.sign_on_end == 13 * 10 / 300
    finally:
        await port.close()
    assert 1.0 < port.clock.now() < 3.0  # simulated seconds; none of them slept


async def test_echo_of_a_head_that_hears_itself_is_dropped() -> None:
    echoing = dataclasses.replace(ZMD, quirks=dataclasses.replace(ZMD.quirks, echo=True))
    clock = ManualClock()

    def port(echo: bool) -> GatheringPort:
        bus = VirtualBus([SimulatedMeter(echoing, epoch=EPOCH)])
        inner = SimulatedPort("sim://echoing", bus, clock)
        return GatheringPort(inner, PortOptions(echo=echo, inter_byte_read=0.05))

    plain = port(echo=False)
    await plain.open()
    request = Request(address=ZMD.address).to_bytes()
    await plain.write(request)
    heard = await read_until(plain, lambda b: b.endswith(b"\n"), 3.0)
    assert heard.startswith(request)  # what the engine would see without the option
    await plain.close()

    filtered = port(echo=True)
    await filtered.open()
    await filtered.reset_input()
    await filtered.write(request)
    ident = await read_until(filtered, lambda b: b.endswith(b"\n"), 3.0)
    assert ident == ZMD.identification.to_bytes()
    assert (filtered.echo.dropped, filtered.echo.mismatches) == (len(request), 0)
    await filtered.close()


def test_sim_port_without_options_is_the_simulators_own() -> None:
    assert isinstance(raw_port_for_url("sim://lg-zmd?clock=manual"), SimulatedPort)
    assert isinstance(
        port_for_url("sim://lg-zmd?clock=manual", options=PortOptions(echo=True)), GatheringPort
    )
