"""The scale benchmark's result as the table ``make bench`` prints."""

from __future__ import annotations

from typing import Any

from bench.common import fmt

from ._setup import REGISTERS


def med(summary: dict[str, Any], digits: int) -> str:
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
        failed = f"{med(s['failed_sessions'], 0)}/{med(s['failed_reads'], 0)}"
        lines.append(
            f"   {label:<20} {s['rows']['n']:>4}  {med(s['cpu_ms_per_reading'], 3):<21} "
            f"{med(s['peak_rss_mb'], 1):<18} {med(s['readings_per_s'], 0):<22} "
            f"{failed:<22} {med(s['short_batches'], 0):<15} {med(s['loop_lag_max_ms'], 0)}"
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
