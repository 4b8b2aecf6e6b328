"""A bus engine's batches as an async iterator: ``async for batch in engine.batches()``.

Theory of operation
-------------------
Each call of ``BusEngine.batches`` registers a ``_Feed`` at once (so nothing
delivered after the call is missed, even before the first ``__anext__``) and
returns a ``BatchStream`` over it. The bus task offers every delivered batch to
every feed. A feed is bounded: when its consumer falls ``maxsize`` batches behind,
the bus task waits for it, so a consumer that iterates loses nothing (the bus
slows down instead, as it does for a slow ``on_batch``).

A consumer that stops iterating must not hold the bus: leaving ``async with``,
``aclose()``, or merely dropping the stream (a ``break`` out of ``async for`` over
``engine.batches()``, after which the stream is garbage) closes its feed, which
releases a bus task waiting on it and is not offered batches again. When the
engine stops, each stream yields what it still holds and then ends.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType

from poller.readings import ReadingBatch

__all__ = ["BatchStream", "Feed"]


class Feed:
    """The engine's side of one stream: a bounded queue, and who has left."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.queue: asyncio.Queue[ReadingBatch] = asyncio.Queue(maxsize)
        self.closed = asyncio.Event()
        """The consumer left: offer nothing more."""
        self.ended = asyncio.Event()
        """The engine stopped: the consumer gets what is queued, then the end."""

    async def offer(self, batch: ReadingBatch) -> None:
        """Queue ``batch``, waiting while the queue is full and the consumer is there."""
        if self.closed.is_set():
            return
        if not self.queue.full():
            self.queue.put_nowait(batch)
            return
        put = asyncio.ensure_future(self.queue.put(batch))
        left = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({put, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            put.cancel()
            left.cancel()
            await asyncio.gather(put, left, return_exceptions=True)

    async def take(self) -> ReadingBatch | None:
        """The next batch; None once the engine has stopped and the queue is empty."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        if self.ended.is_set():
            return None
        get = asyncio.ensure_future(self.queue.get())
        end = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({get, end}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            end.cancel()
            if not get.done():
                get.cancel()
            await asyncio.gather(get, end, return_exceptions=True)
        if get.done() and not get.cancelled():
            return get.result()
        return self.queue.get_nowait() if not self.queue.empty() else None

    def close(self) -> None:
        self.closed.set()
        while not self.queue.empty():
            self.queue.get_nowait()


class BatchStream:
    """The batches a bus engine delivers, in order, until it stops; see the module doc."""

    def __init__(self, feed: Feed) -> None:
        self._feed = feed
        # Dropped without aclose() (a break out of async for): the bus must not wait.
        weakref.finalize(self, feed.closed.set)

    def __aiter__(self) -> BatchStream:
        return self

    async def __anext__(self) -> ReadingBatch:
        if self._feed.closed.is_set():
            raise StopAsyncIteration
        batch = await self._feed.take()
        if batch is None:
            raise StopAsyncIteration
        return batch

    async def aclose(self) -> None:
        """Stop receiving: nothing more is queued for this stream, nothing waits on it."""
        self._feed.close()

    async def __aenter__(self) -> BatchStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
