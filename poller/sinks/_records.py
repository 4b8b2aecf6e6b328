"""What every sink gets the same way: the filters and the register names of its settings.

The spool's dispatcher applies ``select_readings`` before a batch reaches a sink, and
sinks build their records with ``record_for``; so ``meters``, ``registers`` and
``names`` mean the same for a file, a database and a broker. Codes are compared as
written: a register matches when the configured text equals the address the meter
wrote (``1.8.0``) or the reading's OBIS code in canonical form (``1-0:1.8.0*255``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from poller.readings import Reading, ReadingBatch

from ._contract import SinkSettings

__all__ = ["RECORD_KEYS", "record_for", "register_name", "select_readings", "wants"]

RECORD_KEYS: tuple[str, ...] = (
    "bus",
    "meter",
    "meter_name",
    "ident",
    "address",
    "obis",
    "name",
    "value",
    "unit",
    "values",
    "taken_at",
    "slot",
    "meter_time",
    "quality",
    "key",
)
"""The keys of ``record_for`` in a stable order (the columns of tabular sinks)."""


def register_name(reading: Reading, names: dict[str, str]) -> str | None:
    """The configured name of the reading's register; the address wins over OBIS."""
    for code in (reading.address, _obis_text(reading)):
        if code is not None and code in names:
            return names[code]
    return None


def record_for(reading: Reading, settings: SinkSettings) -> dict[str, Any]:
    """The product's record of ``reading`` plus ``name`` (None when none is configured)."""
    record = reading.to_record()
    record["name"] = register_name(reading, settings.names)
    return record


def wants(reading: Reading, settings: SinkSettings) -> bool:
    """Whether the sink's ``meters`` and ``registers`` filters let the reading through."""
    meters = settings.meters
    if meters is not None and reading.meter not in meters and reading.meter_name not in meters:
        return False
    registers = settings.registers
    return registers is None or reading.address in registers or _obis_text(reading) in registers


def _obis_text(reading: Reading) -> str | None:
    # Configured codes are text: compared with the code's canonical notation.
    return None if reading.obis is None else str(reading.obis)


def select_readings(batch: ReadingBatch, settings: SinkSettings) -> ReadingBatch:
    """The batch with only the readings the sink wants (the same object when all are)."""
    if settings.meters is None and settings.registers is None:
        return batch
    kept = tuple(r for r in batch.readings if wants(r, settings))
    if len(kept) == len(batch.readings):
        return batch
    return dataclasses.replace(batch, readings=kept)
