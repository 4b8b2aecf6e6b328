"""Delivery: from the engines into the spool, and from the spool into every sink.

Between ``poller.spool`` (storage: batches and one cursor per sink) and
``poller.sinks`` (destinations). ``SpoolWriter`` is the engines' ``on_batch``: the
spool, or memory while the spool cannot store (a full disk). One
``SpoolDispatcher`` per sink delivers the spooled batches in order with backoff, at
least once, until the sink says an error is fatal.
"""

from ._dispatcher import DEFAULT_BACKOFF, SpoolDispatcher
from ._overflow import SpoolBackloggedError, SpoolWriter

__all__ = [
    "DEFAULT_BACKOFF",
    "SpoolBackloggedError",
    "SpoolDispatcher",
    "SpoolWriter",
]
