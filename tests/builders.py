"""Readings and batches from flat keyword fields, as tests and benchmarks write them.

A ``Reading`` references its batch's ``BatchContext``; tests name the context's
fields beside the reading's (``bus=``, ``meter=``, ``ident="/LGZ..."``), and these
builders put them where they belong, parsing the OBIS code and identification text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from poller.protocol import Identification, ObisCode
from poller.readings import BatchContext, Failure, FailureKind, Reading, ReadingBatch

__all__ = ["identification", "make_batch", "make_context", "make_reading", "obis"]

_CONTEXT: Final = frozenset({"bus", "meter", "taken_at", "meter_name", "ident", "slot"})


def identification(ident: str | Identification | None) -> Identification | None:
    """``"/LGZ4ZMF100AC.M26"`` as the ``Identification`` it is."""
    if ident is None or isinstance(ident, Identification):
        return ident
    return Identification.parse_line(ident.removeprefix("/"))


def obis(code: str | ObisCode | None) -> ObisCode | None:
    """The code ``code`` names; None for text that is no OBIS code (``P.01:1.5``),
    which a meter's reading would not carry either."""
    if code is None or isinstance(code, ObisCode):
        return code
    return ObisCode.parse(code)


def make_context(
    *,
    bus: str,
    meter: str,
    taken_at: dt.datetime,
    meter_name: str | None = None,
    ident: str | Identification | None = None,
    slot: dt.datetime | None = None,
) -> BatchContext:
    return BatchContext(
        bus=bus,
        meter=meter,
        taken_at=taken_at,
        meter_name=meter_name,
        identification=identification(ident),
        slot=slot,
    )


def make_reading(*, context: BatchContext | None = None, **fields: Any) -> Reading:
    """A reading; context fields among ``fields`` build its context (or change ``context``)."""
    shared = {k: fields.pop(k) for k in list(fields) if k in _CONTEXT}
    if context is None:
        context = make_context(**shared)
    elif shared:
        context = make_context(**{**_fields_of(context), **shared})
    fields["obis"] = obis(fields.get("obis"))
    return Reading(context=context, **fields)


def make_batch(
    *,
    readings: tuple[Reading, ...] = (),
    error: str | None = None,
    kind: FailureKind = FailureKind.PROTOCOL,
    context: BatchContext | None = None,
    **fields: Any,
) -> ReadingBatch:
    """A batch; ``error`` is the failure's message (of ``kind``)."""
    shared = {k: fields.pop(k) for k in list(fields) if k in _CONTEXT}
    if context is None:
        context = make_context(**shared)
    failure = None if error is None else Failure(kind, error)
    return ReadingBatch(context=context, readings=readings, failure=failure, **fields)


def _fields_of(context: BatchContext) -> dict[str, Any]:
    return {
        "bus": context.bus,
        "meter": context.meter,
        "taken_at": context.taken_at,
        "meter_name": context.meter_name,
        "ident": context.identification,
        "slot": context.slot,
    }
