"""The durable spool between the bus engines and the sinks.

``Spool`` stores every ``ReadingBatch`` in ``<state_dir>/spool.sqlite`` before the
engine goes on, and keeps one cursor per sink; ``Retention`` bounds it; ``stats()``
feeds metrics. It is storage only: delivering to the sinks is ``poller.delivery``'s.
"""

from ._codec import decode_batch, encode_batch
from ._errors import SpoolClosedError, SpoolCorruptError, SpoolError, SpoolFullError
from ._spool import FILENAME, RejectedReading, Retention, Spool
from ._stats import SinkCounters, SinkStats, SpoolStats
from ._store import StoredBatch

__all__ = [
    "FILENAME",
    "RejectedReading",
    "Retention",
    "SinkCounters",
    "SinkStats",
    "Spool",
    "SpoolClosedError",
    "SpoolCorruptError",
    "SpoolError",
    "SpoolFullError",
    "SpoolStats",
    "StoredBatch",
    "decode_batch",
    "encode_batch",
]
