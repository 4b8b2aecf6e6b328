"""``DaemonState``: what health, metrics and the status line read, a failed sink included."""

from __future__ import annotations

from pathlib import Path

from poller.daemon import DaemonState
from poller.daemon._health import health_report
from poller.daemon._sources import register_sources
from poller.delivery import SpoolDispatcher
from poller.spool import Spool

from ..delivery.helpers import FatalSink
from ..sinks.helpers import batch
from ..spool.helpers import NO_WAIT, ScriptedSink


def test_an_empty_state_is_healthy_and_says_so(tmp_path: Path) -> None:
    state = DaemonState()
    register_sources(state)
    health = health_report(state)
    assert health.healthy
    assert health.body["status"] == "ok"
    assert "spool" not in health.body  # none open yet
    assert state.summary() == "0 buses (0 up), 0 meters (0 failing)"
    assert b"iec_poller_sink_failed" in state.metrics.exposition()


async def test_a_failed_sink_is_reported_with_its_reason(tmp_path: Path) -> None:
    async def main() -> tuple[DaemonState, bytes, dict[str, object], str]:
        async with Spool(tmp_path) as spool:
            state = DaemonState(spool=spool)
            register_sources(state)
            await spool.put(batch(0))
            failing = SpoolDispatcher(spool, FatalSink(), backoff=NO_WAIT)
            ok_sink = ScriptedSink()
            ok_sink.config = ok_sink.config.model_copy(update={"name": "fine"})
            working = SpoolDispatcher(spool, ok_sink, backoff=NO_WAIT)
            state.dispatchers = {"scripted": failing, "fine": working}
            await failing.drain()
            await working.drain()
            health = health_report(state)
            exposition = state.metrics.exposition()
            summary = state.summary()
            await failing.stop()
            await working.stop()
            return state, exposition, health.body, summary

    state, exposition, body, summary = await main()
    sinks = {s["name"]: s for s in body["sinks"]}  # type: ignore[attr-defined]
    assert sinks["scripted"]["failed"] == "SinkFatalError: login refused for user reader"
    assert sinks["fine"]["failed"] is None
    assert body["status"] == "degraded"
    assert state.failed_sinks == frozenset({"scripted"})
    assert summary.endswith("sinks failed: scripted")
    text = exposition.decode()
    assert (
        'iec_poller_sink_failed{reason="SinkFatalError: login refused for user reader",'
        'sink="scripted"} 1.0'
    ) in text
    assert 'iec_poller_sink_failed{reason="",sink="fine"} 0.0' in text
