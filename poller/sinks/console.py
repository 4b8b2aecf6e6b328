"""``console``: one human-readable line per reading on stdout (or stderr).

For a first run at the cabinet and for ``journalctl``: when the value was taken,
where from, the register (with its configured name), value and unit, and what is
unusual (the meter's own time stamp, a quality other than good).
"""

from __future__ import annotations

import sys
from typing import ClassVar, Literal, TextIO

from poller.readings import Quality, Reading, ReadingBatch

from ._base import BaseSink
from ._contract import SinkSettings, WriteResult
from ._records import register_name

__all__ = ["ConsoleSettings", "ConsoleSink", "format_reading"]


class ConsoleSettings(SinkSettings):
    """``type: console``."""

    type: Literal["console"] = "console"
    stream: Literal["stdout", "stderr"] = "stdout"


def format_reading(reading: Reading, name: str | None = None) -> str:
    meter = reading.meter + (f" ({reading.meter_name})" if reading.meter_name else "")
    register = (reading.address or "-") + (f" {name}" if name else "")
    value = " ".join(v for v in (reading.value, reading.unit) if v) or "(empty)"
    line = f"{reading.taken_at.isoformat()}  {reading.bus}  {meter}  {register} = {value}"
    if reading.meter_time is not None:
        line += f"  @ {reading.meter_time.isoformat()}"
    if reading.quality is not Quality.GOOD:
        line += f"  [{reading.quality.value}]"
    return line


class ConsoleSink(BaseSink[ConsoleSettings]):
    settings_model: ClassVar[type[SinkSettings]] = ConsoleSettings

    def _describe(self) -> str:
        return f"stream={self._settings.stream!r}"

    def _stream(self) -> TextIO:
        # Looked up at each write, so a test's or a supervisor's redirection is honoured.
        return sys.stderr if self._settings.stream == "stderr" else sys.stdout

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        names = self._settings.names
        text = "".join(f"{format_reading(r, register_name(r, names))}\n" for r in batch.readings)
        stream = self._stream()
        stream.write(text)
        stream.flush()
        return WriteResult.all_accepted(len(batch.readings))
