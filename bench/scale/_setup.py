"""The scale benchmark's setups and the daemon configuration each child runs: 64 buses
of 32 simulated ``lg-zmd`` meters, addresses unique across buses, one sqlite sink."""

from __future__ import annotations

from pathlib import Path

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

FIRST_ADDRESS = 40_000_000

REGISTERS = 20
"""Data sets of an lg-zmd readout."""


def bus_file(folder: Path, bus: int, meters: int) -> Path:
    path = folder / f"bus-{bus:02d}.yaml"
    lines = [f"seed: {bus + 1}", "epoch: 2026-03-02T10:00:00+00:00", "meters:"]
    # Installed the day the simulation starts: the simulated registers are then sums
    # over hours, not over every day since January, which would make the simulator
    # (in the daemon's process) cost several times what the daemon does.
    lines += [
        f'  - {{profile: lg-zmd, address: "{address(bus, m)}",'
        " installed: 2026-03-02T00:00:00+00:00}"
        for m in range(meters)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def address(bus: int, meter: int) -> str:
    return str(FIRST_ADDRESS + bus * 1000 + meter)


def config_text(folder: Path, buses: int, meters: int, time_scale: float, rx_latency: float) -> str:
    out = [
        f"state_dir: {folder / 'state'}",
        "timezone: UTC",
        "log: {level: warning, format: json}",
        "http: {enabled: false}",
        "buses:",
    ]
    for b in range(buses):
        path = bus_file(folder, b, meters)
        out += [
            f"  - name: bus-{b:02d}",
            f"    port: sim://{path}?{clock_query(time_scale)}&rx_latency={rx_latency}",
            # Cycles are driven by the benchmark; the schedule is stopped at once.
            "    schedule: {every: 1d}",
            "    meters:",
        ]
        out += [f'      - address: "{address(b, m)}"' for m in range(meters)]
    out += ["sinks:", "  - type: sqlite", "    path: readings.sqlite"]
    return "\n".join(out) + "\n"


def clock_query(time_scale: float) -> str:
    """0: simulated time (``clock=manual``); else real time scaled by ``time_scale``."""
    return "clock=manual" if time_scale == 0 else f"time_scale={time_scale}"
