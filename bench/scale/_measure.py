"""The measurement, inside the child process: the real ``Daemon`` started, its
scheduler stopped, each cycle driven with ``submit_all()`` on every engine, then the
CPU, wall time, peak RSS, failures and loop lag from the first cycle to the sink
drained (the package's docstring says why each is measured so)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sqlite3
import time
from pathlib import Path
from typing import Any

from ._setup import REGISTERS, config_text


def peak_rss_mb() -> float:
    """The child's own high-water mark (``VmHWM``).

    Not ``ru_maxrss``: Linux carries it over from the parent through fork and exec,
    so a child of a big ``bench.run`` would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_by_package() -> dict[str, float]:
    """Live Python allocations (tracemalloc) by package, MB, the largest first."""
    import tracemalloc

    totals: dict[str, float] = {}
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        name = stat.traceback[0].filename
        if "/poller/" in name:
            key = "poller/" + name.split("/poller/")[1].split("/")[0]
        elif "site-packages/" in name:
            key = name.split("site-packages/")[1].split("/")[0]
        else:
            key = "python: " + name.rsplit("/", 1)[-1]
        totals[key] = totals.get(key, 0.0) + stat.size / 2**20
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:8]
    return {k: round(v, 1) for k, v in top}


def count_failed_sessions(daemon: Any) -> int:
    total = 0.0
    for metric in daemon.metrics.registry.collect():
        if metric.name == "iec_poller_sessions":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") != "ok":
                    total += sample.value
    return int(total)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    import structlog

    from poller.config import parse_config
    from poller.daemon import Daemon

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    if args.memory:
        import tracemalloc

        tracemalloc.start(1)
    folder = Path(args.folder)
    config = parse_config(
        config_text(folder, args.buses, args.meters, args.time_scale, args.rx_latency),
        base_dir=folder,
    )
    daemon = Daemon(config)
    # Daemon.run configures nothing about logging itself; keep the engines quiet.
    running = asyncio.create_task(daemon.run())
    await daemon.ready.wait()
    assert daemon.scheduler is not None
    await daemon.scheduler.stop()
    engines = [b.engine for b in daemon.buses.values() if b.engine is not None]
    assert daemon.spool is not None
    spool = daemon.spool

    worst_lag = 0.0

    async def watch_loop() -> None:
        nonlocal worst_lag
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.02)
            worst_lag = max(worst_lag, time.perf_counter() - started - 0.02)

    watcher = asyncio.create_task(watch_loop())
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    failed_reads = 0
    short = 0
    short_details: list[dict[str, Any]] = []
    batches = 0
    cycle_seconds = []
    for _ in range(args.cycles):
        started = time.perf_counter()
        futures = [f for e in engines for f in e.submit_all()]
        # As they finish, and then dropped, as the daemon's own consumers do: holding
        # a whole cycle's 40,960 readings here would be the benchmark's memory.
        for finished in asyncio.as_completed(futures):
            batch = await finished
            batches += 1
            failed_reads += not batch.ok
            # A "successful" readout missing registers: its start was lost on the line.
            if batch.ok and len(batch.readings) != REGISTERS:
                short += 1
                short_details.append(
                    {
                        "bus": batch.bus,
                        "meter": batch.meter,
                        "obis": [r.obis and str(r.obis) for r in batch.readings],
                        "repeats": batch.repeats,
                        "baud": batch.baud,
                        "command_errors": [str(e) for e in batch.command_errors],
                        "frames": [
                            f.fields()
                            for e in engines
                            if e.name == batch.bus
                            for f in e.recorder.entries()
                        ][-40:],
                    }
                )
        cycle_seconds.append(time.perf_counter() - started)
    polled = time.perf_counter()
    while spool.pending("sqlite"):
        await asyncio.sleep(0.01)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    watcher.cancel()
    delivered = spool.stats().sinks["sqlite"].counters.delivered_readings
    failed_sessions = count_failed_sessions(daemon)
    memory = memory_by_package() if args.memory else None
    daemon.request_stop()
    await running
    with contextlib.closing(sqlite3.connect(folder / "state" / "readings.sqlite")) as db:
        rows = db.execute("SELECT count(*) FROM readings").fetchone()[0]
    return {
        "buses": args.buses,
        "meters": args.meters,
        "cycles": args.cycles,
        "time_scale": args.time_scale,
        "jobs": batches,
        "failed_reads": failed_reads,
        "failed_sessions": failed_sessions,
        "short_batches": short,
        "short_details": short_details,
        "readings_delivered": delivered,
        "rows": rows,
        "cpu_s": cpu,
        "wall_s": wall,
        "poll_s": polled - wall0,
        "cycle_s": cycle_seconds,
        "cpu_ms_per_reading": 1000.0 * cpu / rows if rows else None,
        "readings_per_s": rows / wall if wall else None,
        "peak_rss_mb": peak_rss_mb(),
        "loop_lag_max_ms": worst_lag * 1000.0,
        **({"memory_mb_by_package": memory} if memory else {}),
    }
