"""Ports by URL, through a small registry of schemes.

Built in: device paths (no scheme: ``/dev/ttyUSB0``, ``/dev/serial/by-id/...``, a
pty), ``socket://host:port`` and ``rfc2217://host:port``. Every other scheme
(``sim://PROFILE`` among them) is an entry point in the ``iec_poller.transports``
group naming a ``PortFactory``; the group is read the first time a URL's scheme is
not registered, and only the entry point of that scheme is imported, so importing
the transport imports no simulator and no plug-in that a configuration does not use.
Tests add schemes with ``register_scheme``, which returns the callable that takes
the registration back (serialx's ``register_uri_handler``).

Whatever the scheme, ``port_for_url`` hands out the raw port wrapped in the one
``GatheringPort`` (echo suppression, gathering, bursts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Final

from poller.util import redact_url

from ._gathering import GatheringPort
from ._options import PortOptions
from ._port import Port, PortUnavailableError
from ._rfc2217 import Rfc2217Port
from ._serial import SerialPort
from ._tcp import TcpPort

__all__ = [
    "ENTRY_POINT_GROUP",
    "PortFactory",
    "load_scheme",
    "open_port",
    "port_for_url",
    "port_schemes",
    "raw_port_for_url",
    "register_scheme",
]

ENTRY_POINT_GROUP: Final = "iec_poller.transports"

PortFactory = Callable[[str, PortOptions], Port]
"""Builds an unopened raw port from the whole URL and the port's options.

Echo suppression and gathering are not the factory's: ``port_for_url`` wraps what
it returns in a ``GatheringPort`` with the same options.
"""

_DEVICE: Final = ""  # the registry key of URLs without a scheme
_SCHEMES: dict[str, PortFactory] = {}


def _key(scheme: str) -> str:
    return scheme.lower().removesuffix("://")


def register_scheme(scheme: str, factory: PortFactory) -> Callable[[], None]:
    """Handle ``scheme://`` URLs with ``factory``; returns the unregister callable.

    A scheme registered twice is replaced, and unregistering puts back what it
    replaced, so a test can override ``socket://`` and leave no trace.
    """
    key = _key(scheme)
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


@functools.cache
def _installed() -> tuple[EntryPoint, ...]:
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def load_scheme(scheme: str, points: Iterable[EntryPoint] | None = None) -> PortFactory | None:
    """The factory the entry point named ``scheme`` points at, imported; None if none.

    ``points`` defaults to the installed ``iec_poller.transports`` entry points. Raises
    what the import raises, or ``TypeError`` when the target is not callable.
    """
    key = _key(scheme)
    found = [p for p in (_installed() if points is None else points) if _key(p.name) == key]
    if not found:
        return None
    if len(found) > 1:
        targets = ", ".join(sorted(p.value for p in found))
        raise TypeError(f"{key}:// is registered more than once ({targets})")
    factory = found[0].load()
    if not callable(factory):
        raise TypeError(f"{found[0].value} is not a port factory")
    return factory  # type: ignore[no-any-return]


def port_schemes() -> list[str]:
    """Every scheme a URL may use, built in or installed, without importing any."""
    names = {key for key in _SCHEMES if key != _DEVICE}
    names.update(_key(point.name) for point in _installed())
    return sorted(names)


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
    factory = _SCHEMES.get(key) or _discover(url, key)
    if factory is None:
        raise PortUnavailableError(redact_url(url), f"no transport for {key}:// URLs")
    return factory(url, options or PortOptions())


def _discover(url: str, key: str) -> PortFactory | None:
    if key == _DEVICE:
        return None
    try:
        factory = load_scheme(key)
    except Exception as exc:
        reason = f"transport for {key}:// not loaded: {type(exc).__name__}: {exc}"
        raise PortUnavailableError(redact_url(url), reason) from exc
    if factory is not None:
        register_scheme(key, factory)
    return factory


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


# The transport's own ports stay registered here rather than as entry points: a
# device path has no scheme to name one by, and they must work from a source tree
# whose package metadata is not installed. Entry points are for what the transport
# must not import itself: the simulator, and other packages' transports.
register_scheme(_DEVICE, _device)
register_scheme("socket", _socket)
register_scheme("rfc2217", _rfc2217)
