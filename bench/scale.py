"""Item 4: scale and cost. The daemon over 64 buses x 32 simulated meters, to SQLite.

The real ``Daemon`` (spool, dispatcher, sqlite sink, metrics, HTTP off) runs in a
child process of its own (``python -m bench.scale --child``), so its CPU time and
peak RSS are the daemon's alone. Each bus is an in-process simulated line
(``sim:///.../bus-NN.yaml?time_scale=X``) of 32 ``lg-zmd`` meters (mode C, 300 Bd
sign-on, 9600 Bd readout, tr 200 ms, 20 registers), with addresses unique across
buses so that no idempotency key is shared between two buses.

Cycles are driven, not scheduled: once the daemon is ready its scheduler is stopped
and each cycle is ``submit_all()`` on every bus's engine at once, awaited to the
last final batch. That is exactly a scheduled slot's work (the scheduler does the
same ``submit``), minus the idle time between slots that a schedule would add, so a
fixed number of cycles is a fixed amount of work. After the last cycle the child
waits until the sqlite sink's cursor has reached the end of the spool.

Measured in the child, from just before the first cycle to the sink drained:

* CPU per reading: process CPU time (user + system, every thread: the loop, the
  spool's and the sink's SQLite threads) / readings in the sink's table;
* readings/s: readings in the sink's table / wall time;
* peak RSS: ``VmHWM`` of the child at the end (its whole life);
* failed reads (final batches with an error) and failed sessions (retries included),
  and the longest the event loop was late on a 20 ms tick.

Setups, each in a fresh child:

* ``100x`` (the issue's setup, the headline, repeated): ``time_scale`` 0.01 makes the
  meter's tr 2 ms and the option-select window 15-22 ms of real time, with 64 buses
  on one loop. The daemon's ``SessionGate`` starts a session only while the loop
  keeps time, so the buses take turns instead of all missing their windows; failed
  sessions and "short readouts" (a readout accepted without the bytes that came
  before our baud switch: fewer data sets than the meter has) show whether it did.
* ``20x``: the same at ``time_scale`` 0.05.
* ``simulated``: ``clock=manual``, each bus's time jumps to what it waits for, so
  every timing relation is exact whatever the load.
* ``simulated, per byte``: as ``simulated`` with ``rx_latency`` 0, the simulator
  waking the client for every character (a UART with a one-byte FIFO): the most
  wake-ups a port could cause, the worst case for the CPU figure.

The other setups use ``rx_latency`` ``RX_LATENCY`` (16 ms of simulated time): while a
meter talks the client is woken at most that often, and at once when the line falls
quiet, as a USB adapter's latency timer (16 ms by default on FTDI chips) hands over
what it holds. The profile below says how much of the process's CPU the in-process
simulator itself takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import fmt, spread

BUSES = 64
METERS = 32
CYCLES = 1
RX_LATENCY = 0.016
"""Simulated seconds between wake-ups while a meter talks: a USB adapter's latency timer."""
HEADLINE = "100x"
# label -> (time_scale, rx_latency, runs: None for the --scale-repeats count); a
# time_scale of 0 is simulated time (``clock=manual``): exact whatever the load.
SETUPS: dict[str, tuple[float, float, int | None]] = {
    HEADLINE: (0.01, RX_LATENCY, None),
    "20x": (0.05, RX_LATENCY, 1),
    "simulated": (0.0, RX_LATENCY, 1),
    "simulated, per byte": (0.0, 0.0, 1),
}
CPU_TARGET_MS = 1.0
RSS_TARGET_MB = 100.0
_FIRST_ADDRESS = 40_000_000
REGISTERS = 20
"""Data sets of an lg-zmd readout."""


def _bus_file(folder: Path, bus: int, meters: int) -> Path:
    path = folder / f"bus-{bus:02d}.yaml"
    lines = [f"seed: {bus + 1}", "epoch: 2026-03-02T10:00:00+00:00", "meters:"]
    # Installed the day the simulation starts: the simulated registers are then sums
    # over hours, not over every day since January, which would make the simulator
    # (in the daemon's process) cost several times what the daemon does.
    lines += [
        f'  - {{profile: lg-zmd, address: "{_address(bus, m)}",'
        " installed: 2026-03-02T00:00:00+00:00}"
        for m in range(meters)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _address(bus: int, meter: int) -> str:
    return str(_FIRST_ADDRESS + bus * 1000 + meter)


def _config_text(
    folder: Path, buses: int, meters: int, time_scale: float, rx_latency: float
) -> str:
    out = [
        f"state_dir: {folder / 'state'}",
        "timezone: UTC",
        "log: {level: warning, format: json}",
        "http: {enabled: false}",
        "buses:",
    ]
    for b in range(buses):
        path = _bus_file(folder, b, meters)
        out += [
            f"  - name: bus-{b:02d}",
            f"    port: sim://{path}?{_clock_query(time_scale)}&rx_latency={rx_latency}",
            # Cycles are driven by the benchmark; the schedule is stopped at once.
            "    schedule: {every: 1d}",
            "    meters:",
        ]
        out += [f'      - address: "{_address(b, m)}"' for m in range(meters)]
    out += ["sinks:", "  - type: sqlite", "    path: readings.sqlite"]
    return "\n".join(out) + "\n"


def _clock_query(time_scale: float) -> str:
    """0: simulated time (``clock=manual``); else real time scaled by ``time_scale``."""
    return "clock=manual" if time_scale == 0 else f"time_scale={time_scale}"


def _peak_rss_mb() -> float:
    """The child's own high-water mark (``VmHWM``).

    Not ``ru_maxrss``: Linux carries it over from the parent through fork and exec,
    so a child of a big ``bench.run`` would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory_by_package() -> dict[str, float]:
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


def _failed_sessions(daemon: Any) -> int:
    total = 0.0
    for metric in daemon.metrics.registry.collect():
        if metric.name == "iec_poller_sessions":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") != "ok":
                    total += sample.value
    return int(total)


async def _child(args: argparse.Namespace) -> dict[str, Any]:
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
        _config_text(folder, args.buses, args.meters, args.time_scale, args.rx_latency),
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
    cpu0, wall0 = _cpu(), time.perf_counter()
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
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    watcher.cancel()
    delivered = spool.stats().sinks["sqlite"].counters.delivered_readings
    failed_sessions = _failed_sessions(daemon)
    memory = _memory_by_package() if args.memory else None
    daemon.request_stop()
    await running
    with sqlite3.connect(folder / "state" / "readings.sqlite") as db:
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
        "peak_rss_mb": _peak_rss_mb(),
        "loop_lag_max_ms": worst_lag * 1000.0,
        **({"memory_mb_by_package": memory} if memory else {}),
    }


def _run_child(
    buses: int,
    meters: int,
    cycles: int,
    time_scale: float,
    *,
    rx_latency: float = RX_LATENCY,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        command = [
            sys.executable,
            "-m",
            "bench.scale",
            "--child",
            "--folder",
            folder,
            "--buses",
            str(buses),
            "--meters",
            str(meters),
            "--cycles",
            str(cycles),
            "--time-scale",
            str(time_scale),
            "--rx-latency",
            str(rx_latency),
            *(extra or []),
        ]
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, capture_output=True, text=True, cwd=root, timeout=3600, check=False
        )
        if done.returncode != 0:
            return {"error": (done.stderr or done.stdout).strip().splitlines()[-5:]}
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def _profile_split(buses: int, meters: int) -> dict[str, Any]:
    """One small run under cProfile: the simulator's share and the hot spots.

    The simulator runs in the daemon's process, so the CPU per reading above is
    daemon plus simulator. The simulator's share is the profiled time spent inside
    the simulated port (``poller/simulator/_url.py``: read, write, set_line, ...,
    everything they call included) over the whole profiled time of the main thread.
    """
    import pstats

    with tempfile.TemporaryDirectory(prefix="bench-scale-prof-") as folder:
        stats_file = Path(folder) / "stats.prof"
        result = _run_child(buses, meters, 1, 0.0, extra=["--profile", str(stats_file)])
        if "error" in result:
            return {"error": result["error"]}
        stats = pstats.Stats(str(stats_file))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    simulated = sum(
        ct
        for (file, _, fn), (_, _, _, ct, _) in raw.items()
        if file.endswith("poller/simulator/_url.py")
        and fn in ("read", "write", "set_line", "reset_input", "open", "close")
    )
    by_area: dict[str, float] = {}
    for (file, _, _), (_, _, tt, _, _) in raw.items():
        area = _area(file)
        by_area[area] = by_area.get(area, 0.0) + tt
    hot = sorted(raw.items(), key=lambda kv: -kv[1][2])[:12]
    return {
        "buses": buses,
        "meters": meters,
        "simulator_share": simulated / total if total else None,
        "tottime_share_by_area": {
            k: round(v / total, 3) for k, v in sorted(by_area.items(), key=lambda kv: -kv[1])[:8]
        },
        "hot_spots": [
            {
                "where": f"{_short(file)}:{line}:{fn}",
                "tottime_share": round(tt / total, 3),
                "cumtime_share": round(ct / total, 3),
                "calls": nc,
            }
            for (file, line, fn), (_, nc, tt, ct, _) in hot
        ],
    }


def _area(file: str) -> str:
    if "/poller/" in file:
        return "poller/" + file.split("/poller/")[1].split("/")[0]
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0]
    if file.startswith(("~", "<")):
        return "built-ins (C)"
    return "stdlib " + file.rsplit("/", 1)[-1]


def _short(file: str) -> str:
    for marker in ("/work/main/", "site-packages/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def run(
    *,
    buses: int = BUSES,
    meters: int = METERS,
    cycles: int = CYCLES,
    setups: dict[str, tuple[float, float, int | None]] | None = None,
    repeats: int = 2,
    profile: bool = True,
) -> dict[str, Any]:
    """Every setup in a fresh child each run; the headline ``repeats`` times."""
    results: dict[str, Any] = {}
    for label, (scale, rx_latency, count) in (setups or SETUPS).items():
        runs = []
        for _ in range(repeats if count is None else count):
            print(f"  scale: {label} ...", file=sys.stderr, flush=True)
            runs.append(_run_child(buses, meters, cycles, scale, rx_latency=rx_latency))
        good = [r for r in runs if "error" not in r]
        summary: dict[str, Any] = {"time_scale": scale, "rx_latency": rx_latency, "runs": runs}
        for key in (
            "cpu_ms_per_reading",
            "peak_rss_mb",
            "readings_per_s",
            "failed_reads",
            "failed_sessions",
            "short_batches",
            "loop_lag_max_ms",
            "rows",
            "wall_s",
        ):
            summary[key] = spread([r[key] for r in good if r.get(key) is not None])
        results[label] = summary
    split = None
    if profile:
        print("  scale: profile (8 buses, simulated clock) ...", file=sys.stderr, flush=True)
        split = _profile_split(8, meters)
    simulated = results.get("simulated")
    estimate = None
    if simulated and split and split.get("simulator_share") is not None:
        cpu = simulated["cpu_ms_per_reading"]["median"]
        if cpu is not None:
            estimate = cpu * (1.0 - split["simulator_share"])
    return {
        "buses": buses,
        "meters": meters,
        "cycles": cycles,
        "repeats": repeats,
        "setups": results,
        "profile": split,
        "daemon_cpu_ms_per_reading_estimate": estimate,
        "targets": {"cpu_ms_per_reading": CPU_TARGET_MS, "peak_rss_mb": RSS_TARGET_MB},
    }


def _med(summary: dict[str, Any], digits: int) -> str:
    if not summary or summary.get("median") is None:
        return "-"
    return (
        f"{fmt(summary['median'], digits)} [{fmt(summary['min'], digits)}.."
        f"{fmt(summary['max'], digits)}]"
    )


def table(result: dict[str, Any]) -> list[str]:
    n = result["buses"] * result["meters"]
    lines = [
        f"4. Scale and cost: the daemon (child process), {result['buses']} buses x "
        f"{result['meters']} lg-zmd meters ({n}, {n * REGISTERS} readings a cycle), "
        f"{result['cycles']} driven cycle(s), sqlite sink; median [min..max]",
        "   setup                runs  CPU ms/reading        peak RSS MB        "
        "readings/s to sqlite   failed sessions/reads  short readouts  loop lag max ms",
    ]
    for label, s in result["setups"].items():
        errors = [r["error"] for r in s["runs"] if "error" in r]
        if errors and not s["rows"]["n"]:
            lines.append(f"   {label:<20} failed: {errors[0]}")
            continue
        failed = f"{_med(s['failed_sessions'], 0)}/{_med(s['failed_reads'], 0)}"
        lines.append(
            f"   {label:<20} {s['rows']['n']:>4}  {_med(s['cpu_ms_per_reading'], 3):<21} "
            f"{_med(s['peak_rss_mb'], 1):<18} {_med(s['readings_per_s'], 0):<22} "
            f"{failed:<22} {_med(s['short_batches'], 0):<15} {_med(s['loop_lag_max_ms'], 0)}"
        )
    profile = result.get("profile")
    if profile and "error" not in profile:
        share = profile["simulator_share"]
        lines.append(
            f"   profile ({profile['buses']} buses, simulated clock, cProfile, main thread): "
            f"the in-process simulator takes {100 * share:.0f} % of it"
        )
        estimate = result["daemon_cpu_ms_per_reading_estimate"]
        if estimate is not None:
            lines.append(
                f"   daemon alone (simulated-clock CPU x (1 - simulator share)): "
                f"~{estimate:.3f} ms CPU per reading"
            )
        areas = ", ".join(
            f"{k} {100 * v:.0f} %" for k, v in profile["tottime_share_by_area"].items()
        )
        lines.append(f"   own time by area: {areas}")
        lines.append("   hot spots (own time %, with callees %):")
        lines += [
            f"     {100 * spot['tottime_share']:5.1f} % {100 * spot['cumtime_share']:5.1f} %"
            f"  {spot['where']}"
            for spot in profile["hot_spots"][:8]
        ]
    lines.append(
        f"   targets: < {result['targets']['cpu_ms_per_reading']} ms CPU per reading, "
        f"< {result['targets']['peak_rss_mb']:.0f} MB peak RSS"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="run the daemon here (internal)")
    parser.add_argument("--folder", default="")
    parser.add_argument("--buses", type=int, default=BUSES)
    parser.add_argument("--meters", type=int, default=METERS)
    parser.add_argument("--cycles", type=int, default=CYCLES)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--rx-latency", type=float, default=RX_LATENCY)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="child: tracemalloc by package")
    parser.add_argument("--profile", default="", help="child: write cProfile stats here")
    args = parser.parse_args()
    if args.child:
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(asyncio.run, _child(args))
            profiler.dump_stats(args.profile)
        else:
            result = asyncio.run(_child(args))
        print(json.dumps(result))
        return 0
    label = f"time_scale {args.time_scale}, rx_latency {args.rx_latency}"
    result = run(
        buses=args.buses,
        meters=args.meters,
        cycles=args.cycles,
        setups={label: (args.time_scale, args.rx_latency, args.repeats)},
        profile=args.time_scale == 0,
    )
    print("\n".join(table(result)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
