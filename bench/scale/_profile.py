"""One small run under cProfile: the in-process simulator's share of the CPU, and the
hot spots by area (package) and by function."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ._child import run_child


def profile_split(buses: int, meters: int) -> dict[str, Any]:
    """One small run under cProfile: the simulator's share and the hot spots.

    The simulator runs in the daemon's process, so the CPU per reading above is
    daemon plus simulator. The simulator's share is the profiled time spent inside
    the simulated port (``poller/simulator/_url.py``: read, write, set_line, ...,
    everything they call included) over the whole profiled time of the main thread.
    """
    import pstats

    with tempfile.TemporaryDirectory(prefix="bench-scale-prof-") as folder:
        stats_file = Path(folder) / "stats.prof"
        result = run_child(buses, meters, 1, 0.0, extra=["--profile", str(stats_file)])
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
        area = area_of(file)
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
                "where": f"{short(file)}:{line}:{fn}",
                "tottime_share": round(tt / total, 3),
                "cumtime_share": round(ct / total, 3),
                "calls": nc,
            }
            for (file, line, fn), (_, nc, tt, ct, _) in hot
        ],
    }


def area_of(file: str) -> str:
    if "/poller/" in file:
        return "poller/" + file.split("/poller/")[1].split("/")[0]
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0]
    if file.startswith(("~", "<")):
        return "built-ins (C)"
    return "stdlib " + file.rsplit("/", 1)[-1]


def short(file: str) -> str:
    for marker in ("/work/main/", "site-packages/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file
