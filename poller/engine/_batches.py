"""What a job asks the meter for, and from the session's outcome to a ``ReadingBatch``.

``plan_job`` turns a job's kind into a ``ReadPlan``: R1 per register, and one R5 per
profile from its cursor (``_cursor.py``). ``build_batch`` reads the outcome back
against the plan and returns the batch with the profile cursors to store once it
has been delivered; it changes nothing itself.

Readout and push: one reading per data set, with the quality the frame's checksum
earned. Programming: one reading per data set of every R1 reply, then the profile
records after each profile's cursor. A command that failed inside a session that
went on (an error reply, a block garbled three times) is listed in
``command_errors``; the batch still succeeds with what the other commands gave.
Messages are ``str(ProtocolError)``, which by contract names no secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from poller.protocol import (
    AuthenticationError,
    Check,
    Done,
    Failed,
    ProgrammingRequest,
    ProtocolTimeoutError,
    RemoteError,
    RetriesExhaustedError,
    SessionAbortedError,
    SessionResult,
    parse_profile,
)
from poller.readings import (
    BatchContext,
    CommandError,
    Failure,
    FailureKind,
    ProfileSpan,
    Quality,
    Reading,
    ReadingBatch,
    readings_from_datasets,
    readings_from_profile,
)

from ._cursor import CursorStore, ProfileRange, new_records, plan_profile_read
from ._errors import LinkLostError
from ._jobs import ReadKind
from ._meter_config import MeterSettings

__all__ = ["ReadPlan", "build_batch", "failure_of", "plan_job", "quality_of", "unreachable_batch"]

_QUALITY = {
    Check.OK: Quality.GOOD,
    Check.ABSENT: Quality.GOOD,
    Check.MISSING: Quality.UNCHECKED,
    Check.BAD: Quality.SUSPECT,
}


def quality_of(check: Check) -> Quality:
    return _QUALITY[check]


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one session asks the meter for, to match its results against."""

    commands: tuple[ProgrammingRequest, ...] = ()
    """The programming-mode commands, in order; none for a readout or push."""
    ranges: tuple[ProfileRange, ...] = ()
    """The profile reads among ``commands``."""
    push: bool | None = None
    """Listen for a push telegram; None: as the meter's mode says."""

    @classmethod
    def of(
        cls,
        registers: tuple[ProgrammingRequest, ...] = (),
        ranges: tuple[ProfileRange, ...] = (),
        *,
        push: bool | None = None,
    ) -> ReadPlan:
        """The registers first, then one R5 per profile range."""
        commands = registers + tuple(r.request() for r in ranges)
        return cls(commands=commands, ranges=ranges, push=push)


async def plan_job(
    kind: ReadKind, settings: MeterSettings, cursors: CursorStore, *, now: dt.datetime
) -> ReadPlan:
    """The commands of one job (none: a readout or push) and what to read them back by."""
    if kind is ReadKind.READOUT:
        return ReadPlan()
    registers = settings.register_requests() if kind is ReadKind.REGISTERS else ()
    wanted = kind is ReadKind.PROFILE or settings.profiles_with_registers
    ranges = [
        plan_profile_read(
            profile,
            cursor=await cursors.get(settings.address, profile),
            now=now,
            tz=settings.timezone,
            backfill=settings.profile_backfill,
            max_span=settings.profile_max_span,
        )
        for profile in (settings.profiles if wanted else ())
    ]
    # A programming job never listens for a push telegram, whatever the meter's mode.
    return ReadPlan.of(registers, tuple(ranges), push=False)


def failure_of(outcome: Failed) -> Failure:
    """The typed failure of a failed session: what a caller acts on, without parsing."""
    error = outcome.error
    result = outcome.result
    kind = FailureKind.PROTOCOL
    if isinstance(error, AuthenticationError):
        kind = FailureKind.AUTHENTICATION
    elif isinstance(error, LinkLostError):
        kind = FailureKind.PORT
    elif isinstance(error, SessionAbortedError):
        kind = FailureKind.ABORTED
    elif isinstance(error, ProtocolTimeoutError | RetriesExhaustedError):
        silent = result.identification is None and result.readout is None
        kind = FailureKind.NO_ANSWER if silent else FailureKind.PROTOCOL
    return Failure(kind, str(error), type(error).__name__)


def unreachable_batch(
    bus: str,
    settings: MeterSettings,
    *,
    slot: dt.datetime | None,
    taken_at: dt.datetime,
    why: str | None,
) -> ReadingBatch:
    """The batch of a job not tried: the meter is unreachable until its next probe."""
    context = BatchContext(
        bus=bus, meter=settings.address, taken_at=taken_at, meter_name=settings.name, slot=slot
    )
    message = f"meter unreachable ({why}); not tried until its next probe"
    return ReadingBatch(context=context, failure=Failure(FailureKind.UNREACHABLE, message))


def build_batch(
    outcome: Done | Failed,
    plan: ReadPlan,
    *,
    bus: str,
    settings: MeterSettings,
    slot: dt.datetime | None,
    taken_at: dt.datetime,
    duration: float,
) -> tuple[ReadingBatch, Mapping[str, dt.datetime]]:
    """The batch of one session, and profile -> cursor to store once it is delivered."""
    result = outcome.result
    context = BatchContext(
        bus=bus,
        meter=settings.address,
        taken_at=taken_at,
        meter_name=settings.name,
        identification=result.identification,
        slot=slot,
    )
    readings: list[Reading] = []
    cursors: dict[str, dt.datetime] = {}
    errors: list[CommandError] = []
    empty: list[str] = []
    if isinstance(outcome, Done):
        readings = _readings(result, plan, settings, context, cursors)
        profiles = {r.request().dataset for r in plan.ranges}
        for command in result.commands:
            if command.error is None:
                continue
            if command.dataset in profiles and isinstance(command.error, RemoteError):
                # Meters answer a range with no records with an error reply.
                empty.append(command.dataset)
            else:
                errors.append(CommandError(str(command.request), str(command.error)))
    batch = ReadingBatch(
        context=context,
        readings=tuple(readings),
        failure=None if isinstance(outcome, Done) else failure_of(outcome),
        duration=duration,
        baud=result.baud,
        repeats=result.repeats,
        command_errors=tuple(errors),
        profiles_without_data=tuple(empty),
        profile_ranges=tuple(
            ProfileSpan(profile=r.profile, start=r.start, end=r.end) for r in plan.ranges
        ),
    )
    return batch, cursors


def _readings(
    result: SessionResult,
    plan: ReadPlan,
    settings: MeterSettings,
    context: BatchContext,
    cursors: dict[str, dt.datetime],
) -> list[Reading]:
    out: list[Reading] = []
    if result.readout is not None:
        out += readings_from_datasets(
            result.readout.datasets, context=context, quality=quality_of(result.readout.check)
        )
    ranges = {r.request().dataset: r for r in plan.ranges}
    for command in result.commands:
        planned = ranges.get(command.dataset)
        if planned is None:
            if command.ok:
                out += readings_from_datasets(command.datasets, context=context)
            continue
        if not command.ok and not (isinstance(command.error, RemoteError) and planned.end):
            continue  # the cursor stays; the next read asks for the same range again
        # An error reply to a bounded range is the meter's "nothing there" (a hole).
        text = command.data or "" if command.ok else ""
        records, cursor = new_records(parse_profile(text), planned)
        out += readings_from_profile(records, context=context, tz=settings.timezone)
        if cursor is not None and cursor != planned.cursor:
            cursors[planned.profile] = cursor
    return out
