"""The durable spool between the bus engines and the sinks.

``Spool`` stores every ``ReadingBatch`` in ``<state_dir>/spool.sqlite`` before the
engine goes on; one ``SpoolDispatcher`` per sink delivers the batches in order with
backoff, at least once. ``Retention`` bounds the spool; ``stats()`` feeds metrics.
"""

from ._codec import decode_batch, encode_batch
from ._dispatch import DEFAULT_BACKOFF, SpoolDispatcher
from ._errors import SpoolClosedError, SpoolCorruptError, SpoolError, SpoolFullError
from ._spool import FILENAME, RejectedReading, Retention, Spool
from ._stats import SinkCounters, SinkStats, SpoolStats
from ._store import StoredBatch

__all__ = [
    "DEFAULT_BACKOFF",
    "FILENAME",
    "RejectedReading",
    "Retention",
    "SinkCounters",
    "SinkStats",
    "Spool",
    "SpoolClosedError",
    "SpoolCorruptError",
    "SpoolDispatcher",
    "SpoolError",
    "SpoolFullError",
    "SpoolStats",
    "StoredBatch",
    "decode_batch",
    "encode_batch",
]
