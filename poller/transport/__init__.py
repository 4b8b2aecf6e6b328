"""Ports: the byte carriers under the bus engine (serial devices, TCP, the simulator)."""

from ._port import Clock, Port, PortClosedError, PortError, PortUnavailableError

__all__ = ["Clock", "Port", "PortClosedError", "PortError", "PortUnavailableError"]
