"""Reload planning: which buses and sinks a SIGHUP stops, starts and keeps.

A pure function of the running configuration and the new one (and of what the
daemon knows only at run time: which sinks run, which failed, whether a bus would
run differently), so that every case is a line of a table test. ``Daemon`` carries
the plan out.

The rules:

* ``state_dir`` changes only at a restart: the plan keeps the running one.
* A bus is restarted when its configuration differs (``same_bus`` says: the daemon
  also compares the meter settings built from ``password_file``), removed when it
  is gone, started when it is new; an unchanged bus runs on, its conversation
  undisturbed.
* A sink is restarted when its settings differ, or when it stopped on a fatal error
  (the operator reloads once the cause is fixed, in the file or at the destination);
  one that is gone is stopped and its spool cursor forgotten; one configured but
  not running (it could not be built) is started again.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass

from poller.config import BusConfig, Config
from poller.sinks import SinkSettings

__all__ = ["ReloadPlan", "plan_reload"]


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    config: Config
    """The configuration to run: the new one, with the running ``state_dir``."""
    state_dir_kept: bool
    """The new file named another ``state_dir``; it was not taken."""
    stop_buses: tuple[str, ...] = ()
    start_buses: tuple[str, ...] = ()
    stop_sinks: tuple[str, ...] = ()
    forget_sinks: tuple[str, ...] = ()
    """Stopped and no longer configured: their spool cursors go."""
    start_sinks: tuple[str, ...] = ()
    logging: bool = False
    """The log settings changed."""
    http: bool = False
    """The endpoint's settings changed: it is restarted."""

    def changes(self) -> dict[str, list[str]]:
        """What the ``reloaded`` log line reports."""
        stopped, started = set(self.stop_buses), set(self.start_buses)
        return {
            "buses_restarted": sorted(stopped & started),
            "buses_removed": sorted(stopped - started),
            "buses_added": sorted(started - stopped),
            "sinks_restarted": sorted(self.stop_sinks),
        }


def sink_settings(config: Config) -> dict[str, SinkSettings]:
    """The configuration's sinks by id."""
    return {s.sink_id: s for s in config.sinks if isinstance(s, SinkSettings)}


def plan_reload(
    old: Config,
    new: Config,
    *,
    running_sinks: Collection[str] | None = None,
    failed_sinks: Collection[str] = (),
    same_bus: Callable[[BusConfig, BusConfig], bool] = operator.eq,
) -> ReloadPlan:
    """The plan for switching from ``old`` to ``new``.

    ``running_sinks``: the sinks that run (None: all of ``old``'s); ``failed_sinks``:
    those stopped on a fatal error; ``same_bus(running, wanted)``: whether a bus
    would run exactly as it runs.
    """
    kept = new.state_dir != old.state_dir
    if kept:
        new = new.model_copy(update={"state_dir": old.state_dir})
    running = {b.name: b for b in old.buses}
    wanted = {b.name: b for b in new.buses}
    stop_buses = [n for n, b in running.items() if n not in wanted or not same_bus(b, wanted[n])]
    start_buses = [n for n in wanted if n not in running or n in stop_buses]

    old_sinks, new_sinks = sink_settings(old), sink_settings(new)
    live = list(old_sinks) if running_sinks is None else list(running_sinks)
    stop_sinks = [s for s in live if old_sinks.get(s) != new_sinks.get(s) or s in failed_sinks]
    staying = set(live) - set(stop_sinks)
    return ReloadPlan(
        config=new,
        state_dir_kept=kept,
        stop_buses=tuple(stop_buses),
        start_buses=tuple(start_buses),
        stop_sinks=tuple(stop_sinks),
        forget_sinks=tuple(s for s in stop_sinks if s not in new_sinks),
        start_sinks=tuple(s for s in new_sinks if s not in staying),
        logging=new.log != old.log,
        http=new.http != old.http,
    )
