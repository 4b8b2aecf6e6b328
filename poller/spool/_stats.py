"""What the metrics endpoint reads from the spool: gauges and counters, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SinkCounters", "SinkStats", "SpoolStats"]


@dataclass(slots=True)
class SinkCounters:
    """Counted since the spool was opened (Prometheus counters start again at a restart)."""

    delivered_batches: int = 0
    delivered_readings: int = 0
    skipped_batches: int = 0
    """Batches with no reading for this sink (failed sessions, filtered out)."""
    rejected_readings: int = 0
    dropped_batches: int = 0
    """Batches deleted by retention before this sink had them."""
    dropped_readings: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkStats:
    sink_id: str
    depth_batches: int
    """Batches this sink has not yet had (gauge)."""
    depth_readings: int
    lag_seconds: float
    """Age of the oldest batch this sink has not yet had; 0 when it is up to date."""
    counters: SinkCounters


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolStats:
    batches: int
    readings: int
    bytes: int
    """Encoded size of the stored batches, the quantity ``max_bytes`` limits."""
    max_bytes: int
    oldest_age: float
    max_age: float
    fill_ratio: float
    """The larger of bytes / max_bytes and oldest_age / max_age."""
    near_limit: bool
    """``fill_ratio`` at or past the warning threshold."""
    puts: int
    failed_batches: int
    """Batches of failed sessions put since the spool was opened."""
    dropped_batches: int
    dropped_readings: int
    sinks: dict[str, SinkStats] = field(default_factory=dict)
