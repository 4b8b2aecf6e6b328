"""Start-up's objects are frozen out of the cyclic GC while the daemon runs (see
``_freeze_start_up_objects``), and given back when it stops."""

from __future__ import annotations

import asyncio
import gc
import weakref
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


async def test_start_up_objects_are_frozen_while_running_and_released_at_stop(
    tmp_path: Path,
) -> None:
    async def main() -> tuple[int, int]:
        daemon = Daemon(parse_config(CONFIG.format(state=tmp_path / "state"), base_dir=tmp_path))
        running = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 30)
        frozen = gc.get_freeze_count()
        daemon.request_stop()
        assert await asyncio.wait_for(running, 30) == 0
        return frozen, gc.get_freeze_count()

    frozen_while_running, frozen_after = await main()
    assert frozen_while_running > 1000
    assert frozen_after == 0


SECOND_BUS = """
  - name: second
    port: sim://lg-zmd?clock=manual
    schedule: {every: 1d}
    meters:
      - address: "31002782"
"""


async def test_a_bus_dropped_by_a_reload_is_not_kept_frozen(tmp_path: Path) -> None:
    # A bus is held in reference cycles (its tasks and its engine refer to each other),
    # so only the cyclic GC frees it; frozen with start-up's objects, it never would be.
    state = tmp_path / "state"
    one_bus = CONFIG.format(state=state)
    two_buses = one_bus.replace("sinks:", SECOND_BUS.lstrip("\n") + "sinks:")
    path = tmp_path / "config.yaml"
    path.write_text(one_bus)

    async def main() -> tuple[bool, int]:
        daemon = Daemon(parse_config(two_buses, base_dir=tmp_path), config_path=path)
        running = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 30)
        engine = daemon.buses["second"].engine
        assert engine is not None
        dropped = weakref.ref(engine)
        del engine
        daemon.request_reload()
        for _ in range(500):
            await asyncio.sleep(0.01)
            if "second" not in daemon.buses:
                break
        await asyncio.sleep(0.1)  # the reload's last steps
        alive = dropped() is not None
        frozen = gc.get_freeze_count()
        daemon.request_stop()
        assert await asyncio.wait_for(running, 30) == 0
        return alive, frozen

    alive, frozen = await main()
    assert not alive
    assert frozen > 1000  # and what is left is frozen again
