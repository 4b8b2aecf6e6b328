"""The daemon's state as scraped metrics: meters, spool, sinks and schedules.

Read at every scrape from the objects that hold the truth, so a restarted bus or
sink can never leave a stale series behind.
"""

from __future__ import annotations

from collections.abc import Iterator

from poller.engine import MeterState

from ._metrics import Sample
from ._state import DaemonState

__all__ = ["register_sources"]

_STATES = tuple(state.value for state in MeterState)
# A label is no place for a long text; the whole reason is in /healthz and the log.
_REASON_CHARS = 120


def register_sources(state: DaemonState) -> None:
    """Register, in ``state.metrics``, the scraped series that read ``state``."""
    m = state.metrics

    def meter_states() -> Iterator[Sample]:
        for bus in state.buses.values():
            if bus.engine is None:
                continue
            for status in bus.engine.statuses():
                for name in _STATES:
                    labels = {"bus": bus.name, "meter": status.address, "state": name}
                    yield Sample(labels, 1.0 if status.state.value == name else 0.0)

    def bus_up() -> Iterator[Sample]:
        for bus in state.buses.values():
            engine = bus.engine
            up = engine is not None and engine.running and engine.port.is_open
            yield Sample({"bus": bus.name}, 1.0 if up else 0.0)

    def spool_gauge(field: str) -> Iterator[Sample]:
        spool = state.open_spool
        if spool is not None:
            yield Sample({}, float(getattr(spool.stats(), field)))

    def sink_gauge(field: str) -> Iterator[Sample]:
        spool = state.open_spool
        if spool is None:
            return
        for sink_id, stats in spool.stats().sinks.items():
            yield Sample({"sink": sink_id}, float(getattr(stats, field)))

    def sink_counter(field: str) -> Iterator[Sample]:
        spool = state.open_spool
        if spool is None:
            return
        for sink_id, stats in spool.stats().sinks.items():
            yield Sample({"sink": sink_id}, float(getattr(stats.counters, field)))

    def sink_failed() -> Iterator[Sample]:
        for sink_id, dispatcher in state.dispatchers.items():
            reason = dispatcher.failed
            labels = {"sink": sink_id, "reason": (reason or "")[:_REASON_CHARS]}
            yield Sample(labels, 0.0 if reason is None else 1.0)

    def missed_slots() -> Iterator[Sample]:
        for (bus, meter), count in state.schedule_stats.missed_slots.items():
            yield Sample({"bus": bus, "meter": meter}, float(count))

    def overruns() -> Iterator[Sample]:
        for bus, count in state.schedule_stats.cycle_overruns.items():
            yield Sample({"bus": bus}, float(count))

    def backlog() -> Iterator[Sample]:
        if state.writer is not None:
            yield Sample({}, float(state.writer.depth))

    def backlog_dropped() -> Iterator[Sample]:
        if state.writer is not None:
            yield Sample({}, float(state.writer.dropped_readings))

    m.add_gauge(
        "iec_poller_memory_backlog_batches",
        "Batches waiting in memory because the spool cannot store (disk full).",
        [],
        backlog,
    )
    m.add_counter(
        "iec_poller_memory_backlog_dropped_readings",
        "Readings dropped from the memory backlog while the spool could not store.",
        [],
        backlog_dropped,
    )
    m.add_counter(
        "iec_poller_sessions_deferred",
        "Sign-ons held back because the event loop was late (an overloaded host).",
        [],
        lambda: iter([Sample({}, float(state.session_gate.deferred))]),
    )
    m.add_gauge("iec_poller_bus_up", "1 while the bus runs with its port open.", ["bus"], bus_up)
    m.add_gauge(
        "iec_poller_meter_state",
        "1 for the meter's current state (unknown, ok, failing, unreachable).",
        ["bus", "meter", "state"],
        meter_states,
    )
    m.add_gauge(
        "iec_poller_spool_readings",
        "Readings held in the spool.",
        [],
        lambda: spool_gauge("readings"),
    )
    m.add_gauge(
        "iec_poller_spool_bytes", "Size of the spooled batches.", [], lambda: spool_gauge("bytes")
    )
    m.add_gauge(
        "iec_poller_spool_fill_ratio",
        "How close the spool is to its retention limit (1: at the limit).",
        [],
        lambda: spool_gauge("fill_ratio"),
    )
    m.add_counter(
        "iec_poller_spool_dropped_readings",
        "Readings dropped by retention before every sink had them.",
        [],
        lambda: spool_gauge("dropped_readings"),
    )
    m.add_gauge(
        "iec_poller_sink_depth_readings",
        "Readings a sink has not yet had (spool depth).",
        ["sink"],
        lambda: sink_gauge("depth_readings"),
    )
    m.add_gauge(
        "iec_poller_sink_lag_seconds",
        "Age of the oldest reading a sink has not yet had.",
        ["sink"],
        lambda: sink_gauge("lag_seconds"),
    )
    m.add_counter(
        "iec_poller_sink_delivered_readings",
        "Readings a sink stored.",
        ["sink"],
        lambda: sink_counter("delivered_readings"),
    )
    m.add_counter(
        "iec_poller_sink_rejected_readings",
        "Readings a sink refused as bad data (kept aside in the spool).",
        ["sink"],
        lambda: sink_counter("rejected_readings"),
    )
    m.add_gauge(
        "iec_poller_sink_failed",
        "1 while a sink is stopped by a fatal error (its readings wait for a reload).",
        ["sink", "reason"],
        sink_failed,
    )
    m.add_counter(
        "iec_poller_missed_slots",
        "Schedule slots a meter was not read in.",
        ["bus", "meter"],
        missed_slots,
    )
    m.add_counter(
        "iec_poller_cycle_overruns",
        "Schedule slots that came while the bus was still busy with the previous one.",
        ["bus"],
        overruns,
    )
