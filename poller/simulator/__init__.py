"""A virtual RS-485 bus of IEC 62056-21 meters, for tests, demos and development.

Meters are data (``MeterSpec``, built-in ``profiles()``); ``SimulatedMeter`` speaks
the meter side of the protocol sans-I/O on simulated time; ``VirtualBus`` puts
several on one half-duplex line with collisions and rate mismatches; and
``InProcessTransport`` lets asyncio code talk to the bus with no file descriptors,
and ``PtyServer`` serves it on a pseudo-terminal for any serial program.
"""

from ._bus import BusEvent, VirtualBus
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

__all__ = [
    "FRAMING_7E1",
    "FRAMING_8N1",
    "BusEvent",
    "Channel",
    "Clock",
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
    "Profile",
    "ProfileChannel",
    "PtyServer",
    "Quirks",
    "Register",
    "ScaledClock",
    "SimulatedLine",
    "SimulatedMeter",
    "SimulatorConfigError",
    "Source",
    "Transmit",
    "VirtualBus",
    "get_profile",
    "hear",
    "profiles",
]
