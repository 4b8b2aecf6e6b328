"""A virtual RS-485 bus of IEC 62056-21 meters, for tests, demos and development.

Meters are data (``MeterSpec``, built-in ``profiles()``); ``SimulatedMeter`` speaks
the meter side of the protocol sans-I/O on simulated time; ``VirtualBus`` puts
several on one half-duplex line with collisions and rate mismatches; and
``InProcessTransport`` lets asyncio code talk to the bus with no file descriptors,
``PtyServer`` serves it on a pseudo-terminal for any serial program and ``TcpServer``
like a TCP-to-serial converter. Meters can be described in YAML (``load_config``,
see ``config/simulator.example.yaml``); ``sim://`` port URLs open a ``SimulatedPort``
(``open_simulated_port``), which registers itself with the transport through the
``iec_poller.transports`` entry point, so the transport never imports the simulator.
"""

from ._bus import BusEvent, VirtualBus
from ._config import BusConfig, ConfigFileError, Problem, load_config, parse_config
from ._inprocess import Clock, InProcessTransport, ManualClock, ScaledClock, SimulatedLine
from ._line import FRAMING_7E1, FRAMING_8N1, Framing, LineSettings, Transmit, hear
from ._meter import MeterState, SimulatedMeter
from ._model import (
    Channel,
    Demand,
    Energy,
    Faults,
    Fixed,
    Instant,
    LoadCurve,
    LoadProfileSpec,
    LogbookSpec,
    MaxDemand,
    MeterClock,
    MeterSpec,
    PasswordSpec,
    ProfileChannel,
    Quirks,
    Register,
    SimulatorConfigError,
    Source,
)
from ._profiles import Profile, get_profile, profiles
from ._pty import PtyServer
from ._setup import build_bus, select_meters
from ._tcp import TcpServer
from ._url import SimulatedPort, open_simulated_port

__all__ = [
    "FRAMING_7E1",
    "FRAMING_8N1",
    "BusConfig",
    "BusEvent",
    "Channel",
    "Clock",
    "ConfigFileError",
    "Demand",
    "Energy",
    "Faults",
    "Fixed",
    "Framing",
    "InProcessTransport",
    "Instant",
    "LineSettings",
    "LoadCurve",
    "LoadProfileSpec",
    "LogbookSpec",
    "ManualClock",
    "MaxDemand",
    "MeterClock",
    "MeterSpec",
    "MeterState",
    "PasswordSpec",
    "Problem",
    "Profile",
    "ProfileChannel",
    "PtyServer",
    "Quirks",
    "Register",
    "ScaledClock",
    "SimulatedLine",
    "SimulatedMeter",
    "SimulatedPort",
    "SimulatorConfigError",
    "Source",
    "TcpServer",
    "Transmit",
    "VirtualBus",
    "build_bus",
    "get_profile",
    "hear",
    "load_config",
    "open_simulated_port",
    "parse_config",
    "profiles",
    "select_meters",
]
