"""Start-up's objects are frozen out of the cyclic GC while the daemon runs (see
``_freeze_start_up_objects``), and given back when it stops."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from poller.config import parse_config
from poller.daemon import Daemon

CONFIG = """
state_dir: {state}
timezone: UTC
http: {{enabled: false}}
buses:
  - name: sim
    port: sim://lg-zmd?clock=manual
    schedule: {{every: 1d}}
    meters:
      - address: "31002781"
sinks:
  - type: jsonl
    path: readings.jsonl
"""


def test_start_up_objects_are_frozen_while_running_and_released_at_stop(tmp_path: Path) -> None:
    async def main() -> tuple[int, int]:
        daemon = Daemon(parse_config(CONFIG.format(state=tmp_path / "state"), base_dir=tmp_path))
        running = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 30)
        frozen = gc.get_freeze_count()
        daemon.request_stop()
        assert await asyncio.wait_for(running, 30) == 0
        return frozen, gc.get_freeze_count()

    frozen_while_running, frozen_after = asyncio.run(main())
    assert frozen_while_running > 1000
    assert frozen_after == 0
