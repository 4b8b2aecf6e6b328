"""The ``iec-poller`` command line: one sub-module per command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from poller import __version__

from . import _check_config, _config_schema, _decode, _demo, _read, _run, _simulate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iec-poller",
        description="Read IEC 62056-21 meters and deliver every reading without loss.",
    )
    parser.add_argument("--version", action="version", version=f"iec-poller {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _run.add_parser(commands)
    _read.add_parser(commands)
    _decode.add_parser(commands)
    _simulate.add_parser(commands)
    _demo.add_parser(commands)
    _check_config.add_parser(commands)
    _config_schema.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
