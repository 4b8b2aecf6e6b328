"""The bus engine: one asyncio task per bus reads every meter on it through one port.

``BusEngine`` queues jobs and runs one addressed conversation at a time with
deadlines, retries behind the other meters, backoff, baud fallback and incremental
profile reads; ``run_session`` executes one protocol session against a ``Port``;
``MeterSettings`` is one meter's configuration; ``FlightRecorder`` keeps the last
frames for the log of a failed session.
"""

from poller.util import Backoff

from ._batches import BatchPlan, build_batch
from ._cursor import CursorStore, MemoryCursorStore, ProfileRange, plan_profile_read
from ._cursor_file import SqliteCursorStore
from ._engine import BusEngine, OnBatch
from ._errors import LinkLostError, SessionDeadlineError
from ._gate import SessionGate
from ._jobs import ReadKind
from ._meter_config import MeterSettings
from ._observer import EngineObserver
from ._options import EngineOptions
from ._recorder import FlightRecorder, RecordedFrame
from ._session_runner import run_session
from ._status import MeterState, MeterStatus

__all__ = [
    "Backoff",
    "BatchPlan",
    "BusEngine",
    "CursorStore",
    "EngineObserver",
    "EngineOptions",
    "FlightRecorder",
    "LinkLostError",
    "MemoryCursorStore",
    "MeterSettings",
    "MeterState",
    "MeterStatus",
    "OnBatch",
    "ProfileRange",
    "ReadKind",
    "RecordedFrame",
    "SessionDeadlineError",
    "SessionGate",
    "SqliteCursorStore",
    "build_batch",
    "plan_profile_read",
    "run_session",
]
