"""``make bench``: run the benchmarks of issue 7, print a table, write ``bench/results.json``.

    python -m bench.run                      # everything
    python -m bench.run --only parser        # bus, peer, parser (comma-separated)
    python -m bench.run --cycles 3 --repeats 3 --out /tmp/results.json

Benchmarks report; they never assert. Real-timing figures (bus, peer) depend on the
machine's load: each is repeated and reported as median [min..max].

Items 4 (scale and cost: the daemon over 64 x 32 simulated meters, in a child
process) and 5 (sink throughput into SQLite, PostgreSQL and MQTT) are
``bench/scale.py`` and ``bench/sinks.py``; every module has a ``run(**options) ->
dict`` and a ``table(dict) -> list[str]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import structlog

from . import bus_efficiency, parser_throughput, peer_client, scale, sinks

RESULTS = Path(__file__).resolve().parent / "results.json"

# name -> (issue item, module, options taken from the command line)
BENCHMARKS: dict[str, tuple[int, ModuleType | None, Callable[[argparse.Namespace], dict[str, Any]]]]
BENCHMARKS = {
    "bus": (1, bus_efficiency, lambda a: {"cycles": a.cycles}),
    "peer": (2, peer_client, lambda a: {"repeats": a.peer_repeats}),
    "parser": (3, parser_throughput, lambda a: {"repeats": a.repeats}),
    "scale": (4, scale, lambda a: {"cycles": a.scale_cycles, "repeats": a.scale_repeats}),
    "sinks": (5, sinks, lambda a: {"repeats": 3}),
}
PENDING = {
    "scale": "scale and cost: 64 buses x 32 meters, CPU per reading, peak RSS, readings/s "
    "through the spool to SQLite (needs the daemon)",
    "sinks": "sink throughput: readings/s into SQLite, PostgreSQL, MQTT (needs the sinks)",
}


def _quiet() -> None:
    """The engine logs every session at info; a benchmark shows only warnings."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("iec62056_21").setLevel(logging.CRITICAL)


def _environment() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": load,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--cycles", type=int, default=5, help="bus cycles (default 5)")
    parser.add_argument("--peer-repeats", type=int, default=3, help="reads per client and tr")
    parser.add_argument("--repeats", type=int, default=7, help="parser timing runs (median)")
    parser.add_argument("--scale-cycles", type=int, default=1, help="scale: cycles (default 1)")
    parser.add_argument(
        "--scale-repeats", type=int, default=2, help="scale: runs of the 100x headline (default 2)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    _quiet()
    results: dict[str, Any] = {"environment": _environment(), "benchmarks": {}}
    lines: list[str] = []
    for name in chosen:
        item, module, options = BENCHMARKS[name]
        if module is None:
            results["benchmarks"][name] = {"item": item, "status": "not yet implemented"}
            lines += [f"{item}. {PENDING[name]}: not yet implemented", ""]
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        result = module.run(**options(args))
        result["item"] = item
        result["bench_seconds"] = round(time.monotonic() - started, 1)
        results["benchmarks"][name] = result
        lines += [*module.table(result), ""]
    environment = results["environment"]
    header = (
        f"iec-poller benchmarks, {environment['when']}, Python {environment['python']}, "
        f"{environment['cpus']} CPUs, load average {environment['load_average']}"
    )
    print("\n".join([header, "", *lines]).rstrip())
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
