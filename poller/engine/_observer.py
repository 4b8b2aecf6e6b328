"""What a bus engine tells the outside about its work, for metrics and health.

Logs say what happened in words; an observer gets the same moments as calls, so
the daemon can count them (Prometheus) without parsing logs. Every method has a
no-op default: an observer implements what it needs. Observers must not raise or
block; an exception is logged and ignored by the engine.
"""

from __future__ import annotations

from poller.readings import ReadingBatch

__all__ = ["EngineObserver"]


class EngineObserver:
    """Base with no-op hooks; subclass and override."""

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
        """One conversation ended (a retry is a new one); ``duration`` in bus seconds."""

    def batch_settled(self, batch: ReadingBatch) -> None:
        """A job's final batch: success, or failure after its retries."""

    def port_opened(self, bus: str, url: str) -> None:
        """The bus's port is open (at start, and after each loss)."""

    def port_failed(self, bus: str, url: str, reason: str) -> None:
        """An open failed, or the port was lost under a session."""
