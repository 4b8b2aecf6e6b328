"""Every setup, each in a fresh child, and the command line (``python -m bench.scale``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bench.common import spread

from ._child import run_child
from ._measure import measure
from ._profile import profile_split
from ._report import table
from ._setup import BUSES, CPU_TARGET_MS, CYCLES, METERS, RSS_TARGET_MB, RX_LATENCY, SETUPS


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
            runs.append(run_child(buses, meters, cycles, scale, rx_latency=rx_latency))
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
        split = profile_split(8, meters)
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


def main() -> int:
    from bench import scale  # the package's docstring describes the benchmark

    assert scale.__doc__ is not None
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=scale.__doc__.splitlines()[0]
    )
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
            result = profiler.runcall(asyncio.run, measure(args))
            profiler.dump_stats(args.profile)
        else:
            result = asyncio.run(measure(args))
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
