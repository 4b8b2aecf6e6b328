"""What a job asks the meter for, and from the session's outcome to a ``ReadingBatch``.

``plan_job`` turns a job's kind into protocol commands: R1 per register, and one
R5 per profile from its cursor (``_cursor.py``). ``build_batch`` reads the result.

Readout and push: one reading per data set, with the quality the frame's checksum
earned. Programming: one reading per data set of every R1 reply, then the profile
records after each profile's cursor. A command that failed inside a session that
went on (an error reply, a block garbled three times) is listed in
``extra["command_errors"]``; the batch still succeeds with what the other commands
gave. Error texts are ``str(ProtocolError)``, which by contract names no secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from poller.protocol import (
    Check,
    Done,
    Failed,
    ProgrammingRequest,
    RemoteError,
    SessionResult,
    parse_profile,
)
from poller.readings import (
    Quality,
    Reading,
    ReadingBatch,
    readings_from_datasets,
    readings_from_profile,
)

from ._cursor import CursorStore, ProfileRange, new_records, plan_profile_read
from ._jobs import ReadKind
from ._meter_config import MeterSettings

__all__ = ["BatchPlan", "build_batch", "plan_job", "quality_of"]

_QUALITY = {
    Check.OK: Quality.GOOD,
    Check.ABSENT: Quality.GOOD,
    Check.MISSING: Quality.UNCHECKED,
    Check.BAD: Quality.SUSPECT,
}


def quality_of(check: Check) -> Quality:
    return _QUALITY[check]


@dataclass(slots=True)
class BatchPlan:
    """What a job asked for, to match the session's results against."""

    ranges: Sequence[ProfileRange] = ()
    cursors: dict[str, dt.datetime] = field(default_factory=dict)
    """Filled by ``build_batch``: profile -> cursor once the batch is delivered."""


async def plan_job(
    kind: ReadKind, settings: MeterSettings, cursors: CursorStore, *, now: dt.datetime
) -> tuple[BatchPlan, tuple[ProgrammingRequest, ...]]:
    """The commands of one job (none: a readout or push) and the plan to read them back."""
    if kind is ReadKind.READOUT:
        return BatchPlan(), ()
    commands: list[ProgrammingRequest] = []
    if kind is ReadKind.REGISTERS:
        commands += settings.register_requests()
    ranges: list[ProfileRange] = []
    wanted = kind is ReadKind.PROFILE or settings.profiles_with_registers
    for profile in settings.profiles if wanted else ():
        planned = plan_profile_read(
            profile,
            cursor=await cursors.get(settings.address, profile),
            now=now,
            tz=settings.timezone,
            backfill=settings.profile_backfill,
            max_span=settings.profile_max_span,
        )
        ranges.append(planned)
        commands.append(planned.request())
    return BatchPlan(ranges=ranges), tuple(commands)


def build_batch(
    outcome: Done | Failed,
    plan: BatchPlan,
    *,
    bus: str,
    settings: MeterSettings,
    slot: dt.datetime | None,
    taken_at: dt.datetime,
    duration: float,
) -> ReadingBatch:
    result = outcome.result
    ident = "/" + result.identification.text if result.identification else None
    context: dict[str, Any] = {"ident": ident, "meter_name": settings.name, "slot": slot}
    readings: list[Reading] = []
    extra: dict[str, Any] = {}
    if isinstance(outcome, Done):
        readings = _readings(result, plan, settings, bus=bus, taken_at=taken_at, context=context)
        profiles = {r.request().dataset for r in plan.ranges}
        errors, empty = [], []
        for command in result.commands:
            if command.error is None:
                continue
            if command.dataset in profiles and isinstance(command.error, RemoteError):
                # Meters answer a range with no records with an error reply.
                empty.append(command.dataset)
            else:
                errors.append(f"{command.request}: {command.error}")
        if errors:
            extra["command_errors"] = errors
        if empty:
            extra["profiles_without_data"] = empty
    if plan.ranges:
        extra["profile_ranges"] = [repr(r) for r in plan.ranges]
    return ReadingBatch(
        bus=bus,
        meter=settings.address,
        taken_at=taken_at,
        readings=tuple(readings),
        meter_name=settings.name,
        ident=ident,
        slot=slot,
        error=None if isinstance(outcome, Done) else str(outcome.error),
        duration=duration,
        baud=result.baud,
        repeats=result.repeats,
        extra=extra,
    )


def _readings(
    result: SessionResult,
    plan: BatchPlan,
    settings: MeterSettings,
    *,
    bus: str,
    taken_at: dt.datetime,
    context: dict[str, Any],
) -> list[Reading]:
    meter = settings.address
    out: list[Reading] = []
    if result.readout is not None:
        out += readings_from_datasets(
            result.readout.datasets,
            bus=bus,
            meter=meter,
            taken_at=taken_at,
            quality=quality_of(result.readout.check),
            **context,
        )
    ranges = {r.request().dataset: r for r in plan.ranges}
    for command in result.commands:
        planned = ranges.get(command.dataset)
        if planned is None:
            if command.ok:
                out += readings_from_datasets(
                    command.datasets, bus=bus, meter=meter, taken_at=taken_at, **context
                )
            continue
        if not command.ok and not (isinstance(command.error, RemoteError) and planned.end):
            continue  # the cursor stays; the next read asks for the same range again
        # An error reply to a bounded range is the meter's "nothing there" (a hole).
        text = command.data or "" if command.ok else ""
        records, cursor = new_records(parse_profile(text), planned)
        out += readings_from_profile(
            records, bus=bus, meter=meter, taken_at=taken_at, tz=settings.timezone, **context
        )
        if cursor is not None and cursor != planned.cursor:
            plan.cursors[planned.profile] = cursor
    return out
