"""iec-poller: reads meters over IEC 62056-21 and delivers every reading without loss.

The API for programs that embed it is these names; everything else is private::

    import poller

    async with poller.Meter("/dev/ttyUSB0", address="31002781", timeout=60) as meter:
        batch = await meter.read()
    for reading in batch.readings:
        print(reading.obis, reading.value, reading.unit)

    meters = [poller.MeterSettings(address="31002781"), poller.MeterSettings(address="31002782")]
    async with poller.BusEngine("bus-1", "socket://10.0.0.5:4001", meters) as engine:
        stream = engine.batches()
        engine.submit_all()
        async for batch in stream:
            ...

The names are loaded on first use (PEP 562), so ``import poller`` stays as light as
the command line needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

__version__ = "0.1.0"

if TYPE_CHECKING:
    from poller.engine import (
        BatchStream,
        BusEngine,
        EngineOptions,
        Meter,
        MeterInUseError,
        MeterSettings,
        ReadFailedError,
        ReadKind,
    )
    from poller.protocol import ObisCode, Password, ProtocolError
    from poller.readings import (
        BatchContext,
        Failure,
        FailureKind,
        Quality,
        Reading,
        ReadingBatch,
    )
    from poller.transport import PortError

_WHERE: Final = {
    "BatchStream": "poller.engine",
    "BusEngine": "poller.engine",
    "EngineOptions": "poller.engine",
    "Meter": "poller.engine",
    "MeterInUseError": "poller.engine",
    "MeterSettings": "poller.engine",
    "ReadFailedError": "poller.engine",
    "ReadKind": "poller.engine",
    "ObisCode": "poller.protocol",
    "Password": "poller.protocol",
    "ProtocolError": "poller.protocol",
    "BatchContext": "poller.readings",
    "Failure": "poller.readings",
    "FailureKind": "poller.readings",
    "Quality": "poller.readings",
    "Reading": "poller.readings",
    "ReadingBatch": "poller.readings",
    "PortError": "poller.transport",
}

__all__ = [
    "BatchContext",
    "BatchStream",
    "BusEngine",
    "EngineOptions",
    "Failure",
    "FailureKind",
    "Meter",
    "MeterInUseError",
    "MeterSettings",
    "ObisCode",
    "Password",
    "PortError",
    "ProtocolError",
    "Quality",
    "ReadFailedError",
    "ReadKind",
    "Reading",
    "ReadingBatch",
    "__version__",
]


if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above: a misspelt name is
    # an error there, not an ``Any``.

    def __getattr__(name: str) -> Any:
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module 'poller' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # the next lookup does not come here
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
