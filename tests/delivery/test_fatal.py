"""A fatal sink error: the dispatcher stops, the spool keeps the batches, a new start resumes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
from structlog.testing import capture_logs

from poller.delivery import SpoolDispatcher
from poller.sinks import SinkContext
from poller.sinks.http import HttpSettings, HttpSink
from poller.sinks.postgresql import PostgresSettings, PostgresSink
from poller.spool import Spool
from tests import services

from ..sinks.helpers import batch
from ..spool.helpers import NO_WAIT, ScriptedSink, keys
from .helpers import FatalSink


async def test_a_fatal_connect_stops_the_dispatcher_and_keeps_the_batches(tmp_path: Path) -> None:
    failing = FatalSink()
    working = ScriptedSink()
    originals = [batch(i) for i in range(3)]

    async def main() -> tuple[str | None, int, bool, bool]:
        async with Spool(tmp_path) as spool:
            for b in originals:
                await spool.put(b)
            dispatcher = SpoolDispatcher(spool, failing, backoff=NO_WAIT)
            with capture_logs() as logs:
                dispatcher.start()
                async with asyncio.timeout(5):
                    while dispatcher.running:
                        await asyncio.sleep(0.001)
            failed = dispatcher.failed
            pending = spool.pending("scripted")
            await dispatcher.stop()
            # "The reload": a new dispatcher with a working sink, from the same cursor.
            await SpoolDispatcher(spool, working, backoff=NO_WAIT).drain()
            assert any(e["log_level"] == "error" for e in logs)
            return failed, failing.connects, pending, spool.pending("scripted")

    failed, connects, pending_then, pending_now = await main()
    assert failed == "SinkFatalError: login refused for user reader"
    assert connects == 1  # not retried
    assert failing.closed
    assert pending_then
    assert not pending_now
    assert keys(working.stored) == keys([r for b in originals for r in b.readings])


async def test_a_fatal_result_keeps_the_batch_and_drain_returns(tmp_path: Path) -> None:
    failing = FatalSink(on_connect=False, accept_first=1)

    async def main() -> tuple[SpoolDispatcher, bool, int]:
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0))
            await spool.put(batch(1))
            dispatcher = SpoolDispatcher(spool, failing, backoff=NO_WAIT)
            await dispatcher.drain()  # returns: the sink stopped, nothing more to try
            return dispatcher, spool.pending("scripted"), len(await spool.fetch("scripted"))

    dispatcher, pending, waiting = await main()
    assert dispatcher.failed == "HTTP 403 Forbidden"
    assert dispatcher.failures == 1
    assert len(failing.writes) == 1  # not retried
    assert pending
    assert waiting == 2  # the cursor did not move past the batch


async def test_starting_again_clears_the_failure(tmp_path: Path) -> None:
    failing = FatalSink()

    async def main() -> list[str | None]:
        async with Spool(tmp_path) as spool:
            await spool.put(batch(0))
            dispatcher = SpoolDispatcher(spool, failing, backoff=NO_WAIT)
            await dispatcher.drain()
            seen = [dispatcher.failed]
            failing.on_connect = False
            failing.accept_first = 3
            dispatcher.start()
            seen.append(dispatcher.failed)
            await dispatcher.stop()
            return seen

    seen = await main()
    assert seen[0] is not None
    assert seen[1] is None


# --- against the real services --------------------------------------------------------


async def test_postgresql_with_an_unknown_role_stops_until_the_configuration_is_fixed(
    tmp_path: Path, postgres_dsn: str, pg_schema: str
) -> None:
    host, port = services.POSTGRES
    wrong = f"postgresql://nobody_{uuid.uuid4().hex[:6]}:s3cr3tPW@{host}:{port}/test"
    table = f"{pg_schema}.readings"
    context = SinkContext(state_dir=tmp_path)
    originals = [batch(i) for i in range(4)]

    def postgres(dsn: str) -> PostgresSink:
        return PostgresSink(PostgresSettings(dsn=dsn, table=table), context)

    async def main() -> tuple[str | None, bool, int]:
        async with Spool(tmp_path / "spool") as spool:
            for b in originals:
                await spool.put(b)
            broken = SpoolDispatcher(spool, postgres(wrong), backoff=NO_WAIT)
            await broken.drain()
            failed, pending = broken.failed, spool.pending("postgresql")
            await broken.stop()
            fixed = SpoolDispatcher(spool, postgres(postgres_dsn), backoff=NO_WAIT)
            await fixed.drain()
            await fixed.stop()
            conn = await asyncpg.connect(postgres_dsn)
            try:
                count = await conn.fetchval(f"SELECT count(*) FROM {table}")
            finally:
                await conn.close()
            return failed, pending, int(count)

    failed, pending, count = await main()
    assert failed is not None
    assert "28000" in failed
    assert "s3cr3tPW" not in failed
    assert pending
    assert count == sum(len(b.readings) for b in originals)


async def test_http_401_stops_until_the_token_is_fixed(tmp_path: Path) -> None:
    good = "Bearer g00d-t0ken"
    context = SinkContext(state_dir=tmp_path)
    originals = [batch(i) for i in range(3)]

    def http(url: str, token: str) -> HttpSink:
        return HttpSink(HttpSettings.model_validate({"url": url, "bearer_token": token}), context)

    with services.recording_server() as server:
        server.responder = lambda request: (
            (204, {}, b"")
            if request.headers.get("authorization") == good
            else (401, {}, b"bad token")
        )

        async def main() -> tuple[str | None, bool, bool]:
            async with Spool(tmp_path / "spool") as spool:
                for b in originals:
                    await spool.put(b)
                broken = SpoolDispatcher(spool, http(server.url, "wr0ng-t0ken"), backoff=NO_WAIT)
                await broken.drain()
                failed, pending = broken.failed, spool.pending("http")
                await broken.stop()
                fixed = SpoolDispatcher(spool, http(server.url, "g00d-t0ken"), backoff=NO_WAIT)
                await fixed.drain()
                await fixed.stop()
                return failed, pending, spool.pending("http")

        failed, pending_then, pending_now = await main()
        requests = list(server.requests)
    assert failed is not None
    assert failed.startswith("HTTP 401")
    assert "wr0ng-t0ken" not in failed
    assert pending_then
    assert not pending_now
    assert len(requests) == 1 + len(originals)  # one refused request, then each batch once
