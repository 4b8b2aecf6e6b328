"""``make soak``: the daemon over simulated meters, under faults, for a fixed number of cycles.

    python -m soak.run                     # 8 cycles of 30 s (about 5 minutes)
    python -m soak.run --cycles 8 --seed 3 --keep

What runs (real timing, real processes):

* ``iec-poller run`` as a subprocess, every bus on ``every: 30s``, three sinks:
  ``sqlite`` and ``postgresql`` (idempotent: a schema of the soak's own, dropped at
  the end) and ``mqtt`` (QoS 1) on a private Mosquitto on a free port;
* every bus behind ``iec-poller simulate --tcp`` in a process of its own (a
  TCP-serial converter), so that the daemon's memory is the daemon's alone: the
  simulator keeps a log of the line that fills for longer than a soak runs;
* bus ``faulty``: a clean meter, a silent one, one whose blocks fail their BCC
  (``bcc_error_rate``), and one with flipped and dropped bytes (``flip_rate``,
  ``drop_rate``), all drawn at random from the seed;
* bus ``optical``: a meter whose line echoes every byte (``quirks.echo``; the bus
  has ``echo: true``);
* bus ``tcp``: three meters, on the converter that gets unplugged;
* at random cycles (drawn from ``--seed``): the TCP simulator is SIGKILLed (the
  port unplugged) and started again some seconds later; the broker is SIGKILLed and
  started again; the daemon itself is SIGKILLed and started again on the same state
  directory.

What is counted:

* **acknowledged**: every reading of a batch the spool held. The spool file is read
  (read-only) every 0.3 s while the daemon runs; a batch leaves the spool only once
  every sink has had it, so acknowledged = what the snapshots saw + what any sink
  stored;
* **expected**: every (schedule slot x meter x register) from the first slot to the
  last, for every meter but the silent one; the misses are then explained: the
  daemon down (killed until ready again), the TCP port unplugged (until its next
  slot after the return), failed reads of meters with injected line faults;
  anything else is *unexplained*;
* **taken**: distinct (meter, register, slot) acknowledged;
* **delivered**: rows at sqlite and postgresql (distinct keys), distinct keys
  received by an MQTT subscriber of the soak's own;
* **lost**: acknowledged keys missing at sqlite or postgresql (must be 0);
* **duplicated**: rows sharing a key, or one (meter, register, slot) stored under
  two keys, at sqlite or postgresql (must be 0);
* the daemon's RSS (``/proc/PID/status``) every second, peak per third of the run,
  and per daemon process by thirds of its own life (a restart starts a new one).

Prints a table and writes ``soak/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
BIN = Path(sys.executable).parent / "iec-poller"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
INTERVAL = 30.0
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def log(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- the processes ---------------------------------------------------------------------


class _Child:
    """A helper process the soak kills on purpose (and starts again)."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Broker(_Child):
    """A private mosquitto on a free port, no persistence: a restart forgets everything."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.binary = binary
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest none\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_port(self.port, 10):
            raise RuntimeError("mosquitto did not start")


class TcpSimulator(_Child):
    """``iec-poller simulate --tcp`` on a fixed port: the converter that gets unplugged."""

    def __init__(self, meters_file: Path, log_file: Path) -> None:
        self.port = free_port()
        self.meters_file = meters_file
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [BIN, "simulate", "--config", str(self.meters_file), "--tcp", self.address],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if not wait_port(self.port, 15):
            raise RuntimeError("the TCP simulator did not start")


class DaemonProcess:
    def __init__(self, config: Path, http_port: int, log_file: Path) -> None:
        self.config = config
        self.http_port = http_port
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [BIN, "run", "--config", str(self.config), "--log-format", "json"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.starts += 1

    def ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True  # 503 while a bus is down: it answers, so it is up
            except OSError:
                time.sleep(0.1)
        return False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def terminate(self, timeout: float = 60) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


# -- the observers ---------------------------------------------------------------------


@dataclass
class Acknowledged:
    """Readings seen in the spool: key -> (meter, address, slot)."""

    readings: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    failed_sessions: set[tuple[str, str | None]] = field(default_factory=set)
    snapshots: int = 0
    last_batches: int = -1


def watch_spool(path: Path, into: Acknowledged, stop: threading.Event) -> None:
    from poller.spool._codec import decode_batch

    seen: set[int] = set()
    while not stop.is_set():
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                rows = db.execute("SELECT seq, body FROM batches").fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            rows = None
        if rows is not None:
            into.snapshots += 1
            into.last_batches = len(rows)
            for seq, body in rows:
                if seq in seen:
                    continue
                seen.add(seq)
                batch = decode_batch(body)
                slot = batch.slot.isoformat() if batch.slot else None
                if batch.error is not None:
                    into.failed_sessions.add((batch.meter, slot))
                for r in batch.readings:
                    r_slot = r.slot.isoformat() if r.slot else None
                    into.readings[r.key] = (r.meter, r.address or "", r_slot)
        stop.wait(0.3)


def sample_rss(
    daemon: DaemonProcess, into: list[tuple[float, int, int]], stop: threading.Event
) -> None:
    while not stop.is_set():
        pid = daemon.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                into.extend(
                    (time.monotonic(), pid, int(line.split()[1]))
                    for line in status
                    if line.startswith("VmRSS:")
                )
        stop.wait(1.0)


class Subscriber:
    """Counts the MQTT messages by key; reconnects whenever the broker comes back."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.keys: dict[str, int] = defaultdict(int)
        self.messages = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _run(self) -> None:
        import aiomqtt

        while not self._stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier="soak-counter", clean_session=False
                ) as client:
                    await client.subscribe("soak/#", qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        self.messages += 1
                        with contextlib.suppress(ValueError, TypeError, AttributeError):
                            payload = message.payload
                            assert isinstance(payload, bytes | bytearray)
                            self.keys[json.loads(payload)["key"]] += 1
                        if self._stop.is_set():
                            return
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.2)


# -- the setup -------------------------------------------------------------------------


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


# -- the run ---------------------------------------------------------------------------


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


def soak(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="iec-soak-"))
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    files = write_meters(folder, args.seed)
    broker = Broker(folder)
    simulators = {
        bus: TcpSimulator(file, folder / f"simulator-{bus}.log")
        for bus, file in zip(("faulty", "optical", "tcp"), files, strict=True)
    }
    tcp = simulators["tcp"]
    ports = {bus: simulator.port for bus, simulator in simulators.items()}
    config, http_port = write_config(folder, ports, broker.port, schema)
    daemon = DaemonProcess(config, http_port, folder / "daemon.log")
    acknowledged = Acknowledged()
    rss: list[tuple[float, int, int]] = []
    stop = threading.Event()
    outages: list[Outage] = []
    events: list[dict[str, Any]] = []
    log(f"folder {folder}; postgresql schema {schema}")
    broker.start()
    subscriber = Subscriber(broker.port)
    subscriber.start()
    subscriber.connected.wait(10)
    for simulator in simulators.values():
        simulator.start()
    daemon.start()
    if not daemon.ready(60):
        raise RuntimeError(f"the daemon did not start; see {folder / 'daemon.log'}")
    spool = folder / "state" / "spool.sqlite"
    watchers = [
        threading.Thread(target=watch_spool, args=(spool, acknowledged, stop), daemon=True),
        threading.Thread(target=sample_rss, args=(daemon, rss, stop), daemon=True),
    ]
    for t in watchers:
        t.start()
    started = time.monotonic()
    first_slot = next_slot(time.time())
    plan = plan_faults(args.cycles, rng)
    pending: list[tuple[float, str]] = []  # (wall time, action) restarts to do
    log(f"{args.cycles} cycles of {INTERVAL:.0f} s from slot {_iso(first_slot)}; faults {plan}")
    for cycle in range(args.cycles):
        slot = first_slot + cycle * INTERVAL
        # Faults strike somewhere inside the cycle, not on the slot itself.
        strike = slot + rng.uniform(1.0, INTERVAL - 3.0)
        actions = list(plan.get(cycle, []))
        while time.time() < slot + INTERVAL:
            now = time.time()
            for when, action in list(pending):
                if now >= when:
                    pending.remove((when, action))
                    restart(action, broker, tcp, daemon, outages, events)
            if actions and now >= strike:
                for action in actions:
                    strike_fault(action, broker, tcp, daemon, outages, events, pending, rng)
                actions = []
            time.sleep(0.05)
        log(f"cycle {cycle + 1}/{args.cycles} done")
    for _, action in sorted(pending):
        restart(action, broker, tcp, daemon, outages, events)
    last_slot = first_slot + (args.cycles - 1) * INTERVAL
    # The last slot's reads are done by now (a cycle takes well under an interval);
    # then every sink catches up (a dispatcher may be in its backoff after an outage).
    drained = wait_drained(acknowledged, timeout=args.drain_timeout)
    log(f"sinks drained: {drained}")
    exit_status = daemon.terminate()
    time.sleep(0.5)
    stop.set()
    for t in watchers:
        t.join(timeout=5)
    left = spool_left(spool)
    if left:
        # A conversation that finished during the stop put its batch in the spool after
        # the dispatchers had stopped: by design it waits there for the next start.
        # Start once more, with no meter due, until the spool is empty.
        log(f"{left} batch(es) left in the spool at the stop: a restart delivers them")
        drain = DaemonProcess(
            write_drain_config(folder, config), free_port(), folder / "daemon.log"
        )
        drain.start()
        drain.ready(60)
        deadline = time.monotonic() + args.drain_timeout
        while spool_left(spool) and time.monotonic() < deadline:
            time.sleep(0.3)
        drain.terminate()
    time.sleep(1.0)
    subscriber.stop()
    broker.kill()
    for simulator in simulators.values():
        simulator.kill()
    elapsed = time.monotonic() - started
    result = analyse(
        folder, schema, acknowledged, subscriber, outages, first_slot, last_slot, rss, started
    )
    result.update(
        {
            "cycles": args.cycles,
            "interval_s": INTERVAL,
            "seed": args.seed,
            "seconds": round(elapsed, 1),
            "faults": events,
            "daemon_starts": daemon.starts,
            "daemon_exit_status": exit_status,
            "sinks_drained": drained,
            "batches_left_in_spool_at_stop": left,
            "batches_left_after_restart": spool_left(spool),
            "folder": str(folder) if args.keep else None,
        }
    )
    drop_schema(schema)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def strike_fault(
    action: str,
    broker: Broker,
    tcp: TcpSimulator,
    daemon: DaemonProcess,
    outages: list[Outage],
    events: list[dict[str, Any]],
    pending: list[tuple[float, str]],
    rng: random.Random,
) -> None:
    now = time.time()
    if action == "unplug":
        tcp.kill()
        down = rng.uniform(8.0, 25.0)
        outages.append(Outage("tcp port unplugged", now))
        pending.append((now + down, "replug"))
    elif action == "broker":
        broker.kill()
        down = rng.uniform(3.0, 20.0)
        outages.append(Outage("broker down", now))
        pending.append((now + down, "broker"))
    else:
        daemon.kill()
        down = rng.uniform(0.5, 5.0)
        outages.append(Outage("daemon killed", now))
        pending.append((now + down, "daemon"))
    events.append({"fault": action, "at": _iso(now), "down_s": round(down, 1)})
    log(f"fault: {action} for {down:.1f} s")


def restart(
    action: str,
    broker: Broker,
    tcp: TcpSimulator,
    daemon: DaemonProcess,
    outages: list[Outage],
    events: list[dict[str, Any]],
) -> None:
    if action == "replug":
        tcp.start()
        what = "tcp port unplugged"
    elif action == "broker":
        broker.start()
        what = "broker down"
    else:
        daemon.start()
        daemon.ready(60)
        what = "daemon killed"
    for outage in outages:
        if outage.what == what and outage.end is None:
            outage.end = time.time()
    log(f"restored: {what}")


def spool_left(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])


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


def missed_slots(log_file: Path) -> set[tuple[str, str]]:
    """(meter, slot) the daemon logged as missed: the meter's previous read still running."""
    out = set()
    for line in log_file.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            event = json.loads(line)
            if event.get("event") == "slot missed":
                out.add((event["meter"], _norm(event["slot"])))
    return out


def wait_drained(acknowledged: Acknowledged, timeout: float) -> bool:
    """Until the spool holds no batch (every sink has had everything)."""
    deadline = time.monotonic() + timeout
    time.sleep(2 * INTERVAL / 3)
    while time.monotonic() < deadline:
        before = acknowledged.snapshots
        while acknowledged.snapshots == before and time.monotonic() < deadline:
            time.sleep(0.1)
        if acknowledged.last_batches == 0:
            return True
    return False


def drop_schema(schema: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        asyncio.run(drop())


def _iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat()


# -- the figures -----------------------------------------------------------------------


def stored_sqlite(path: Path) -> list[tuple[str, str, str, str | None, str | None]]:
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows: list[tuple[str, str, str, str | None, str | None]] = db.execute(
            "SELECT key, meter, address, slot, meter_time FROM readings"
        ).fetchall()
        return rows


def stored_postgres(schema: str) -> list[tuple[str, str, str, str | None, str | None]]:
    import asyncpg

    async def fetch() -> list[tuple[str, str, str, str | None, str | None]]:
        conn = await asyncpg.connect(PG_DSN)
        try:
            rows = await conn.fetch(
                f'SELECT key, meter, address, slot, meter_time FROM "{schema}".readings'  # noqa: S608
            )
        finally:
            await conn.close()

        def text(value: Any) -> str | None:
            return value.isoformat() if isinstance(value, dt.datetime) else value

        return [(r[0], r[1], r[2], text(r[3]), text(r[4])) for r in rows]

    try:
        return asyncio.run(fetch())
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        log(f"postgresql: {exc}")
        return []


def duplicates(rows: list[tuple[str, str, str, str | None, str | None]]) -> int:
    """Rows sharing a key, plus readings of one (meter, register, slot) under two keys."""
    keys = [r[0] for r in rows]
    same_key = len(keys) - len(set(keys))
    by_slot: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for key, meter, address, slot, meter_time in rows:
        if slot is not None and meter_time is None:
            by_slot[(meter, address, _norm(slot))].add(key)
    return same_key + sum(len(k) - 1 for k in by_slot.values())


def _norm(slot: str) -> str:
    return dt.datetime.fromisoformat(slot).astimezone(dt.UTC).isoformat()


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
    slot_names = {_iso(s): s for s in slots}
    taken: dict[tuple[str, str], set[str]] = defaultdict(set)
    for who, address, slot in ack.values():
        if slot is not None and _norm(slot) in slot_names:
            taken[(who, _norm(slot))].add(address)
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
            {"what": o.what, "from": _iso(o.start), "to": _iso(o.end) if o.end else None}
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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soak.run", description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=8, help="schedule slots (default 8)")
    parser.add_argument(
        "--minutes", type=float, default=None, help="instead of --cycles: run about this long"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.minutes is not None:
        args.cycles = max(3, int(args.minutes * 60 / INTERVAL))
    os.chdir(ROOT)
    result = soak(args)
    print("\n".join(table(result)))
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
