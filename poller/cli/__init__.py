"""The ``iec-poller`` command line: one sub-module per command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final

from poller import __version__

from ._help import HelpFormatter

# Each command's module, in the order ``--help`` lists them. Only the module of the
# command that runs is imported: ``run`` brings the configuration models, the sinks
# and their clients, about half a second of imports that ``read`` and ``decode`` do
# not need before they can start.
_COMMANDS: Final[dict[str, str]] = {
    "run": "_run",
    "read": "_read",
    "decode": "_decode",
    "simulate": "_simulate",
    "demo": "_demo",
    "check-config": "_check_config",
    "config-schema": "_config_schema",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``only`` the one command that will run.

    A command's own parser never depends on the others, so ``main`` builds just the
    one named: argparse spends a formatter and a few gettext look-ups on every
    argument, which for all commands is milliseconds before ``read`` touches the port.
    """
    parser = argparse.ArgumentParser(
        prog="iec-poller",
        description="Read IEC 62056-21 meters and deliver every reading without loss.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"iec-poller {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"{__name__}.{module}").add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The top level has only options that exit (--help, --version), so a command
    # named first is the one that runs; anything else (help, an error) gets them all.
    first = args_list[0] if args_list else None
    parser = build_parser(first if first in _COMMANDS else None)
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.run(args)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return status
