"""Ports by URL, through a small registry of schemes.

Built in: device paths (no scheme: ``/dev/ttyUSB0``, ``/dev/serial/by-id/...``, a
pty), ``socket://host:port``, ``rfc2217://host:port`` and ``sim://PROFILE``. Other
packages (and tests) add schemes with ``register_scheme``, which returns the
callable that takes the registration back (serialx's ``register_uri_handler``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from poller.util import redact_url

from ._gathering import GatheringPort
from ._options import PortOptions
from ._port import Port, PortUnavailableError
from ._rfc2217 import Rfc2217Port
from ._serial import SerialPort
from ._sim import sim_port
from ._tcp import TcpPort

__all__ = ["PortFactory", "open_port", "port_for_url", "raw_port_for_url", "register_scheme"]

PortFactory = Callable[[str, PortOptions], Port]
"""Builds an unopened raw port from the whole URL and the port's options.

Echo suppression and gathering are not the factory's: ``port_for_url`` wraps what
it returns in a ``GatheringPort`` with the same options.
"""

_DEVICE: Final = ""  # the registry key of URLs without a scheme
_SCHEMES: dict[str, PortFactory] = {}


def register_scheme(scheme: str, factory: PortFactory) -> Callable[[], None]:
    """Handle ``scheme://`` URLs with ``factory``; returns the unregister callable.

    A scheme registered twice is replaced, and unregistering puts back what it
    replaced, so a test can override ``socket://`` and leave no trace.
    """
    key = scheme.lower().removesuffix("://")
    previous = _SCHEMES.get(key)
    _SCHEMES[key] = factory

    def unregister() -> None:
        if _SCHEMES.get(key) is not factory:
            return
        if previous is None:
            del _SCHEMES[key]
        else:
            _SCHEMES[key] = previous

    return unregister


def port_for_url(url: str, *, options: PortOptions | None = None) -> GatheringPort:
    """The port ``url`` names, not yet opened; ``PortUnavailableError`` if none can be.

    Whatever the scheme, the raw port comes wrapped in a ``GatheringPort`` that
    applies the options' echo suppression and gathering (``.inner`` is the raw one).
    """
    options = options or PortOptions()
    return GatheringPort(raw_port_for_url(url, options=options), options)


def raw_port_for_url(url: str, *, options: PortOptions | None = None) -> Port:
    """The port the factory registered for ``url``'s scheme builds, unwrapped."""
    scheme, sep, _ = url.partition("://")
    key = scheme.lower() if sep else _DEVICE
    factory = _SCHEMES.get(key)
    if factory is None:
        raise PortUnavailableError(redact_url(url), f"no transport for {key}:// URLs")
    return factory(url, options or PortOptions())


async def open_port(url: str, *, options: PortOptions | None = None) -> GatheringPort:
    """``port_for_url``, opened (300 Bd 7E1, exclusive unless the options say not)."""
    port = port_for_url(url, options=options)
    await port.open()
    return port


def _device(url: str, options: PortOptions) -> Port:
    return SerialPort(url, options=options)


def _socket(url: str, options: PortOptions) -> Port:
    return TcpPort(url, options=options)


def _rfc2217(url: str, options: PortOptions) -> Port:
    return Rfc2217Port(url, options=options)


register_scheme(_DEVICE, _device)
register_scheme("socket", _socket)
register_scheme("rfc2217", _rfc2217)
register_scheme("sim", sim_port)
