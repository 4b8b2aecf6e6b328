"""The figures: what was expected, taken, delivered, lost and duplicated, each miss
explained by an outage or an injected fault, and the daemon's memory over time."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from .fleet import LINE_FAULTS, METERS, REGISTERS, Meter
from .observers import Acknowledged, Subscriber
from .stores import missed_slots, stored_postgres, stored_sqlite
from .timeline import INTERVAL, Outage, iso, norm_slot


def duplicates(rows: list[tuple[str, str, str, str | None, str | None]]) -> int:
    """Rows sharing a key, plus readings of one (meter, register, slot) under two keys."""
    keys = [r[0] for r in rows]
    same_key = len(keys) - len(set(keys))
    by_slot: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for key, meter, address, slot, meter_time in rows:
        if slot is not None and meter_time is None:
            by_slot[(meter, address, norm_slot(slot))].add(key)
    return same_key + sum(len(k) - 1 for k in by_slot.values())


def analyse(
    folder: Path,
    schema: str,
    acknowledged: Acknowledged,
    subscriber: Subscriber,
    outages: list[Outage],
    first_slot: float,
    last_slot: float,
    rss: list[tuple[float, int, int]],
    started: float,
) -> dict[str, Any]:
    sqlite_rows = stored_sqlite(folder / "state" / "readings.sqlite")
    pg_rows = stored_postgres(schema)
    sqlite_keys = {r[0] for r in sqlite_rows}
    pg_keys = {r[0] for r in pg_rows}
    mqtt_keys = set(subscriber.keys)
    ack = dict(acknowledged.readings)
    for key, who, address, slot, _ in sqlite_rows + pg_rows:
        ack.setdefault(key, (who, address, slot))
    for key in mqtt_keys - set(ack):
        ack[key] = ("?", "?", None)
    acked = set(ack)
    slots = [first_slot + i * INTERVAL for i in range(int((last_slot - first_slot) / INTERVAL) + 1)]
    slot_names = {iso(s): s for s in slots}
    taken: dict[tuple[str, str], set[str]] = defaultdict(set)
    for who, address, slot in ack.values():
        if slot is not None and norm_slot(slot) in slot_names:
            taken[(who, norm_slot(slot))].add(address)
    expected = 0
    logged_missed = missed_slots(folder / "daemon.log")
    unexplained: list[str] = []
    misses: dict[str, int] = defaultdict(int)
    garbled = 0
    taken_count = 0
    for meter in METERS:
        registers = REGISTERS[meter.profile]
        for name, wall in slot_names.items():
            got = taken.get((meter.address, name), set())
            if meter.fault == "silent":
                continue  # it never answers: nothing is expected of it
            expected += registers
            good = min(len(got), registers)
            taken_count += good
            garbled += max(0, len(got) - registers)
            if good == registers:
                continue
            missing = registers - good
            if (meter.address, name) in logged_missed:
                cause = "slot missed, logged: the meter's previous read still running"
            else:
                cause = explain(meter, wall, outages, acknowledged, name, bool(got))
            misses[cause] += missing
            if cause == "unexplained":
                unexplained.append(f"{meter.address} {name} ({good} of {registers})")
    lost_sqlite = sorted(acked - sqlite_keys)
    lost_pg = sorted(acked - pg_keys)
    thirds = rss_thirds(rss, started)
    return {
        "slots": len(slots),
        "meters": len(METERS),
        "readings": {
            "expected": expected,
            "taken": taken_count,
            "misses": dict(misses),
            "unexplained": unexplained,
            "garbled_extra_registers": garbled,
            "acknowledged_keys": len(acked),
            "delivered": {
                "sqlite": len(sqlite_keys),
                "postgresql": len(pg_keys),
                "mqtt_distinct_keys": len(mqtt_keys),
                "mqtt_messages": subscriber.messages,
            },
            "lost": {
                "sqlite": len(lost_sqlite),
                "postgresql": len(lost_pg),
                "examples": (lost_sqlite + lost_pg)[:5],
            },
            "mqtt_missing_keys": len(acked - mqtt_keys),
            "duplicated": {"sqlite": duplicates(sqlite_rows), "postgresql": duplicates(pg_rows)},
        },
        "outages": [
            {"what": o.what, "from": iso(o.start), "to": iso(o.end) if o.end else None}
            for o in outages
        ],
        "rss": thirds,
        "spool_snapshots": acknowledged.snapshots,
    }


def explain(
    meter: Meter,
    slot: float,
    outages: list[Outage],
    acknowledged: Acknowledged,
    slot_name: str,
    partial: bool,
) -> str:
    for outage in outages:
        end = outage.end if outage.end is not None else float("inf")
        if outage.what == "daemon killed" and outage.start - INTERVAL <= slot <= end + 1.0:
            return "daemon killed (slots from the one running at the kill until ready again)"
        if (
            outage.what == "tcp port unplugged"
            and meter.bus == "tcp"
            and outage.start - INTERVAL <= slot <= end + INTERVAL
        ):
            return "tcp port unplugged (until the first slot after it returned)"
    if meter.fault in LINE_FAULTS or meter.fault == "echo":
        failed = (meter.address, slot_name) in acknowledged.failed_sessions
        kind = "readout cut short" if partial else ("failed read" if failed else "not read")
        return f"injected line faults ({kind})"
    return "unexplained"


def rss_thirds(rss: list[tuple[float, int, int]], started: float) -> dict[str, Any]:
    if not rss:
        return {}
    peaks = peaks_by_third([(when, kib) for when, _, kib in rss], started)
    mb = [round(p / 1024, 1) for p in peaks]
    return {
        "peak_mb_by_third": mb,
        "samples": len(rss),
        "processes": len({pid for _, pid, _ in rss}),
        "last_third_exceeds_first": peaks[2] > peaks[0],
        "growth_mb": round((peaks[2] - peaks[0]) / 1024, 1),
        "by_process": rss_by_process(rss),
    }


def rss_by_process(rss: list[tuple[float, int, int]]) -> list[dict[str, Any]]:
    """Each daemon process's own RSS, by thirds of its own sampled life.

    The run's thirds mix processes once the daemon is killed: the first third ends
    with one process at its oldest, the last holds a restarted one at another age.
    Per process, a growth is the process's own, not the gap between two lives.
    """
    lives: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for when, pid, kib in rss:
        lives[pid].append((when, kib))
    out = []
    for pid, samples in lives.items():
        first, last = samples[0][0], samples[-1][0]
        peaks = peaks_by_third(samples, first)
        out.append(
            {
                "pid": pid,
                "seconds": round(last - first, 1),
                "samples": len(samples),
                "first_mb": round(samples[0][1] / 1024, 2),
                "last_mb": round(samples[-1][1] / 1024, 2),
                "peak_mb_by_third": [round(p / 1024, 2) for p in peaks],
                "late_kib_per_min": late_slope(samples),
            }
        )
    return out


def peaks_by_third(samples: list[tuple[float, int]], start: float) -> list[int]:
    """The highest KiB in each third of the time from ``start`` to the last sample."""
    span = max(1e-9, samples[-1][0] - start)
    peaks = [0, 0, 0]
    for when, kib in samples:
        third = min(2, int(3 * (when - start) / span))
        peaks[third] = max(peaks[third], kib)
    return peaks


def late_slope(samples: list[tuple[float, int]]) -> float | None:
    """The RSS trend over the second half of a process's life, in KiB a minute.

    A least-squares slope, so that one peak does not decide it: an allocator still
    settling shows a small slope that falls as the run goes on, a leak a steady one.
    """
    half = samples[len(samples) // 2 :]
    if len(half) < 10:
        return None
    try:
        fit = statistics.linear_regression([t for t, _ in half], [k for _, k in half])
    except statistics.StatisticsError:  # every sample at one instant
        return None
    return round(60 * fit.slope, 2)
