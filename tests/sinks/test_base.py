"""The sinks' base classes: settings, the connect/write/close lock, repr, the chunked isolate."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

from poller.readings import Reading, ReadingBatch
from poller.sinks import BaseSink, SinkContext, SinkSettings, ThreadedSink, WriteResult
from poller.sinks._net import Attempt, isolate_chunks

from .helpers import batch


class ProbeSettings(SinkSettings):
    type: Literal["probe"] = "probe"
    depth: int = 3


class ProbeSink(BaseSink[ProbeSettings]):
    settings_model: ClassVar[type[SinkSettings]] = ProbeSettings

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self.events: list[str] = []
        self.writing = asyncio.Event()
        self.release = asyncio.Event()

    def _describe(self) -> str:
        return f"depth={self._settings.depth}"

    async def _open(self) -> None:
        self.events.append("open")

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        self.events.append("write")
        self.writing.set()
        await self.release.wait()
        self.events.append("written")
        return WriteResult.all_accepted(len(batch.readings))

    async def _close(self) -> None:
        self.events.append("close")


def context(tmp_path: Path) -> SinkContext:
    return SinkContext(state_dir=tmp_path)


def test_settings_are_validated_as_the_sinks_own_model(tmp_path: Path) -> None:
    sink = ProbeSink(SinkSettings(type="probe", name="p1"), context(tmp_path))
    assert isinstance(sink.settings, ProbeSettings)
    assert sink.settings.depth == 3
    assert repr(sink) == "ProbeSink('p1', depth=3)"


async def test_close_waits_for_the_write_in_progress(tmp_path: Path) -> None:
    sink = ProbeSink(ProbeSettings(), context(tmp_path))

    async def main() -> WriteResult:
        await sink.connect()
        writing = asyncio.create_task(sink.write(batch(0)))
        await sink.writing.wait()
        closing = asyncio.create_task(sink.close())
        await asyncio.sleep(0)
        assert sink.events == ["open", "write"]
        sink.release.set()
        await closing
        return await writing

    result = await main()
    assert result.accepted == 3
    assert sink.events == ["open", "write", "written", "close"]


async def test_an_empty_batch_is_answered_without_the_destination(tmp_path: Path) -> None:
    sink = ProbeSink(ProbeSettings(), context(tmp_path))
    result = await sink.write(dataclasses.replace(batch(0), readings=()))
    assert result == WriteResult()
    assert sink.events == []


class ThreadProbe(ThreadedSink[ProbeSettings]):
    settings_model: ClassVar[type[SinkSettings]] = ProbeSettings

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self.threads: list[str] = []
        self.opened = 0
        self.closed = 0

    def _open_on_thread(self) -> None:
        self.threads.append(threading.current_thread().name)
        self.opened += 1

    def _close_on_thread(self) -> None:
        self.threads.append(threading.current_thread().name)
        self.closed += 1

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        count = await self._run(len, batch.readings)
        return WriteResult.all_accepted(count)


async def test_a_threaded_sink_opens_on_its_own_thread_at_the_first_write(tmp_path: Path) -> None:
    sink = ThreadProbe(ProbeSettings(name="t"), context(tmp_path))

    async def main() -> WriteResult:
        await sink.close()  # before anything was opened: nothing to do
        result = await sink.write(batch(0))
        await sink.close()
        await sink.close()
        return result

    result = await main()
    assert result.accepted == 3
    assert (sink.opened, sink.closed) == (1, 1)
    assert all(name.startswith("sink-t") for name in sink.threads)


async def test_chunks_are_isolated_in_order_and_a_retry_holds_back_the_rest() -> None:
    readings = list(batch(0, size=7).readings)
    bad = readings[1].key
    sent: list[int] = []

    async def send(part: Sequence[Reading]) -> Attempt:
        sent.append(len(part))
        if len(sent) > 5:
            return Attempt("retry", "later", retry_after=7.0)
        if any(r.key == bad for r in part):
            return Attempt("refused", "bad")
        return Attempt("ok")

    result, retry_after = await isolate_chunks(readings, send, step=3)
    assert result.accepted == 2
    assert [r.reading.key for r in result.rejected] == [bad]
    assert len(result.retry) == 4
    assert result.retry_reason == "later"
    assert retry_after == 7.0


async def test_without_isolation_a_refused_chunk_is_rejected_whole() -> None:
    readings = list(batch(0, size=4).readings)

    async def send(part: Sequence[Reading]) -> Attempt:
        return Attempt("refused", "no") if part[0] is readings[0] else Attempt("ok")

    result, _ = await isolate_chunks(readings, send, step=2, isolate_rejections=False)
    assert (result.accepted, len(result.rejected)) == (2, 2)
