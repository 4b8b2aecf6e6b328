"""The soak's time: a slot every ``INTERVAL`` seconds, the faults planned on them, and
the outages as they happened. Times are wall-clock seconds (``time.time()``), as the
daemon's schedule is; slots in reports are ISO 8601 in UTC."""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

INTERVAL = 30.0


@dataclass
class Outage:
    what: str
    start: float  # wall clock (time.time())
    end: float | None = None


def next_slot(after: float) -> float:
    return (int(after // INTERVAL) + 1) * INTERVAL


def plan_faults(cycles: int, rng: random.Random) -> dict[int, list[str]]:
    """Which fault starts at which cycle: each kind once, the daemon kill mid-run."""
    plan: dict[int, list[str]] = defaultdict(list)
    last = max(2, cycles - 3)
    plan[rng.randint(1, last)].append("unplug")
    plan[rng.randint(1, last)].append("broker")
    plan[rng.randint(max(1, cycles // 3), max(1, (2 * cycles) // 3))].append("kill")
    if cycles >= 9:
        plan[rng.randint(1, last)].append("unplug")
    return plan


def iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat()


def norm_slot(slot: str) -> str:
    return dt.datetime.fromisoformat(slot).astimezone(dt.UTC).isoformat()


def log(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
