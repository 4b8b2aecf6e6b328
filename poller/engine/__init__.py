"""The bus engine: one asyncio task per bus reads every meter on it through one port.

``BusEngine`` queues jobs and runs one addressed conversation at a time with
deadlines, retries behind the other meters, backoff, baud fallback and incremental
profile reads; ``read_meter`` is one read of one meter through an open ``Port``
(what the engine, ``iec-poller read`` and the demo all do), on top of
``run_session``, which executes one protocol session;
``MeterSettings`` is one meter's configuration; ``FlightRecorder`` keeps the last
frames for the log of a failed session.
"""

from poller.util import Backoff

from ._batches import ReadPlan, build_batch, failure_of
from ._cursor import CursorStore, MemoryCursorStore, ProfileRange, plan_profile_read
from ._cursor_file import SqliteCursorStore
from ._engine import BusEngine, OnBatch
from ._errors import LinkLostError, SessionDeadlineError
from ._gate import SessionGate
from ._jobs import ReadKind
from ._meter import Meter, MeterInUseError, ReadFailedError
from ._meter_config import MeterSettings
from ._observer import EngineObserver
from ._options import EngineOptions
from ._policy import Decision, JobAction, admit, counts_against_meter, decide
from ._read import ReadResult, read_meter
from ._recorder import FlightRecorder, RecordedFrame
from ._session_runner import run_session
from ._status import MeterState, MeterStatus
from ._stream import BatchStream

__all__ = [
    "Backoff",
    "BatchStream",
    "BusEngine",
    "CursorStore",
    "Decision",
    "EngineObserver",
    "EngineOptions",
    "FlightRecorder",
    "JobAction",
    "LinkLostError",
    "MemoryCursorStore",
    "Meter",
    "MeterInUseError",
    "MeterSettings",
    "MeterState",
    "MeterStatus",
    "OnBatch",
    "ProfileRange",
    "ReadFailedError",
    "ReadKind",
    "ReadPlan",
    "ReadResult",
    "RecordedFrame",
    "SessionDeadlineError",
    "SessionGate",
    "SqliteCursorStore",
    "admit",
    "build_batch",
    "counts_against_meter",
    "decide",
    "failure_of",
    "plan_profile_read",
    "read_meter",
    "run_session",
]
