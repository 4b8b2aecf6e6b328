"""The ``iec-poller`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from poller import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iec-poller",
        description="Read IEC 62056-21 meters and deliver every reading without loss.",
    )
    parser.add_argument("--version", action="version", version=f"iec-poller {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0
