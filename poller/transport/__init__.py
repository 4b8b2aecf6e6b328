"""Ports: the byte carriers under the bus engine (serial devices, TCP, plug-ins: the simulator).

``open_port(url, options=PortOptions(...))`` opens any of them by URL, wrapped in
the one ``GatheringPort`` that suppresses echo and gathers reads for every scheme;
the engine sees only the ``Port`` protocol. See ``_stream.py`` for the timing rules
every raw port keeps (wire-time arithmetic, no-op line changes, lost lines) and
``_gathering.py`` for when received bytes are handed on.
"""

from ._clock import MonotonicClock
from ._echo import EchoFilter
from ._gathering import MAX_BURST_BYTES, Burst, GatheringPort, gathering_port
from ._options import PortOptions, RS485Options
from ._port import Clock, Port, PortClosedError, PortError, PortUnavailableError
from ._reconnect import FailureCallback, ReconnectingPort, open_with_backoff
from ._rfc2217 import Rfc2217Port
from ._serial import SerialPort
from ._stream import StreamPort
from ._tcp import TcpPort
from ._url import (
    ENTRY_POINT_GROUP,
    PortFactory,
    load_scheme,
    open_port,
    port_for_url,
    port_schemes,
    raw_port_for_url,
    register_scheme,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MAX_BURST_BYTES",
    "Burst",
    "Clock",
    "EchoFilter",
    "FailureCallback",
    "GatheringPort",
    "MonotonicClock",
    "Port",
    "PortClosedError",
    "PortError",
    "PortFactory",
    "PortOptions",
    "PortUnavailableError",
    "RS485Options",
    "ReconnectingPort",
    "Rfc2217Port",
    "SerialPort",
    "StreamPort",
    "TcpPort",
    "gathering_port",
    "load_scheme",
    "open_port",
    "open_with_backoff",
    "port_for_url",
    "port_schemes",
    "raw_port_for_url",
    "register_scheme",
]
