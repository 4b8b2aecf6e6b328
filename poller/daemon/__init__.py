"""The daemon: configuration to running buses, spool, sinks, schedules and endpoints.

``Daemon(config, path).run()`` runs until SIGTERM or SIGINT and reloads on SIGHUP;
``configure_logging`` sets up structlog; ``Notifier`` speaks systemd's notify
protocol; ``Metrics`` and ``StatusServer`` serve ``/metrics`` and ``/healthz``;
``fix_mmap_threshold`` keeps glibc's heap from creeping as the daemon runs.
``DaemonState`` is what a running daemon holds (``Daemon.state``); ``plan_reload``
says what a reload stops, starts and keeps (a ``ReloadPlan``).
"""

from ._http import Health, StatusServer
from ._logging import configure_logging
from ._malloc import fix_mmap_threshold
from ._metrics import Metrics, Sample
from ._notify import Notifier
from ._reload import ReloadPlan, plan_reload
from ._service import EXIT_FAILED, EXIT_OK, Daemon
from ._state import DaemonState

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "Daemon",
    "DaemonState",
    "Health",
    "Metrics",
    "Notifier",
    "ReloadPlan",
    "Sample",
    "StatusServer",
    "configure_logging",
    "fix_mmap_threshold",
    "plan_reload",
]
