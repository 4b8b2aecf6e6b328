"""What ``/healthz`` says: every bus, every meter, the spool and every sink.

A bus is down when its engine is not running or its port is not open (an unplugged
adapter being reopened with backoff); then the answer is 503 so that a container
orchestrator or a monitoring probe notices. Meters that fail and sinks that lag do
not make the daemon unhealthy (the daemon can do nothing about a broken meter or a
broker that is down, and restarting it would not help): they are reported, and
``status`` says ``degraded``. So does a sink that failed for good (``failed``: a
fatal error, such as credentials refused; it waits for a reload).
"""

from __future__ import annotations

from typing import Any

from poller.delivery import SpoolDispatcher
from poller.engine import MeterState
from poller.spool import Spool

from ._buses import BusRuntime
from ._http import Health
from ._state import DaemonState

__all__ = ["health_report"]


def health_report(state: DaemonState) -> Health:
    spool = state.open_spool
    bus_reports = [_bus(b) for b in state.buses.values()]
    sinks = [_sink(d, spool) for d in state.dispatchers.values()]
    down = any(not b["up"] for b in bus_reports)
    degraded = any(
        m["state"] in (MeterState.FAILING.value, MeterState.UNREACHABLE.value)
        for b in bus_reports
        for m in b["meters"]
    ) or any(s["failures"] for s in sinks)
    body: dict[str, Any] = {
        "status": "down" if down else "degraded" if degraded else "ok",
        "started": state.started.isoformat(),
        "buses": bus_reports,
        "sinks": sinks,
    }
    if spool is not None:
        stats = spool.stats()
        body["spool"] = {
            "batches": stats.batches,
            "readings": stats.readings,
            "bytes": stats.bytes,
            "fill_ratio": round(stats.fill_ratio, 4),
            "near_limit": stats.near_limit,
            "dropped_readings": stats.dropped_readings,
        }
    return Health(healthy=not down, body=body)


def _bus(bus: BusRuntime) -> dict[str, Any]:
    engine = bus.engine
    running = engine is not None and engine.running
    port_open = engine is not None and engine.port.is_open
    meters = engine.statuses() if engine is not None else []
    return {
        "name": bus.name,
        "port": bus.url,
        "up": running and port_open,
        "running": running,
        "port_open": port_open,
        "error": bus.error,
        "meters": [
            {
                "address": m.address,
                "name": m.name,
                "state": m.state.value,
                "last_success": m.last_success.isoformat() if m.last_success else None,
                "last_error": m.last_error,
                "consecutive_failures": m.consecutive_failures,
                "baud": m.last_baud,
            }
            for m in meters
        ],
    }


def _sink(dispatcher: SpoolDispatcher, spool: Spool | None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "name": dispatcher.sink_id,
        "type": dispatcher.sink.settings.type,
        "failures": dispatcher.failures,
        "last_error": dispatcher.last_error,
        "failed": dispatcher.failed,
    }
    if spool is not None:
        stats = spool.stats().sinks.get(dispatcher.sink_id)
        if stats is not None:
            report["depth_readings"] = stats.depth_readings
            report["lag_seconds"] = round(stats.lag_seconds, 3)
    return report
