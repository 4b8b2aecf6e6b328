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

The roles: ``fleet`` (meters and configurations), ``timeline`` (slots, planned
faults, outages), ``processes`` (the daemon and simulators; the broker and the
process helpers are ``harness``'s, shared with the tests), ``observers`` (spool,
memory and MQTT watchers), ``stores`` and ``analysis`` (the figures), ``report``
(the table); this module runs the cycles and strikes the faults.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from harness.ports import free_port
from harness.processes import Mosquitto

from .analysis import analyse
from .fleet import write_config, write_drain_config, write_meters
from .observers import Acknowledged, Subscriber, sample_rss, watch_spool
from .processes import ROOT, DaemonProcess, TcpSimulator
from .report import table
from .stores import drop_schema, spool_left
from .timeline import INTERVAL, Outage, iso, log, next_slot, plan_faults

RESULTS = Path(__file__).resolve().parent / "results.json"


def soak(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="iec-soak-"))
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    files = write_meters(folder, args.seed)
    broker = Mosquitto(folder)
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
    log(f"{args.cycles} cycles of {INTERVAL:.0f} s from slot {iso(first_slot)}; faults {plan}")
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
    broker: Mosquitto,
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
    events.append({"fault": action, "at": iso(now), "down_s": round(down, 1)})
    log(f"fault: {action} for {down:.1f} s")


def restart(
    action: str,
    broker: Mosquitto,
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
