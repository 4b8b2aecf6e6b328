"""The job policy, table by table: no bus, no port, no event loop."""

from __future__ import annotations

import pytest

from poller.engine import (
    Decision,
    JobAction,
    LinkLostError,
    MeterState,
    SessionDeadlineError,
    admit,
    counts_against_meter,
    decide,
)
from poller.protocol import (
    AuthenticationError,
    ProtocolError,
    ProtocolTimeoutError,
    RemoteError,
    SessionAbortedError,
)

TIMEOUT = ProtocolTimeoutError(waiting_for="identification", waited=1.5)
LOST = LinkLostError("socket://converter:4001", "connection reset")
ABORTED = SessionAbortedError("AWAIT_IDENT")
REFUSED = AuthenticationError("NAK")
DEADLINE = SessionDeadlineError(seconds=180.0, state="AWAIT_DATA")


@pytest.mark.parametrize(
    ("state", "next_try", "now", "expected"),
    [
        (MeterState.UNKNOWN, None, 0.0, Decision(JobAction.RUN)),
        (MeterState.OK, None, 5.0, Decision(JobAction.RUN)),
        (MeterState.FAILING, 10.0, 5.0, Decision(JobAction.WAIT, not_before=10.0)),
        (MeterState.FAILING, 10.0, 10.0, Decision(JobAction.RUN)),
        (MeterState.FAILING, None, 5.0, Decision(JobAction.RUN)),
        (MeterState.UNREACHABLE, 100.0, 5.0, Decision(JobAction.SKIP)),
        (MeterState.UNREACHABLE, 100.0, 100.0, Decision(JobAction.RUN, probe=True)),
    ],
)
def test_admission(
    state: MeterState, next_try: float | None, now: float, expected: Decision
) -> None:
    assert admit(state, next_try, now) == expected


@pytest.mark.parametrize(
    ("error", "attempts", "retries", "probe", "unreachable", "expected"),
    [
        # success: delivered, whatever the counts
        (None, 1, 2, False, False, JobAction.DELIVER),
        (None, 3, 0, True, False, JobAction.DELIVER),
        # the meter's failure: retried while attempts are left
        (TIMEOUT, 1, 2, False, False, JobAction.RETRY),
        (TIMEOUT, 2, 2, False, False, JobAction.RETRY),
        (TIMEOUT, 3, 2, False, False, JobAction.DELIVER),
        (DEADLINE, 1, 2, False, False, JobAction.RETRY),
        (RemoteError("ER03"), 1, 0, False, False, JobAction.DELIVER),
        # a refused password is never retried: meters lock programming after a few
        (REFUSED, 1, 5, False, False, JobAction.DELIVER),
        # a probe is one session; the failure that made the meter unreachable ends it
        (TIMEOUT, 1, 2, True, False, JobAction.DELIVER),
        (TIMEOUT, 1, 2, False, True, JobAction.DELIVER),
        # not the meter's: the port went, or we are shutting down
        (LOST, 3, 0, False, False, JobAction.REQUEUE_FRONT),
        (ABORTED, 1, 2, False, False, JobAction.SETTLE),
    ],
)
def test_after_the_session(
    error: ProtocolError | None,
    attempts: int,
    retries: int,
    probe: bool,
    unreachable: bool,
    expected: JobAction,
) -> None:
    decision = decide(
        error,
        attempts=attempts,
        retries=retries,
        probe=probe,
        unreachable=unreachable,
        next_try=42.0,
    )
    assert decision.action is expected
    assert decision.not_before == (42.0 if expected is JobAction.RETRY else 0.0)


def test_a_retry_without_a_backoff_is_due_at_once() -> None:
    assert decide(TIMEOUT, attempts=1, retries=1, next_try=None) == Decision(JobAction.RETRY)


@pytest.mark.parametrize(
    ("error", "counted"),
    [(TIMEOUT, True), (REFUSED, True), (DEADLINE, True), (LOST, False), (ABORTED, False)],
)
def test_only_the_meters_failures_count_against_it(error: ProtocolError, counted: bool) -> None:
    assert counts_against_meter(error) is counted
