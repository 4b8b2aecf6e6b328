"""One configured bus at run time: its engine, built from its configuration.

A bus whose engine cannot even be built (a ``sim://`` file that vanished since the
configuration was checked) is kept as a failed bus: it is reported by ``/healthz``
and the logs, and every other bus runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from poller.config import BusConfig
from poller.engine import (
    BusEngine,
    CursorStore,
    EngineObserver,
    MeterSettings,
    OnBatch,
    SessionGate,
)
from poller.transport import Port, PortError, port_for_url
from poller.util import redact_url

__all__ = ["BusRuntime", "start_bus"]

_log = structlog.get_logger("poller.daemon")


@dataclass(slots=True)
class BusRuntime:
    config: BusConfig
    settings: list[MeterSettings]
    engine: BusEngine | None
    error: str | None = None
    """Why the bus could not start (None while it runs)."""
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = redact_url(self.config.port)

    @property
    def name(self) -> str:
        return self.config.name

    def same_as(self, config: BusConfig) -> bool:
        """Whether ``config`` (from a reload) would run this bus exactly as it runs.

        Compared on the built meter settings too, which hold the passwords read from
        ``password_file``: a changed secret restarts the bus like any other change.
        """
        return config == self.config and config.meter_settings() == self.settings

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop(graceful=True)


def start_bus(
    config: BusConfig,
    *,
    on_batch: OnBatch,
    cursors: CursorStore,
    observer: EngineObserver,
    gate: SessionGate | None = None,
) -> BusRuntime:
    """Build and start the bus's engine; a bus that cannot be built is returned failed."""
    settings = config.meter_settings()
    options = config.port_options()

    def open_port() -> Port:
        return port_for_url(config.port, options=options)

    try:
        engine = BusEngine(
            config.name,
            open_port,
            settings,
            on_batch=on_batch,
            options=config.engine_options(),
            cursors=cursors,
            observer=observer,
            gate=gate,
        )
    except (PortError, ValueError, OSError) as exc:
        runtime = BusRuntime(config, settings, None, error=str(exc))
        _log.error("bus not started", bus=config.name, url=runtime.url, error=str(exc))
        return runtime
    engine.start()
    return BusRuntime(config, settings, engine)
