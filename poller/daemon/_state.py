"""The running daemon's state: one object that health, metrics and the status read.

``Daemon`` changes it (start-up, reload, shutdown); ``/healthz`` (``_health``), the
scraped metrics (``_sources``) and the systemd status line (``summary``) only read
it, at the moment they are asked, so they can never report a bus or sink that a
reload has replaced. It holds no task and does no I/O of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from poller.delivery import SpoolDispatcher, SpoolWriter
from poller.engine import SessionGate
from poller.schedule import ScheduleStats
from poller.sinks import SinkSettings
from poller.spool import Spool

from ._buses import BusRuntime
from ._metrics import Metrics

__all__ = ["DaemonState"]


@dataclass(slots=True)
class DaemonState:
    metrics: Metrics = field(default_factory=Metrics)
    buses: dict[str, BusRuntime] = field(default_factory=dict)
    dispatchers: dict[str, SpoolDispatcher] = field(default_factory=dict)
    sink_settings: dict[str, SinkSettings] = field(default_factory=dict)
    """The settings each running dispatcher's sink was built from."""
    spool: Spool | None = None
    writer: SpoolWriter | None = None
    schedule_stats: ScheduleStats = field(default_factory=ScheduleStats)
    """Counters that live across reloads (each new scheduler is given them)."""
    session_gate: SessionGate = field(default_factory=SessionGate)
    """One for every bus: they share the event loop, and its punctuality."""
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def open_spool(self) -> Spool | None:
        """The spool while it is open (None before start-up and after shutdown)."""
        spool = self.spool
        return spool if spool is not None and spool.is_open else None

    @property
    def failed_sinks(self) -> frozenset[str]:
        """Sinks stopped by a fatal error, waiting for a reload."""
        return frozenset(s for s, d in self.dispatchers.items() if d.failed is not None)

    def summary(self) -> str:
        """One line for systemd's status and the logs."""
        buses = list(self.buses.values())
        up = sum(1 for b in buses if b.engine is not None and b.engine.port.is_open)
        meters = sum(len(b.settings) for b in buses)
        failing = sum(
            1
            for b in buses
            if b.engine is not None
            for m in b.engine.statuses()
            if m.state.value in ("failing", "unreachable")
        )
        text = f"{len(buses)} buses ({up} up), {meters} meters ({failing} failing)"
        spool = self.open_spool
        if spool is not None:
            stats = spool.stats()
            lag = max((s.depth_readings for s in stats.sinks.values()), default=0)
            text += f", {lag} readings waiting for a sink"
        failed = self.failed_sinks
        if failed:
            text += f", sinks failed: {', '.join(sorted(failed))}"
        return text
