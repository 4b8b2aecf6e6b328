"""Prometheus metrics of the daemon, fed by the bus engines' observer hooks.

Counters and histograms move as the engines report (``EngineObserver``); values that
are states rather than events (a meter's state, spool depth, sink lag, missed
slots) are read when Prometheus scrapes, from callables the daemon registers, so
they can never drift from the truth.

Names follow Prometheus conventions: ``_total`` counters, base units (seconds),
labels ``bus`` and ``meter`` (the meter's address: its serial number, stable across
renames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from poller.engine import EngineObserver
from poller.readings import ReadingBatch

__all__ = ["Metrics", "Sample", "SampleSource"]

# From a 20 ms-reaction meter read at 19200 Bd to a day of profile at 300 Bd.
_DURATION_BUCKETS = (0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300)


@dataclass(frozen=True, slots=True)
class Sample:
    labels: dict[str, str]
    value: float


SampleSource = Callable[[], Iterable[Sample]]


class Metrics(EngineObserver):
    """The daemon's registry and the engine observer that fills it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # The usual process_* (resident memory, CPU, open fds), python_gc_* and
        # python_info series: a daemon left alone for months is watched by these.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.sessions = Counter(
            "iec_poller_sessions",
            "Conversations with meters, by result (a retry is a new one).",
            ["bus", "meter", "result"],
            registry=r,
        )
        self.reads = Counter(
            "iec_poller_reads",
            "Jobs finished, by result: ok, or failed after every retry.",
            ["bus", "meter", "result"],
            registry=r,
        )
        self.readings = Counter(
            "iec_poller_readings", "Readings taken.", ["bus", "meter"], registry=r
        )
        self.retries = Counter(
            "iec_poller_retries", "Sessions requeued after a failure.", ["bus", "meter"], registry=r
        )
        self.session_seconds = Histogram(
            "iec_poller_session_duration_seconds",
            "Time on the bus per conversation.",
            ["bus"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.busy_seconds = Counter(
            "iec_poller_bus_busy_seconds",
            "Seconds the bus spent in conversations; its rate is the bus utilisation.",
            ["bus"],
            registry=r,
        )
        self.port_failures = Counter(
            "iec_poller_port_failures",
            "Port opens that failed and ports lost under a session.",
            ["bus"],
            registry=r,
        )
        self.port_up = Gauge(
            "iec_poller_port_up", "1 while the bus's port is open.", ["bus"], registry=r
        )
        self.last_success = Gauge(
            "iec_poller_meter_last_success_timestamp_seconds",
            "Unix time of the meter's last successful read.",
            ["bus", "meter"],
            registry=r,
        )
        self._sources = _Sources()
        r.register(self._sources)

    # -- EngineObserver ----------------------------------------------------------------

    def session_ended(
        self,
        bus: str,
        meter: str,
        *,
        ok: bool,
        duration: float,
        error_type: str | None,
        will_retry: bool,
    ) -> None:
        self.sessions.labels(bus, meter, "ok" if ok else "failed").inc()
        self.session_seconds.labels(bus).observe(duration)
        self.busy_seconds.labels(bus).inc(max(duration, 0.0))
        if will_retry:
            self.retries.labels(bus, meter).inc()

    def batch_settled(self, batch: ReadingBatch) -> None:
        self.reads.labels(batch.bus, batch.meter, "ok" if batch.ok else "failed").inc()
        if batch.ok:
            self.readings.labels(batch.bus, batch.meter).inc(len(batch.readings))
            self.last_success.labels(batch.bus, batch.meter).set(batch.taken_at.timestamp())

    def port_opened(self, bus: str, url: str) -> None:
        self.port_up.labels(bus).set(1)

    def port_failed(self, bus: str, url: str, reason: str) -> None:
        self.port_failures.labels(bus).inc()
        self.port_up.labels(bus).set(0)

    # -- scraped states ----------------------------------------------------------------

    def add_gauge(
        self, name: str, documentation: str, labels: list[str], source: SampleSource
    ) -> None:
        """A gauge whose samples ``source`` gives at every scrape."""
        self._sources.add(name, documentation, labels, source, counter=False)

    def add_counter(
        self, name: str, documentation: str, labels: list[str], source: SampleSource
    ) -> None:
        """A counter kept elsewhere (the scheduler, the spool), read at every scrape."""
        self._sources.add(name, documentation, labels, source, counter=True)

    def remove_bus(self, bus: str) -> None:
        """Forget a bus's labelled series (it was removed by a reload)."""
        for metric in (self.port_up, self.session_seconds, self.busy_seconds, self.port_failures):
            try:
                metric.remove(bus)
            except KeyError:
                continue

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(frozen=True, slots=True)
class _Source:
    name: str
    documentation: str
    labels: list[str]
    source: SampleSource
    counter: bool


class _Sources(Collector):
    def __init__(self) -> None:
        self._sources: dict[str, _Source] = {}

    def add(
        self,
        name: str,
        documentation: str,
        labels: list[str],
        source: SampleSource,
        *,
        counter: bool,
    ) -> None:
        self._sources[name] = _Source(name, documentation, labels, source, counter)

    def describe(self) -> Iterator[Metric]:
        # Nothing up front: the names are registered after the registry is built.
        return iter(())

    def collect(self) -> Iterator[Metric]:
        for item in list(self._sources.values()):
            family: CounterMetricFamily | GaugeMetricFamily
            if item.counter:
                family = CounterMetricFamily(item.name, item.documentation, labels=item.labels)
            else:
                family = GaugeMetricFamily(item.name, item.documentation, labels=item.labels)
            for sample in item.source():
                family.add_metric([sample.labels.get(k, "") for k in item.labels], sample.value)
            yield family
