"""``sim://`` port URLs: the in-process simulator wherever a port URL is accepted.

Forms (the query is optional, keys in any order)::

    sim://PROFILE                                  one built-in meter
    sim://PROFILE?count=8&time_scale=0.01&seed=1   eight, consecutive addresses
    sim://path/to/meters.yaml                      a meters file, relative to the cwd
    sim:///etc/iec-poller/meters.yaml              the same, absolute

Query keys: ``count`` (profiles only), ``seed`` (overrides every meter's),
``time_scale`` (real time multiplied by it; default 1, i.e. real time),
``clock=manual`` (simulated time that jumps to whatever is waited for: a whole
poll in microseconds, for tests), ``epoch`` (ISO 8601 moment of time 0; default
the file's, or now), ``rx_latency`` (simulated seconds; default 0: the client is
woken for every character; e.g. 0.016 wakes it at most every 16 ms while a meter
talks and at once when it stops, as a USB adapter's latency timer does; see
``VirtualBus``).

The port is a ``poller.transport.Port``: it opens like a serial adapter at 300 Bd
7E1 and its clock is the simulation's, so the bus engine runs on simulated time.
The transport finds it through the ``iec_poller.transports`` entry point ``sim``
(``sim_port``), as it finds any other package's scheme: it never imports the
simulator itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from poller.protocol import LineFraming
from poller.transport import PortClosedError, PortOptions, PortUnavailableError

from ._bus import VirtualBus
from ._config import ConfigFileError
from ._inprocess import Clock, InProcessTransport, ManualClock, ScaledClock
from ._setup import build_bus, select_meters

__all__ = ["SCHEME", "SimulatedPort", "open_simulated_port", "sim_port"]

SCHEME: Final = "sim"
_KEYS: Final = frozenset({"count", "seed", "time_scale", "clock", "epoch", "rx_latency"})


class SimulatedPort:
    """A ``Port`` whose far end is a ``VirtualBus``; no file descriptors at all."""

    def __init__(self, url: str, bus: VirtualBus, clock: Clock) -> None:
        self._url = url
        self._transport = InProcessTransport(bus, clock)
        self._open = False

    @property
    def url(self) -> str:
        return self._url

    @property
    def clock(self) -> Clock:
        return self._transport.clock

    @property
    def bus(self) -> VirtualBus:
        return self._transport.bus

    @property
    def is_open(self) -> bool:
        return self._open

    async def open(self) -> None:
        if self._open:
            raise PortUnavailableError(self._url, "already open")
        self._open = True
        self._transport.set_line(300, LineFraming.BITS_7E1.value)

    async def close(self) -> None:
        self._open = False

    async def write(self, data: bytes) -> float:
        self._check_open()
        return self._transport.write(data)

    async def read(self, deadline: float) -> bytes:
        self._check_open()
        return await self._transport.read(timeout=max(0.0, deadline - self.clock.now()))

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        self._check_open()
        self._transport.set_line(baud, framing.value)

    async def reset_input(self) -> None:
        self._check_open()
        self._transport.reset_input()

    def _check_open(self) -> None:
        if not self._open:
            raise PortClosedError(self._url, "not open")


def open_simulated_port(url: str) -> SimulatedPort:
    """The port a ``sim://`` URL names, built but not yet opened.

    Raises ``PortUnavailableError`` when the URL names no profile, a file that
    cannot be used, or an unknown or malformed query key.
    """
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise PortUnavailableError(url, f"not a {SCHEME}:// URL")
    try:
        bus, clock = _parse(parts.netloc + parts.path, parts.query)
    except ConfigFileError as exc:
        raise PortUnavailableError(url, str(exc)) from exc
    except ValueError as exc:
        raise PortUnavailableError(url, str(exc)) from exc
    return SimulatedPort(url, bus, clock)


def sim_port(url: str, options: PortOptions) -> SimulatedPort:
    """The ``iec_poller.transports`` entry point of ``sim://`` (a ``PortFactory``).

    The options are the ``GatheringPort``'s that ``port_for_url`` puts around this
    port (echo, gathering); nothing of them is the simulated line's own.
    """
    return open_simulated_port(url)


def _parse(target: str, query_text: str) -> tuple[VirtualBus, Clock]:
    query = dict(parse_qsl(query_text, keep_blank_values=True))
    unknown = sorted(set(query) - _KEYS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
    if query.get("clock", "manual") != "manual":
        raise ValueError("clock: only 'manual' (leave it out for real time)")
    seed = int(query["seed"]) if "seed" in query else None
    clock: Clock = (
        ManualClock() if "clock" in query else ScaledClock(float(query.get("time_scale", "1")))
    )
    epoch = datetime.fromisoformat(query["epoch"]) if "epoch" in query else None
    if epoch is not None and epoch.tzinfo is None:
        raise ValueError("epoch: needs a time zone")
    if target.endswith((".yaml", ".yml")):
        if "count" in query:
            raise ValueError("count: only with a profile")
        config = select_meters(config=target, seed=seed)
    else:
        try:
            config = select_meters(profile=target, count=int(query.get("count", "1")), seed=seed)
        except KeyError:
            raise ValueError(f"no built-in profile {target!r}") from None
    rx_latency = float(query.get("rx_latency", "0"))
    if not 0 <= rx_latency <= 1:
        raise ValueError("rx_latency: 0 to 1 s")
    return build_bus(config, epoch=epoch, rx_latency=rx_latency), clock
