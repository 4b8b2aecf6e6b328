"""argparse help formatters that ask for the terminal's width once per process.

argparse builds a formatter for every ``add_argument`` (to check the metavar) and
each one asks ``shutil.get_terminal_size``: environment look-ups and an ioctl, a
quarter of the time ``read`` spends building its parser before it can open the port.
"""

from __future__ import annotations

import argparse
import functools
import shutil

__all__ = ["HelpFormatter", "RawDescriptionHelpFormatter"]


@functools.cache
def _width() -> int:
    # What argparse itself would use: the terminal's columns less a margin of two.
    return shutil.get_terminal_size().columns - 2


class HelpFormatter(argparse.HelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _width() if width is None else width
        )


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps a description's own line breaks (the commands' module docstrings)."""
