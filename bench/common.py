"""Helpers shared by the benchmarks: statistics, a pty-served bus, the minimum's arithmetic."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from poller.protocol import wire_time
from poller.simulator import PtyServer, ScaledClock, VirtualBus

EPOCH = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""Wall-clock moment of simulated time 0 for every simulated meter here."""


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and count of repeated measurements."""
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def wire(data: bytes, baud: int) -> float:
    """Seconds ``data`` occupies on the wire: 10 bits (start, 7 data, parity, stop) a char."""
    return wire_time(len(data), baud)


@contextmanager
def serving(buses: Sequence[VirtualBus]) -> Iterator[list[PtyServer]]:
    """Each bus on a pty of its own, served by one event loop in a thread of its own.

    The simulator gets its own thread so that the client under test (an asyncio engine
    or a blocking peer client) never delays the meters and vice versa, as with real
    meters. Its clock is real time (time_scale 1) and reads ``time.monotonic()``
    seconds, so the bus log's times compare directly with a ``SerialPort``'s clock.
    """
    loop = asyncio.new_event_loop()
    servers: list[PtyServer] = []
    ready = threading.Event()

    async def serve_all() -> None:
        for bus in buses:
            clock = ScaledClock(time_scale=1.0, start=time.monotonic())
            servers.append(PtyServer(bus, clock))
        ready.set()
        await asyncio.gather(*(server.serve() for server in servers))

    thread = threading.Thread(target=loop.run_until_complete, args=(serve_all(),), daemon=True)
    thread.start()
    try:
        if not ready.wait(10.0):
            raise RuntimeError("the simulator thread did not start")
        yield servers
    finally:
        for server in servers:
            loop.call_soon_threadsafe(server.close)
        thread.join(timeout=10.0)
        loop.close()


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
