"""An independent client (``iec62056-21`` from PyPI) reads every mode C profile.

This proves the simulator speaks the standard rather than only our own dialect:
that client's sign-on, option select, baud switch (it reopens the port at the new
rate) and readout parser run against the simulator's pty, and the data sets it
returns are those the meter served, which are those the meter model gives at the
moment the readout began.

That client sleeps about 0.75 s between its option select and its switch to the new
rate, so the meters here answer with a reaction time of 1.0 s (within the standard's
1.5 s): what is proved is the bytes and the baud switch, not that client's timing.
It runs in real time (the client sleeps in real seconds); the profiles are read in
parallel, each on its own pty, so the test takes one readout's time (about 4 s).

It needs no workaround for the glibc no-op ``tcsetattr`` failure (PROTOCOL.md 13):
the client opens the port at 300 Bd on a fresh pty (at 38400 Bd) and reopens it at
4800 or 9600 Bd, so each of its reconfigurations changes the rate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from iec62056_21.client import Iec6205621Client

from poller.protocol import DataMessage, Mode, decode_frames, parse_data_block
from poller.simulator import BusEvent, PtyServer, ScaledClock, SimulatedMeter, VirtualBus, profiles
from poller.simulator._datablock import format_lines
from poller.simulator._readings import readout_lines

from .helpers import EPOCH

MODE_C = [p for p in profiles() if p.spec.mode is Mode.C]
PEER_REACTION_TIME = 1.0


@contextmanager
def serving(buses: list[VirtualBus]) -> Iterator[list[PtyServer]]:
    """One pty per bus, all served by one event loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    servers: list[PtyServer] = []

    async def serve_all() -> None:
        servers.extend(PtyServer(bus, ScaledClock()) for bus in buses)
        ready.set()
        await asyncio.gather(*(server.serve() for server in servers))

    ready = threading.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_all(),))
    thread.start()
    try:
        assert ready.wait(5.0)
        yield servers
    finally:
        for server in servers:
            loop.call_soon_threadsafe(server.close)
        thread.join(timeout=5.0)
        loop.close()


def peer_readout(path: str) -> tuple[tuple[str, str, str], list[tuple[Any, Any, Any]]]:
    """The peer client's identification (manufacturer, Z, ident) and data sets."""
    client = Iec6205621Client.with_serial_transport(port=path)
    client.connect()
    opened = [client.transport.port]
    try:
        answer = client.standard_readout()
        opened.append(client.transport.port)
    finally:
        # The client reopens the port at the new rate without closing the old one.
        for port in opened:
            port.close()
    ident = (client.manufacturer_id, client.switchover_baudrate_char, client.identification)
    return ident, [(d.address, d.value, d.unit) for d in answer.data]


def served_readout(bus: VirtualBus) -> tuple[BusEvent, str]:
    (event,) = [e for e in bus.log if e.source != "client" and e.data.startswith(b"\x02")]
    (frame,) = decode_frames(event.data)
    assert isinstance(frame.message, DataMessage)
    assert frame.check.value == "ok"
    return event, frame.message.data


def test_iec62056_21_client_reads_every_mode_c_profile() -> None:
    assert len(MODE_C) >= 5
    specs = [dataclasses.replace(p.spec, reaction_time=PEER_REACTION_TIME) for p in MODE_C]
    buses = [VirtualBus([SimulatedMeter(spec, epoch=EPOCH)]) for spec in specs]
    with serving(buses) as servers, ThreadPoolExecutor(len(servers)) as pool:
        results = list(pool.map(peer_readout, [s.path for s in servers]))
    for spec, bus, (ident, datasets) in zip(specs, buses, results, strict=True):
        # That client always skips one character after Z, as if every meter sent a
        # \W escape (``string_data[6:-2]``); ours send none (but the LZQJ's \@).
        text = spec.identification.text
        assert ident == (spec.manufacturer, spec.baud_char, text[5:])
        event, block = served_readout(bus)
        # The switch happened: the readout went out at the meter's top rate, and
        # the client (now at that rate) understood it.
        assert event.line.baud == {"4": 4800, "5": 9600}[spec.baud_char]
        # Served exactly what the model says at the moment the readout began...
        meter = bus.meters[0]
        assert block == format_lines(readout_lines(spec, meter.moment(event.time))) + "!\r\n"
        # ...and the peer client read exactly what was served.
        served = [
            (dataset.address if i == 0 else None, value.text, value.unit)
            for dataset in parse_data_block(block)
            for i, value in enumerate(dataset.values)
        ]
        assert len(served) >= len(spec.registers)
        assert datasets == served, spec.address
