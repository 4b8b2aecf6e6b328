"""A ``ReadingBatch`` as one JSON text in the spool, and back, unchanged.

Lossless for everything a batch holds: each value's raw text, unit, ``&`` parts and
timestamp text; every time stamp with its offset (``isoformat`` / ``fromisoformat``
keep the offset; a ``zoneinfo`` zone comes back as the fixed offset it had, which
compares equal); quality by its enum value. Fields a reading shares with its batch
(bus, meter, ident, names, times) are written once on the batch, so a 30-register
readout is not 30 copies of them. ``extra`` is stored as JSON: JSON values come back
as they were (tuples as lists); anything else as its ``str`` (the engine only puts
strings, numbers, lists and dicts there).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from poller.protocol import Value
from poller.readings import Quality, Reading, ReadingBatch

__all__ = ["FORMAT", "decode_batch", "encode_batch"]

FORMAT: Final = 1
"""Bumped when the encoding changes; decoding refuses formats it does not know."""

_SHARED: Final = ("bus", "meter", "ident", "meter_name", "slot", "taken_at")
_TIMES: Final = frozenset({"taken_at", "slot", "meter_time"})


def encode_batch(batch: ReadingBatch) -> str:
    shared = {name: _field(batch, name) for name in _SHARED}
    body: dict[str, Any] = {
        "f": FORMAT,
        **shared,
        "error": batch.error,
        "duration": batch.duration,
        "baud": batch.baud,
        "repeats": batch.repeats,
        "extra": batch.extra,
        "readings": [_encode_reading(r, shared) for r in batch.readings],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def decode_batch(text: str) -> ReadingBatch:
    body = json.loads(text)
    if body.get("f") != FORMAT:
        raise ValueError(f"unknown spool record format {body.get('f')!r}")
    shared: dict[str, Any] = {name: body[name] for name in _SHARED}
    fields: dict[str, Any] = {n: _parse_time(v) if n in _TIMES else v for n, v in shared.items()}
    return ReadingBatch(
        **fields,
        readings=tuple(_decode_reading(r, shared) for r in body["readings"]),
        error=body["error"],
        duration=body["duration"],
        baud=body["baud"],
        repeats=body["repeats"],
        extra=body["extra"],
    )


def _encode_reading(reading: Reading, shared: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "a": reading.address,
        "o": reading.obis,
        "v": [_encode_value(v) for v in reading.values],
    }
    # A field written as the batch's is left out; one that differs (even None) is kept.
    # Times are compared as text: the same instant at another offset is not the same.
    for name, batch_value in shared.items():
        mine = _field(reading, name)
        if mine != batch_value:
            out[name] = mine
    if reading.meter_time is not None:
        out["meter_time"] = _time(reading.meter_time)
    if reading.quality is not Quality.GOOD:
        out["q"] = reading.quality.value
    return out


def _decode_reading(raw: dict[str, Any], shared: dict[str, Any]) -> Reading:
    fields: dict[str, Any] = {**shared, **{name: raw[name] for name in _SHARED if name in raw}}
    for name in _TIMES.intersection(fields):
        fields[name] = _parse_time(fields[name])
    return Reading(
        **fields,
        address=raw["a"],
        obis=raw["o"],
        values=tuple(_decode_value(v) for v in raw["v"]),
        meter_time=_parse_time(raw.get("meter_time")),
        quality=Quality(raw.get("q", Quality.GOOD.value)),
    )


def _encode_value(value: Value) -> list[Any]:
    # A list, not a dict: values are most of a batch's bytes.
    out: list[Any] = [value.text, value.unit]
    if value.parts or value.timestamp_text is not None:
        out.append([_encode_value(p) for p in value.parts])
        out.append(value.timestamp_text)
    return out


def _decode_value(raw: list[Any]) -> Value:
    parts = tuple(_decode_value(p) for p in raw[2]) if len(raw) > 2 else ()
    stamp = raw[3] if len(raw) > 3 else None
    return Value(text=raw[0], unit=raw[1], parts=parts, timestamp_text=stamp)


def _field(source: Reading | ReadingBatch, name: str) -> Any:
    value = getattr(source, name)
    return _time(value) if name in _TIMES else value


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)
