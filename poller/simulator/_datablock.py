"""The text the simulated meters write and the command data they parse.

Data sets are written by the protocol core's codec (``format_data_block``), so the
meters write exactly what the poller's parser reads back, and a value the codec
could not write faithfully (a bracket or line end in it) fails loudly in the model
rather than on the wire. The command data (R1 addresses, R5 ranges) are parsed here:
the core parses replies, not requests, and a meter reads its stamps on its own
clock, where the season digit means nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from poller.protocol import DataSet, Value, format_data_block

from ._readings import DataLine

__all__ = ["RangeRequest", "ReadRequest", "format_lines", "parse_range", "parse_read"]


def format_lines(lines: Iterable[DataLine]) -> str:
    """Data sets ``address(value*unit)...``, each line ending in CR LF (clause 6.5)."""
    return format_data_block(
        DataSet(
            address=line.address or None,
            values=tuple(Value(text=text, unit=unit or None) for text, unit in line.values),
        )
        for line in lines
    )


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """R1 data ``address(n)`` or ``address()``: n counts locations, the first included."""

    address: str
    count: int


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """R5/R6 data ``P.01(from;to[;n])``; a missing bound is open."""

    code: str
    since: datetime | None
    until: datetime | None


_READ_RE = re.compile(r"([^()/!]{1,16})\((\d*)\)(?:\r\n)?")
_RANGE_RE = re.compile(r"(P\.\d\d)\((\d*);(\d*)(?:;\d*)?\)(?:\r\n)?")


def parse_read(data: str) -> ReadRequest | None:
    match = _READ_RE.fullmatch(data)
    if match is None:
        return None
    return ReadRequest(match.group(1), int(match.group(2) or "1"))


def _stamp(text: str, offset_minutes: int) -> datetime | None:
    """``zYYMMDDhhmm[ss]`` on a meter clock at UTC+offset; z is not needed on that clock."""
    if not text:
        return None
    if len(text) not in (11, 13):
        raise ValueError(text)
    tz = timezone(timedelta(minutes=offset_minutes))
    fmt = "%y%m%d%H%M%S" if len(text) == 13 else "%y%m%d%H%M"
    return datetime.strptime(text[1:], fmt).replace(tzinfo=tz)


def parse_range(data: str, offset_minutes: int) -> RangeRequest | None:
    """A profile or logbook request, or None when ``data`` is not one (or is malformed)."""
    match = _RANGE_RE.fullmatch(data)
    if match is None:
        return None
    try:
        since = _stamp(match.group(2), offset_minutes)
        until = _stamp(match.group(3), offset_minutes)
    except ValueError:
        return None
    return RangeRequest(match.group(1), since, until)
