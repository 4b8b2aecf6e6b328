"""The soak's result as the table ``make soak`` prints."""

from __future__ import annotations

from typing import Any


def table(result: dict[str, Any]) -> list[str]:
    r = result["readings"]
    d = r["delivered"]
    rss = result["rss"]
    lines = [
        f"Soak: {result['cycles']} cycles of {result['interval_s']:.0f} s "
        f"({result['seconds']:.0f} s), {result['meters']} meters on 3 buses, seed "
        f"{result['seed']}; daemon started {result['daemon_starts']} times, "
        f"exit status at the end {result['daemon_exit_status']}",
        "faults: "
        + ", ".join(
            f"{f['fault']} at {f['at'][11:19]} for {f['down_s']} s" for f in result["faults"]
        ),
        "",
        f"  readings expected (slots x registers, silent meter excluded)  {r['expected']:>7}",
        f"  taken (distinct meter, register, slot acknowledged)            {r['taken']:>7}",
    ]
    lines += [f"    missed: {cause:<56} {n:>7}" for cause, n in sorted(r["misses"].items())]
    lines += [
        f"  garbled extra registers (readout cut short, see report)      "
        f"{r['garbled_extra_registers']:>7}",
        f"  acknowledged keys (spool snapshots + any sink)                 "
        f"{r['acknowledged_keys']:>7}",
        f"  delivered: sqlite                                              {d['sqlite']:>7}",
        f"  delivered: postgresql                                          {d['postgresql']:>7}",
        f"  delivered: mqtt distinct keys ({d['mqtt_messages']} messages)"
        f"{'':<{max(1, 26 - len(str(d['mqtt_messages'])))}}{d['mqtt_distinct_keys']:>7}",
        f"  LOST at sqlite / postgresql (must be 0)                  "
        f"{r['lost']['sqlite']:>5} / {r['lost']['postgresql']:<5}",
        f"  DUPLICATED at sqlite / postgresql (must be 0)            "
        f"{r['duplicated']['sqlite']:>5} / {r['duplicated']['postgresql']:<5}",
        f"  not received by the MQTT subscriber (QoS 1, broker restarts)  "
        f"{r['mqtt_missing_keys']:>7}",
    ]
    if rss:
        lines.append(
            f"  daemon RSS peak per third (MB): {rss['peak_mb_by_third']}; last third exceeds "
            f"the first: {'YES' if rss['last_third_exceeds_first'] else 'no'} "
            f"({rss['growth_mb']:+.1f} MB; {rss['samples']} samples, {rss['processes']} processes)"
        )
        lines += [
            f"    process {p['pid']}: {p['seconds']:.0f} s, {p['first_mb']} -> {p['last_mb']} MB, "
            f"peak per third of its life {p['peak_mb_by_third']}"
            + (
                ""
                if p.get("late_kib_per_min") is None
                else f", trend over its second half {p['late_kib_per_min']:+.1f} KiB/min"
            )
            for p in rss.get("by_process", [])
        ]
    return lines
