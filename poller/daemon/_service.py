"""The daemon: every bus, the scheduler, the spool and the sinks in one event loop.

Theory of operation
-------------------
Start-up, in the order that loses nothing: the state directory, the spool (a corrupt
or full file stops the start with a clear error), one dispatcher per sink (each
registers its cursor before any batch can arrive), the profile cursors, one engine
per bus whose ``on_batch`` is ``spool.put`` (durable before the engine moves on),
the scheduler, the HTTP endpoint; then READY=1 to systemd and the watchdog.

The loop then only waits: for SIGTERM/SIGINT (stop) or SIGHUP (reload). A failing
meter, bus, sink or endpoint is logged and reported, never fatal: the others go on.

Stop, in reverse: STOPPING=1; the scheduler stops firing; every engine finishes its
conversation (bounded by the bus's ``stop_timeout``, then aborted, a programming
session still closed with B0); each dispatcher finishes the write it is in (up to a
few seconds) and stops; what no sink has had yet stays in the spool and goes out at
the next start; the spool is closed (WAL checkpointed). Exit status 0.

Reload (SIGHUP): the new file is loaded and validated off the loop; an invalid one is
logged with every problem and the running configuration kept. Otherwise
``plan_reload`` says which buses and sinks change (``_reload``); those are restarted
(a bus's running conversation finished first), the scheduler is rebuilt (next slots
from the clock), and log level and endpoint follow.

What runs (buses, dispatchers, spool, writer, metrics) is one ``DaemonState``, which
``/healthz``, ``/metrics`` and the status line read.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Any, Final

import structlog

from poller.config import BusConfig, Config, ConfigError, load_config
from poller.delivery import SpoolDispatcher, SpoolWriter
from poller.engine import SqliteCursorStore
from poller.schedule import Scheduler, WallClock
from poller.sinks import SinkContext, SinkSettings, UnknownSinkError, build_sink
from poller.spool import Retention, Spool, SpoolError

from ._buses import BusRuntime, start_bus
from ._health import health_report
from ._http import Health, StatusServer
from ._lock import StateLock
from ._logging import configure_logging
from ._metrics import Metrics
from ._notify import Notifier
from ._reload import ReloadPlan, plan_reload, sink_settings
from ._sources import register_sources
from ._state import DaemonState

__all__ = ["EXIT_FAILED", "EXIT_OK", "Daemon"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
# How long a stopping dispatcher may spend on the write it is in; the rest waits in the spool.
_SINK_FLUSH_TIMEOUT: Final = 5.0
_STATUS_INTERVAL: Final = 30.0
_GC_INTERVAL: Final = 60.0

_log = structlog.get_logger("poller.daemon")


class Daemon:
    """Runs ``config`` until stopped; ``config_path`` is re-read on reload."""

    def __init__(
        self,
        config: Config,
        config_path: Path | None = None,
        *,
        notifier: Notifier | None = None,
        wall_clock: WallClock | None = None,
        log_overrides: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.notifier = notifier or Notifier()
        self._wall_clock = wall_clock
        self._log_overrides = log_overrides or {}
        self.state = DaemonState()
        self.scheduler: Scheduler | None = None
        self._cursors: SqliteCursorStore | None = None
        self._http: StatusServer | None = None
        self._lock: StateLock | None = None
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once everything has started (tests wait for it)."""

    # The parts of the state that embedders and tests look at.

    @property
    def metrics(self) -> Metrics:
        return self.state.metrics

    @property
    def buses(self) -> dict[str, BusRuntime]:
        return self.state.buses

    @property
    def spool(self) -> Spool | None:
        return self.state.spool

    # -- control ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    def health(self) -> Health:
        return health_report(self.state)

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (or ``request_stop``); the process's exit status."""
        loop = asyncio.get_running_loop()
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        for sig in handled:
            handler = self.request_reload if sig == signal.SIGHUP else self.request_stop
            loop.add_signal_handler(sig, handler)
        try:
            return await self._run()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _run(self) -> int:
        try:
            await self._start()
        except (SpoolError, OSError) as exc:
            _log.error("start-up failed", error=str(exc))
            self.notifier.send(status=f"start-up failed: {exc}", errno=1)
            await self._shutdown()
            return EXIT_FAILED
        _freeze_start_up_objects()
        self.notifier.ready(self.state.summary())
        self.notifier.start_watchdog()
        self.ready.set()
        _log.info("started", status=self.state.summary())
        chores = [
            asyncio.create_task(self._report_status(), name="status"),
            asyncio.create_task(_collect_garbage(), name="gc"),
        ]
        try:
            while not self._stop.is_set():
                await _first(self._stop.wait(), self._reload.wait())
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self._apply_reload()
                    _refreeze()
        finally:
            for task in chores:
                task.cancel()
            await asyncio.gather(*chores, return_exceptions=True)
            _log.info("stopping")
            self.notifier.stopping()
            await self._shutdown()
            await self.notifier.stop_watchdog()
            self.notifier.close()
            gc.unfreeze()
        _log.info("stopped")
        return EXIT_OK

    # -- start and stop ---------------------------------------------------------------

    async def _start(self) -> None:
        config = self.config
        state = Path(config.state_dir)
        try:
            state.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"state_dir {state}: {exc.strerror or exc}") from None
        self._lock = StateLock(state)
        self._lock.acquire()
        spool = self.state.spool = Spool(state, retention=_retention(config))
        await spool.open()
        self.state.writer = SpoolWriter(spool)
        register_sources(self.state)
        for settings in sink_settings(config).values():
            self._start_sink(settings)
        self._cursors = SqliteCursorStore(state / "cursors.sqlite")
        for bus in config.buses:
            self.state.buses[bus.name] = self._start_bus(bus)
        self._start_scheduler()
        await self._start_http()

    def _start_bus(self, bus_config: BusConfig) -> BusRuntime:
        assert self.state.writer is not None
        assert self._cursors is not None
        return start_bus(
            bus_config,
            on_batch=self.state.writer.put,
            cursors=self._cursors,
            observer=self.state.metrics,
            gate=self.state.session_gate,
        )

    def _start_sink(self, settings: SinkSettings) -> None:
        assert self.state.spool is not None
        sink_id = settings.sink_id
        try:
            sink = build_sink(settings, SinkContext(state_dir=Path(self.config.state_dir)))
        except (UnknownSinkError, ValueError, OSError) as exc:
            # Its batches wait in the spool (under its cursor) until it can be built.
            _log.error("sink not started", sink=sink_id, error=str(exc))
            return
        dispatcher = SpoolDispatcher(self.state.spool, sink)
        dispatcher.start()
        self.state.dispatchers[sink_id] = dispatcher
        self.state.sink_settings[sink_id] = settings

    def _start_scheduler(self) -> None:
        engines = {name: b.engine for name, b in self.buses.items() if b.engine is not None}
        reads = [r for r in self.config.scheduled_reads() if r.bus in engines]
        scheduler = Scheduler(engines, reads, clock=self._wall_clock)
        scheduler.stats = self.state.schedule_stats  # counters live across reloads
        scheduler.start()
        self.scheduler = scheduler

    async def _start_http(self) -> None:
        http = self.config.http
        if not http.enabled:
            return
        server = StatusServer(http.host, http.port, health=self.health, metrics=self.state.metrics)
        try:
            await server.start()
        except OSError as exc:
            # Polling matters more than the endpoint: report, and go on without it.
            _log.error("http endpoint not started", listen=http.listen, error=str(exc))
            return
        self._http = server
        host, port = server.address
        _log.info("http endpoint", url=f"http://{host}:{port}", paths=["/healthz", "/metrics"])

    async def _shutdown(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        state = self.state
        await asyncio.gather(*(b.stop() for b in state.buses.values()))
        if state.writer is not None:
            await state.writer.close()
        await self._stop_sinks(list(state.dispatchers))
        if self._cursors is not None:
            self._cursors.close()
        if state.spool is not None and state.spool.is_open:
            await state.spool.close()
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._lock is not None:
            self._lock.release()

    async def _stop_sinks(self, sink_ids: Iterable[str]) -> None:
        stopping = [self.state.dispatchers.pop(s) for s in sink_ids]
        await asyncio.gather(*(d.stop(timeout=_SINK_FLUSH_TIMEOUT) for d in stopping))
        for d in stopping:
            self.state.sink_settings.pop(d.sink_id, None)

    # -- reload -------------------------------------------------------------------------

    async def _apply_reload(self) -> None:
        if self.config_path is None:
            _log.warning("reload: no configuration file to read")
            return
        self.notifier.reloading()
        try:
            new = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as exc:
            _log.error(
                "reload rejected: the configuration is invalid; the running one is kept",
                problems=[str(p) for p in exc.problems],
            )
            self.notifier.status(f"reload rejected; {self.state.summary()}")
            self.notifier.send(ready=1)
            return
        changes = await self._switch_to(new)
        _log.info("reloaded", **changes)
        self.notifier.send(ready=1, status=self.state.summary())

    async def _switch_to(self, new: Config) -> dict[str, list[str]]:
        state = self.state
        plan = plan_reload(
            self.config,
            new,
            running_sinks=list(state.dispatchers),
            failed_sinks=state.failed_sinks,
            same_bus=lambda running, wanted: state.buses[running.name].same_as(wanted),
        )
        await self._carry_out(plan)
        return plan.changes()

    async def _carry_out(self, plan: ReloadPlan) -> None:
        state = self.state
        if plan.state_dir_kept:
            _log.warning("reload: state_dir changes only at a restart", kept=self.config.state_dir)
        self.config = new = plan.config
        if plan.logging:
            self._configure_logging()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await asyncio.gather(*(state.buses[n].stop() for n in plan.stop_buses))
        for name in plan.stop_buses:
            del state.buses[name]
            state.metrics.remove_bus(name)
        wanted = {b.name: b for b in new.buses}
        for name in plan.start_buses:
            state.buses[name] = self._start_bus(wanted[name])
        await self._stop_sinks(plan.stop_sinks)
        if state.spool is not None:
            for sink_id in plan.forget_sinks:
                state.spool.unregister(sink_id)
        new_sinks = sink_settings(new)
        for sink_id in plan.start_sinks:
            self._start_sink(new_sinks[sink_id])
        self._start_scheduler()
        if plan.http:
            if self._http is not None:
                await self._http.stop()
                self._http = None
            await self._start_http()

    def _configure_logging(self) -> None:
        log = self.config.log
        level = self._log_overrides.get("level", log.level)
        fmt = self._log_overrides.get("format", log.format)
        configure_logging(level, fmt)  # type: ignore[arg-type]

    # -- status ---------------------------------------------------------------------------

    async def _report_status(self) -> None:
        while True:
            await asyncio.sleep(_STATUS_INTERVAL)
            self.notifier.status(self.state.summary())


def _retention(config: Config) -> Retention:
    spool = config.spool
    return Retention(
        max_bytes=int(spool.max_size),
        max_age=spool.max_age.total_seconds(),
        warn_ratio=spool.warn_ratio,
    )


def _freeze_start_up_objects() -> None:
    """Leave what start-up made (modules, configuration, engines) out of the cyclic GC.

    So that ``_collect_garbage`` walks only the daemon's own objects (some 3,000
    rather than 60,000). Collected first, so that start-up's garbage is not kept.
    """
    gc.collect()
    gc.freeze()


def _refreeze() -> None:
    """After a reload: what the old configuration held (a dropped bus, a replaced
    sink) is frozen with start-up's objects and, being in cycles, would stay for
    good. Thawed, collected (one walk of all, some 50 ms) and frozen again."""
    gc.unfreeze()
    _freeze_start_up_objects()


async def _collect_garbage() -> None:
    """A full collection every minute.

    Reference cycles that die old (a failed session's exception, traceback and
    frames; a failed MQTT connect's client) are freed only by a full collection, and
    CPython starts one only after ten of the middle generation: in a daemon that
    allocates little on balance, hours. Until then they pile up; the soak saw RSS
    grow by some 70 KB a cycle. Once a minute bounds them to a minute's worth.
    """
    while True:
        await asyncio.sleep(_GC_INTERVAL)
        gc.collect()


async def _first(*waits: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
