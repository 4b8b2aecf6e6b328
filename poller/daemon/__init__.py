"""The daemon: configuration to running buses, spool, sinks, schedules and endpoints.

``Daemon(config, path).run()`` runs until SIGTERM or SIGINT and reloads on SIGHUP;
``configure_logging`` sets up structlog; ``Notifier`` speaks systemd's notify
protocol; ``Metrics`` and ``StatusServer`` serve ``/metrics`` and ``/healthz``;
``fix_mmap_threshold`` keeps glibc's heap from creeping as the daemon runs.
"""

from ._http import Health, StatusServer
from ._logging import configure_logging
from ._malloc import fix_mmap_threshold
from ._metrics import Metrics, Sample
from ._notify import Notifier
from ._service import EXIT_FAILED, EXIT_OK, Daemon

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "Daemon",
    "Health",
    "Metrics",
    "Notifier",
    "Sample",
    "StatusServer",
    "configure_logging",
    "fix_mmap_threshold",
]
