"""A stand-in for the daemon, for the SIGKILL test: engine + spool + two file sinks.

    python -m tests.pipeline.runner STATE_DIR --cycles N --time-scale X

Polls ``sim://lg-zmd?count=4`` on scaled time (real time, sped up), one cycle per
quarter-hour slot from ``SLOT0``, with every batch ``put`` into the spool in
``STATE_DIR`` and dispatched to an ``sqlite`` and a ``jsonl`` sink there. It starts
at the first cycle the journal does not show as done, so a runner started again
after a kill polls the interrupted cycle again (the same slots, so the same keys).

Its journal, ``STATE_DIR/journal.jsonl``, is the test's witness: each line is one
``os.write`` to an ``O_APPEND`` descriptor (a SIGKILL leaves at most the last one
cut; the page cache survives the process):

* ``{"put": [keys], "cycle": i}`` just before ``spool.put`` is called;
* ``{"acked": [keys], "cycle": i}`` as soon as ``spool.put`` returned;
* ``{"cycle_done": i}``; ``{"drained": true}`` once both sinks have everything.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from poller.delivery import SpoolDispatcher
from poller.engine import BusEngine, MeterSettings
from poller.readings import ReadingBatch
from poller.sinks import SinkContext, build_sink, sink_config_models
from poller.spool import Spool
from poller.transport import port_for_url
from poller.util import Backoff

SLOT0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
METERS = 4
SINKS = ({"type": "sqlite", "path": "readings.sqlite"}, {"type": "jsonl", "path": "readings.jsonl"})


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = path.stat().st_size
        if size and not path.read_bytes().endswith(b"\n"):
            os.write(self.fd, b"\n")  # the last life's last line was cut by the kill

    def write(self, **entry: Any) -> None:
        os.write(self.fd, (json.dumps(entry) + "\n").encode())

    def first_undone(self) -> int:
        done = [-1]
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "cycle_done" in entry:
                done.append(entry["cycle_done"])
        return max(done) + 1


async def main(state: Path, cycles: int, time_scale: float) -> None:
    state.mkdir(parents=True, exist_ok=True)
    journal = Journal(state / "journal.jsonl")
    port = port_for_url(f"sim://lg-zmd?count={METERS}&time_scale={time_scale}")
    simulated: Any = port.inner  # a sim:// port shows its bus, and so the meters' addresses
    addresses = [meter.spec.address for meter in simulated.bus.meters]
    context = SinkContext(state_dir=state)
    models = sink_config_models()
    sinks = [build_sink(models[c["type"]].model_validate(c), context) for c in SINKS]
    cycle = journal.first_undone()

    async with Spool(state) as spool:

        async def on_batch(batch: ReadingBatch) -> None:
            keys = [r.key for r in batch.readings]
            journal.write(put=keys, cycle=cycle)
            await spool.put(batch)
            journal.write(acked=keys, cycle=cycle)

        backoff = Backoff(initial=0.01, maximum=0.1, factor=2.0, jitter=0.0)
        dispatchers = [SpoolDispatcher(spool, sink, backoff=backoff) for sink in sinks]
        for dispatcher in dispatchers:
            dispatcher.start()
        engine = BusEngine(
            "bus-1", port, [MeterSettings(address=a) for a in addresses], on_batch=on_batch
        )
        async with engine:
            while cycle < cycles:
                slot = SLOT0 + dt.timedelta(minutes=15 * cycle)
                batches = await asyncio.gather(*engine.submit_all(slot=slot))
                assert all(b.ok for b in batches), [b.error for b in batches]
                journal.write(cycle_done=cycle)
                cycle += 1
        while any(spool.pending(d.sink_id) for d in dispatchers):
            await asyncio.sleep(0.01)
        journal.write(drained=True)
        for dispatcher in dispatchers:
            await dispatcher.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("state", type=Path)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.02)
    args = parser.parse_args()
    asyncio.run(main(args.state, args.cycles, args.time_scale))
