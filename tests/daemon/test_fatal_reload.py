"""A sink stopped by a fatal error keeps its readings, and a reload with the fix resumes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from poller.config import parse_config
from poller.daemon import Daemon
from poller.spool import Spool
from tests import services

from ..sinks.helpers import batch
from .helpers import bus, config_text


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_reload_with_the_right_token_delivers_what_waited(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = tmp_path / "config.yaml"
    originals = [batch(i) for i in range(3)]

    with services.recording_server() as server:
        server.responder = lambda request: (
            (204, {}, b"")
            if request.headers.get("authorization") == "Bearer g00d"
            else (401, {}, b"")
        )

        def text(token: str) -> str:
            sink = {"type": "http", "url": server.url, "bearer_token": token}
            return config_text(state, [bus("sim")], [sink])

        async def main() -> tuple[str | None, int, bool]:
            async with Spool(state) as spool:  # what an earlier run left for the sink
                spool.register("http")
                for b in originals:
                    await spool.put(b)
            path.write_text(text("wr0ng"))
            daemon = Daemon(parse_config(text("wr0ng"), base_dir=tmp_path), config_path=path)
            running = asyncio.create_task(daemon.run())
            await asyncio.wait_for(daemon.ready.wait(), 30)
            dispatcher = daemon.state.dispatchers["http"]
            await until(lambda: dispatcher.failed is not None)
            failed, refused = dispatcher.failed, len(server.requests)
            path.write_text(text("g00d"))
            daemon.request_reload()
            await until(lambda: len(server.requests) == refused + len(originals))
            resumed = daemon.state.dispatchers["http"].failed is None
            daemon.request_stop()
            assert await asyncio.wait_for(running, 30) == 0
            return failed, refused, resumed

        failed, refused, resumed = await main()
    assert failed is not None
    assert failed.startswith("HTTP 401")
    assert "wr0ng" not in failed
    assert refused == 1  # not retried
    assert resumed
