"""Running one setup in a fresh child process (``python -m bench.scale --child``), so
that its CPU time and peak RSS are the daemon's alone; its result is the JSON line
the child prints last."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._setup import RX_LATENCY


def run_child(
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
        root = Path(__file__).resolve().parents[2]
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, capture_output=True, text=True, cwd=root, timeout=3600, check=False
        )
        if done.returncode != 0:
            return {"error": (done.stderr or done.stdout).strip().splitlines()[-5:]}
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
