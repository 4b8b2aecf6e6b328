"""Durations as people write them in a configuration: ``15m``, ``1h30m``, ``500ms``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

__all__ = ["format_duration", "parse_duration"]

_UNITS: Final = {
    "ms": dt.timedelta(milliseconds=1),
    "s": dt.timedelta(seconds=1),
    "m": dt.timedelta(minutes=1),
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE: Final = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


def parse_duration(text: str) -> dt.timedelta:
    """``"15m"`` -> 15 minutes. Units ms, s, m, h, d, largest first when combined.

    Raises ``ValueError`` naming the accepted form; the text itself is not secret.
    """
    compact = text.strip().replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit (ms, s, m, h, d),"
            " e.g. 15m, 30s or 1h30m"
        )
    total = dt.timedelta(0)
    for number, unit in _PART.findall(compact):
        total += float(number) * _UNITS[unit]
    return total


def format_duration(value: dt.timedelta) -> str:
    """The shortest combination of units that ``parse_duration`` reads back exactly."""
    micros = value // dt.timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    parts: list[str] = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS[unit] // dt.timedelta(microseconds=1)
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    if micros:
        parts.append(f"{micros / 1000:g}ms")
    return sign + "".join(parts)
