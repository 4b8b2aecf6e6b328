"""The engine's job policy: what happens to a job before and after its session.

Pure functions of the facts the bus task has at hand (the meter's state, the
session's error, the job's attempts), so the rules can be read and tested in one
place without a bus, a port or an event loop. ``BusEngine`` carries out what they
return.

Before a session (``admit``):

* the meter is unreachable and its probe is not due: ``SKIP`` (settle at once with
  an "unreachable" batch, no bus time);
* another job's failure set a backoff that has not passed: ``WAIT`` behind the
  other meters' jobs until ``not_before``;
* otherwise ``RUN``; ``probe`` says it is the unreachable meter's one probe.

After a session (``decide``):

* success: ``DELIVER`` (then the profile cursors move);
* the port failed under it: ``REQUEUE_FRONT``, uncounted, not the meter's fault;
* aborted at shutdown: ``SETTLE``, the caller gets the batch, no sink does;
* any other failure counts against the meter (``counts_against_meter``) and is
  then ``RETRY`` (to the back, after the backoff) while retries are left, unless it
  was a refused password (meters lock programming after a few), a probe, or the
  failure that made the meter unreachable; else ``DELIVER`` the failed batch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from poller.protocol import AuthenticationError, ProtocolError, SessionAbortedError

from ._errors import LinkLostError
from ._status import MeterState

__all__ = ["Decision", "JobAction", "admit", "counts_against_meter", "decide"]


class JobAction(enum.Enum):
    RUN = "run"
    """Run the session now."""
    SKIP = "skip"
    """Settle with an "unreachable" batch without using the bus."""
    WAIT = "wait"
    """Back of the queue, not before ``Decision.not_before``, uncounted."""
    DELIVER = "deliver"
    """Hand the batch to ``on_batch`` and settle the job with it."""
    RETRY = "retry"
    """Back of the queue after the meter's backoff, for another session."""
    REQUEUE_FRONT = "requeue_front"
    """Front of the queue, the attempt not counted (the port failed)."""
    SETTLE = "settle"
    """Settle the job with the batch, delivering nothing (shutting down)."""


@dataclass(frozen=True, slots=True)
class Decision:
    action: JobAction
    not_before: float = 0.0
    """Clock time for ``WAIT`` and ``RETRY``."""
    probe: bool = False
    """For ``RUN``: the session is an unreachable meter's probe."""


def admit(state: MeterState, next_try: float | None, now: float) -> Decision:
    """Whether a job for a meter in ``state`` (backoff until ``next_try``) runs now."""
    waiting = next_try is not None and now < next_try
    if state is MeterState.UNREACHABLE and waiting:
        return Decision(JobAction.SKIP)
    if state is MeterState.FAILING and waiting:
        assert next_try is not None
        return Decision(JobAction.WAIT, not_before=next_try)
    return Decision(JobAction.RUN, probe=state is MeterState.UNREACHABLE)


def counts_against_meter(error: ProtocolError) -> bool:
    """Whether a failure is the meter's (counted, backed off) rather than the port's or ours."""
    return not isinstance(error, LinkLostError | SessionAbortedError)


def decide(
    error: ProtocolError | None,
    *,
    attempts: int,
    retries: int,
    probe: bool = False,
    unreachable: bool = False,
    next_try: float | None = None,
) -> Decision:
    """What to do with a job whose session ended with ``error`` (None: success).

    ``attempts`` counts this session; ``unreachable`` is whether counting this
    failure just made the meter unreachable; ``next_try`` its backoff.
    """
    if error is None:
        return Decision(JobAction.DELIVER)
    if isinstance(error, LinkLostError):
        return Decision(JobAction.REQUEUE_FRONT)
    if isinstance(error, SessionAbortedError):
        return Decision(JobAction.SETTLE)
    refused = isinstance(error, AuthenticationError)
    if refused or attempts > retries or probe or unreachable:
        return Decision(JobAction.DELIVER)
    return Decision(JobAction.RETRY, not_before=next_try or 0.0)
