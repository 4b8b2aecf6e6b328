"""What the soak runs: its meters (one per kind of fault), the simulator files for its
three buses, and the daemon's configurations (the soak's, and the drain's with no
meter due)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.ports import free_port

from .timeline import INTERVAL

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

REGISTERS = {"lg-zmd": 20, "iskra-mt174": 7}


@dataclass(frozen=True)
class Meter:
    bus: str
    address: str
    profile: str
    fault: str  # "" (clean), "silent", "bcc", "noise", "echo"


METERS = (
    Meter("faulty", "31002781", "lg-zmd", ""),
    Meter("faulty", "31002782", "lg-zmd", "silent"),
    Meter("faulty", "31002783", "lg-zmd", "bcc"),
    Meter("faulty", "31002784", "lg-zmd", "noise"),
    Meter("optical", "31002791", "lg-zmd", "echo"),
    Meter("tcp", "60912204", "iskra-mt174", ""),
    Meter("tcp", "60912205", "iskra-mt174", ""),
    Meter("tcp", "60912206", "iskra-mt174", ""),
)

LINE_FAULTS = ("bcc", "noise")


def write_meters(folder: Path, seed: int) -> tuple[Path, Path, Path]:
    epoch = "2026-03-02T00:00:00+00:00"
    faulty = folder / "faulty.yaml"
    faulty.write_text(
        f"seed: {seed}\nepoch: {epoch}\nmeters:\n"
        '  - {profile: lg-zmd, address: "31002781"}\n'
        '  - {profile: lg-zmd, address: "31002782", faults: {silent: true}}\n'
        '  - {profile: lg-zmd, address: "31002783", faults: {bcc_error_rate: 0.25}}\n'
        '  - {profile: lg-zmd, address: "31002784",'
        " faults: {flip_rate: 0.0005, drop_rate: 0.0005}}\n"
    )
    optical = folder / "optical.yaml"
    optical.write_text(
        f"seed: {seed + 1}\nepoch: {epoch}\nmeters:\n"
        '  - {profile: lg-zmd, address: "31002791", quirks: {echo: true}}\n'
    )
    tcp = folder / "tcp.yaml"
    tcp.write_text(
        f"seed: {seed + 2}\nepoch: {epoch}\nmeters:\n"
        + "".join(
            f'  - {{profile: iskra-mt174, address: "{m.address}"}}\n'
            for m in METERS
            if m.bus == "tcp"
        )
    )
    return faulty, optical, tcp


def write_config(
    folder: Path, ports: dict[str, int], mqtt_port: int, schema: str
) -> tuple[Path, int]:
    http_port = free_port()

    def meters(bus: str) -> str:
        return "".join(f'      - address: "{m.address}"\n' for m in METERS if m.bus == bus)

    engine = (
        "    schedule: soak\n"
        "    probe_interval: 30s\n"
        "    reopen_backoff: {initial: 500ms, maximum: 2s, factor: 2, jitter: 0.1}\n"
        "    meter_defaults: {retries: 1, backoff: {initial: 1s, maximum: 2s}}\n"
    )
    text = (
        f"state_dir: {folder / 'state'}\n"
        "timezone: UTC\n"
        "log: {level: info, format: json}\n"
        f"http: {{listen: 127.0.0.1:{http_port}}}\n"
        f"schedules:\n  soak: {{every: {int(INTERVAL)}s}}\n"
        "buses:\n"
        f"  - name: faulty\n    port: socket://127.0.0.1:{ports['faulty']}\n{engine}"
        f"    meters:\n{meters('faulty')}"
        f"  - name: optical\n    port: socket://127.0.0.1:{ports['optical']}\n    echo: true\n"
        f"{engine}    meters:\n{meters('optical')}"
        f"  - name: tcp\n    port: socket://127.0.0.1:{ports['tcp']}\n{engine}"
        f"    meters:\n{meters('tcp')}"
        "sinks:\n"
        "  - type: sqlite\n    path: readings.sqlite\n"
        f"  - type: postgresql\n    dsn: {PG_DSN}\n    table: {schema}.readings\n"
        "    timescale: 'off'\n"
        f"  - type: mqtt\n    port: {mqtt_port}\n    topic: 'soak/{{meter}}/{{address}}'\n"
        "    qos: 1\n"
    )
    path = folder / "config.yaml"
    path.write_text(text)
    return path, http_port


def write_drain_config(folder: Path, config: Path) -> Path:
    """The soak's configuration with one idle bus instead of the three: only the sinks work."""
    text = config.read_text()
    head, rest = text.split("buses:\n", 1)
    sinks = rest[rest.index("sinks:\n") :]
    http = free_port()
    head = "\n".join(
        f"http: {{listen: 127.0.0.1:{http}}}" if line.startswith("http:") else line
        for line in head.splitlines()
    )
    path = folder / "drain.yaml"
    path.write_text(
        head + "\nbuses:\n  - name: idle\n    port: sim://lg-zmd\n"
        '    schedule: {cron: "0 0 1 1 *"}\n    meters:\n      - address: "31002781"\n' + sinks
    )
    return path
