"""A ``ReadingBatch`` as one JSON text in the spool, and back, unchanged.

Lossless for everything a batch holds: each value's raw text, unit, ``&`` parts and
timestamp text; every time stamp with its offset (``isoformat`` / ``fromisoformat``
keep the offset; a ``zoneinfo`` zone comes back as the fixed offset it had, which
compares equal); quality, failure kind and OBIS code by their text. The
``BatchContext`` the readings share is written once, and comes back as one object
they all reference again; a reading with a context of its own (never from the
engine, but representable) carries it.

Every body names its format (``"f"``). ``FORMAT`` is what is written; older formats
are still read, so a spool written before an upgrade is delivered after it:

* 1 (up to 0.1.0): the context fields flat on the batch, per reading only where they
  differed; ``ident`` as ``"/" + text``; ``error`` as text; an ``extra`` object with
  ``command_errors`` (``"request: message"``), ``profiles_without_data`` and
  ``profile_ranges`` (the engine's ``repr`` of each range). The kind of a format-1
  failure was never stored: it reads back as ``PROTOCOL``.
* 2: ``"c"`` the context; ``"x"`` the failure as ``[kind, message, error_type]``;
  the typed fields under short keys, left out when empty.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

from poller.protocol import FramingError, Identification, ObisCode, Value
from poller.readings import (
    BatchContext,
    CommandError,
    Failure,
    FailureKind,
    ProfileSpan,
    Quality,
    Reading,
    ReadingBatch,
)

__all__ = ["FORMAT", "decode_batch", "encode_batch"]

FORMAT: Final = 2
"""Bumped when the encoding changes; decoding refuses formats it does not know."""

_V1_SHARED: Final = ("bus", "meter", "ident", "meter_name", "slot", "taken_at")
_V1_RANGE: Final = re.compile(r"ProfileRange\((?P<profile>.*?), (?P<start>\S+?)\.\.(?P<end>.*)\)")


def encode_batch(batch: ReadingBatch) -> str:
    context = batch.context
    body: dict[str, Any] = {
        "f": FORMAT,
        "c": _encode_context(context),
        "x": _encode_failure(batch.failure),
        "duration": batch.duration,
        "baud": batch.baud,
        "repeats": batch.repeats,
        "readings": [_encode_reading(r, context) for r in batch.readings],
    }
    if batch.command_errors:
        body["ce"] = [[e.request, e.message] for e in batch.command_errors]
    if batch.profiles_without_data:
        body["pe"] = list(batch.profiles_without_data)
    if batch.profile_ranges:
        body["pr"] = [[s.profile, _time(s.start), _time(s.end)] for s in batch.profile_ranges]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode_batch(text: str) -> ReadingBatch:
    body = json.loads(text)
    version = body.get("f")
    if version == FORMAT:
        return _decode(body)
    if version == 1:
        return _decode_v1(body)
    raise ValueError(f"unknown spool record format {version!r}")


# -- format 2 ----------------------------------------------------------------------


def _encode_context(context: BatchContext) -> dict[str, Any]:
    identification = context.identification
    return {
        "bus": context.bus,
        "meter": context.meter,
        "meter_name": context.meter_name,
        "ident": None if identification is None else identification.text,
        "slot": _time(context.slot),
        "taken_at": _time(context.taken_at),
    }


def _decode_context(raw: dict[str, Any]) -> BatchContext:
    ident = raw["ident"]
    return BatchContext(
        bus=raw["bus"],
        meter=raw["meter"],
        taken_at=_parse_time(raw["taken_at"]),
        meter_name=raw["meter_name"],
        identification=None if ident is None else Identification.parse_line(ident),
        slot=_parse_optional_time(raw["slot"]),
    )


def _encode_failure(failure: Failure | None) -> list[str | None] | None:
    return None if failure is None else [failure.kind.value, failure.message, failure.error_type]


def _encode_reading(reading: Reading, context: BatchContext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "a": reading.address,
        "o": None if reading.obis is None else str(reading.obis),
        "v": [_encode_value(v) for v in reading.values],
    }
    if reading.context is not context and reading.context != context:
        out["c"] = _encode_context(reading.context)
    if reading.meter_time is not None:
        out["mt"] = _time(reading.meter_time)
    if reading.quality is not Quality.GOOD:
        out["q"] = reading.quality.value
    return out


def _decode(body: dict[str, Any]) -> ReadingBatch:
    context = _decode_context(body["c"])
    failure = body["x"]
    return ReadingBatch(
        context=context,
        readings=tuple(
            _reading(
                r,
                _decode_context(r["c"]) if "c" in r else context,
                meter_time=r.get("mt"),
            )
            for r in body["readings"]
        ),
        failure=None if failure is None else Failure(FailureKind(failure[0]), *failure[1:]),
        duration=body["duration"],
        baud=body["baud"],
        repeats=body["repeats"],
        command_errors=tuple(CommandError(*e) for e in body.get("ce", ())),
        profiles_without_data=tuple(body.get("pe", ())),
        profile_ranges=tuple(
            ProfileSpan(profile=p, start=_parse_time(s), end=_parse_optional_time(e))
            for p, s, e in body.get("pr", ())
        ),
    )


def _reading(raw: dict[str, Any], context: BatchContext, *, meter_time: str | None) -> Reading:
    obis = raw["o"]
    return Reading(
        context=context,
        address=raw["a"],
        obis=None if obis is None else ObisCode.parse(obis),
        values=tuple(_decode_value(v) for v in raw["v"]),
        meter_time=_parse_optional_time(meter_time),
        quality=Quality(raw.get("q", Quality.GOOD.value)),
    )


# -- format 1, read only -----------------------------------------------------------


def _decode_v1(body: dict[str, Any]) -> ReadingBatch:
    shared = {name: body[name] for name in _V1_SHARED}
    context = _v1_context(shared)
    extra: dict[str, Any] = body["extra"] or {}
    error = body["error"]
    readings = []
    for raw in body["readings"]:
        own = {name: raw[name] for name in _V1_SHARED if name in raw}
        mine = _v1_context({**shared, **own}) if own else context
        readings.append(_reading(raw, mine, meter_time=raw.get("meter_time")))
    return ReadingBatch(
        context=context,
        readings=tuple(readings),
        failure=None if error is None else Failure(FailureKind.PROTOCOL, error),
        duration=body["duration"],
        baud=body["baud"],
        repeats=body["repeats"],
        command_errors=tuple(
            CommandError(*_v1_command_error(text)) for text in extra.get("command_errors", ())
        ),
        profiles_without_data=tuple(extra.get("profiles_without_data", ())),
        profile_ranges=tuple(
            span for text in extra.get("profile_ranges", ()) if (span := _v1_range(text))
        ),
    )


def _v1_context(fields: dict[str, Any]) -> BatchContext:
    return BatchContext(
        bus=fields["bus"],
        meter=fields["meter"],
        taken_at=_parse_time(fields["taken_at"]),
        meter_name=fields["meter_name"],
        identification=_v1_identification(fields["ident"]),
        slot=_parse_optional_time(fields["slot"]),
    )


def _v1_identification(ident: str | None) -> Identification | None:
    if not ident:
        return None
    try:
        return Identification.parse_line(ident.removeprefix("/"))
    except FramingError:
        return None  # never written by the engine, which stored what it had parsed


def _v1_command_error(text: str) -> tuple[str, str]:
    request, _, message = text.partition(": ")
    return request, message


def _v1_range(text: str) -> ProfileSpan | None:
    match = _V1_RANGE.fullmatch(text)
    if match is None:
        return None
    end = match["end"]
    return ProfileSpan(
        profile=match["profile"],
        start=dt.datetime.fromisoformat(match["start"]),
        end=None if end == "None" else dt.datetime.fromisoformat(end),
    )


# -- shared ------------------------------------------------------------------------


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


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _parse_optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)
