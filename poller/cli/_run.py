"""``iec-poller run --config FILE``: the daemon.

Reads every meter of every bus on its schedule and delivers the readings through the
durable spool to the sinks, until SIGTERM or SIGINT (exit 0 once the running
conversations are closed and the readings are in the spool). SIGHUP reloads the
configuration: an invalid file is rejected, the running configuration kept, and only
changed buses restart. Under systemd (Type=notify) it reports READY, STATUS and
STOPPING and feeds the watchdog.

Exit status: 0 stopped cleanly; 1 start-up failed (state directory, spool); 2 the
configuration is invalid (every problem printed to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Final

from poller.config import ConfigError, load_config
from poller.daemon import Daemon, configure_logging, fix_mmap_threshold

from ._help import RawDescriptionHelpFormatter

__all__ = ["DEFAULT_CONFIG", "EXIT_INVALID_CONFIG", "add_parser", "run"]

DEFAULT_CONFIG: Final = "/etc/iec-poller/config.yaml"
EXIT_INVALID_CONFIG: Final = 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run",
        help="run the daemon: poll every meter on its schedule, deliver every reading",
        description=__doc__,
        formatter_class=RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(DEFAULT_CONFIG),
        metavar="FILE",
        help=f"the configuration file (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="override the configuration's log.level",
    )
    parser.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        help="override log.format (auto: JSON off a terminal, text on one)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fix_mmap_threshold()
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{args.config}: invalid configuration, not started", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    overrides = {
        key: value
        for key, value in (("level", args.log_level), ("format", args.log_format))
        if value is not None
    }
    configure_logging(
        overrides.get("level", config.log.level),
        overrides.get("format", config.log.format),
    )
    daemon = Daemon(config, args.config, log_overrides=overrides)
    return asyncio.run(daemon.run())
