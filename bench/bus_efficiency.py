"""Item 1: one polling cycle of 8 mode C meters on one pty, against the wire's limit.

Eight simulated ``lg-zmd`` meters (mode C, 300 Bd sign-on, 9600 Bd readout, tr 200 ms)
share ONE virtual bus, served on a pty by the simulator at real timing (time_scale 1)
in a thread of its own. A ``BusEngine`` reads them through the real ``SerialPort``
(the pty's path as port URL), one full cycle (``submit_all``), repeated.

The physical minimum of a cycle, from first principles (STD 5, 6.4, annex A):

* wire time of every character sent and received, 10 bits per character (start,
  7 data, parity, stop) at the rate in use: request, identification and option
  select at 300 Bd, the readout at 9600 Bd;
* the reaction times the standard requires: the meter's tr before its
  identification and before its readout (the meter's own 200 ms here), and ours
  before the option select (tr >= 200 ms: the identification's third letter is
  uppercase).

Nothing else is required: the meter is idle the moment its readout ends (no B0, no
guard time after a clean readout), the baud switch happens inside the meter's tr,
and the next request may start at once. Everything above the minimum is overhead,
and each session's overhead is attributed from the times of the simulator's bus log
(when each transmission started on the "wire") and of the engine's flight recorder
(when our port received the last byte, when we wrote):

* ``deliver``: the simulator's pty handing a finished message to our port late
  (its 10 ms tick, the loaded machine): the simulator's cost, not ours;
* ``answer``: the option select written later than tr after the identification's
  last byte reached our port: ours (event loop, session, transport);
* ``between``: from the previous readout's last byte reaching our port to our next
  request's write: ours (session end, batch, delivery, next job, flush, line change);
* ``pickup``: our write reaching the simulator's bus late (its thread's latency):
  the simulator's;
* ``tail``: the last readout's last byte reaching us to the cycle's futures
  resolving: ours.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from typing import Any

from poller.engine import BusEngine, EngineOptions, MeterSettings
from poller.protocol import OptionSelect, Request
from poller.simulator import BusEvent, MeterSpec, SimulatedMeter, VirtualBus, get_profile
from poller.transport import Port, port_for_url

from .common import EPOCH, fmt, serving, spread, wire

METERS = 8
TARGET = 0.95
PHASES = ("deliver", "answer", "between", "pickup", "tail")


@dataclass
class Session:
    """One meter's session in one cycle, with the times the breakdown needs."""

    address: str
    minimum: float
    phases: dict[str, float]


def meters() -> list[MeterSpec]:
    base = get_profile("lg-zmd")
    return [base.with_address(str(20_000_000 + i), seed=i) for i in range(METERS)]


def session_minimum(spec: MeterSpec, readout: bytes, *, client_tr: float) -> float:
    """Wire time of the four messages plus the three reaction times."""
    request = Request(address=spec.address).to_bytes()
    ident = spec.identification.to_bytes()
    ack = OptionSelect.readout(spec.baud_char).to_bytes()
    baud = {"4": 4800, "5": 9600, "6": 19200}[spec.baud_char]
    on_wire = wire(request, 300) + wire(ident, 300) + wire(ack, 300) + wire(readout, baud)
    return on_wire + 2 * spec.reaction_time + client_tr


def _frames_of(engine: BusEngine, t0: float, t1: float) -> list[Any]:
    return [f for f in engine.recorder.entries() if t0 <= f.time <= t1]


def analyse(
    specs: list[MeterSpec], events: list[BusEvent], frames: list[Any], t0: float, t1: float
) -> list[Session]:
    """Per-session minimum and overhead phases of one cycle (see the module docstring)."""
    sessions: list[Session] = []
    previous_heard = t0  # when our port had the previous readout's last byte
    by_session: dict[str, list[Any]] = {}
    for frame in frames:
        by_session.setdefault(frame.session, []).append(frame)
    ordered = sorted(by_session.values(), key=lambda fs: fs[0].time)
    for spec in specs:
        request = Request(address=spec.address).to_bytes()
        (req,) = [e for e in events if e.source == "client" and e.data == request]
        ident = next(e for e in events if e.source == spec.address and e.time >= req.time)
        ack = next(e for e in events if e.source == "client" and e.time > ident.time)
        readout = next(e for e in events if e.source == spec.address and e.time > ack.time)
        assert ident.data.startswith(b"/"), "unexpected bus log"
        assert ack.data.startswith(b"\x06"), "unexpected bus log"
        assert readout.data.startswith(b"\x02"), "unexpected bus log"
        mine = next(fs for fs in ordered if any(request.hex(" ") in f.hex for f in fs))
        sent = [f for f in mine if f.direction == ">"]
        heard = [f for f in mine if f.direction == "<"]
        sent_request, sent_ack = sent[0].time, sent[1].time
        ident_heard = max(f.time for f in heard if f.time < sent_ack)
        readout_heard = max(f.time for f in heard)
        client_tr = 0.02 if spec.manufacturer[2].islower() else 0.2
        ident_end = ident.time + wire(ident.data, ident.line.baud)
        readout_end = readout.time + wire(readout.data, readout.line.baud)
        phases = {
            "between": sent_request - previous_heard,
            "pickup": (req.time - sent_request) + (ack.time - sent_ack),
            "deliver": ident_heard - ident_end,
            "answer": sent_ack - (ident_heard + client_tr),
            # The meter's own lateness (0 by construction: the bus schedules its answers).
            "meter_late": (ident.time - req.time - wire(request, 300) - spec.reaction_time)
            + (readout.time - ack.time - wire(ack.data, 300) - spec.reaction_time),
            "tail": 0.0,
        }
        # Both messages' delivery lag: the identification's and the readout's.
        phases["deliver"] += readout_heard - readout_end
        sessions.append(
            Session(spec.address, session_minimum(spec, readout.data, client_tr=client_tr), phases)
        )
        previous_heard = readout_heard
    sessions[-1].phases["tail"] = t1 - previous_heard
    return sessions


async def _measure(path: str, specs: list[MeterSpec], cycles: int) -> list[dict[str, Any]]:
    port: Port = port_for_url(path)
    await port.open()
    settings = [MeterSettings(address=s.address) for s in specs]
    engine = BusEngine("bench", port, settings, options=EngineOptions(recorder_size=8192))
    runs: list[dict[str, Any]] = []
    async with engine:
        for _ in range(cycles):
            await asyncio.sleep(0.3)  # let the loaded machine settle; not measured
            t0 = port.clock.now()
            batches = await asyncio.gather(*engine.submit_all())
            t1 = port.clock.now()
            runs.append(
                {
                    "t0": t0,
                    "t1": t1,
                    "ok": all(b.ok for b in batches),
                    "errors": [b.error for b in batches if not b.ok],
                    "frames": _frames_of(engine, t0, t1),
                }
            )
    return runs


def run(cycles: int = 5) -> dict[str, Any]:
    specs = meters()
    bus = VirtualBus([SimulatedMeter(s, epoch=EPOCH) for s in specs])
    with serving([bus]) as (server,):
        runs = asyncio.run(_measure(server.path, specs, cycles))
        log = list(bus.log)
    results: list[dict[str, Any]] = []
    for r in runs:
        events = [e for e in log if r["t0"] <= e.time <= r["t1"]]
        entry: dict[str, Any] = {"measured": r["t1"] - r["t0"], "ok": r["ok"]}
        if r["ok"]:
            sessions = analyse(specs, events, r["frames"], r["t0"], r["t1"])
            minimum = sum(s.minimum for s in sessions)
            entry.update(
                minimum=minimum,
                efficiency=minimum / entry["measured"],
                sessions=[{"meter": s.address, "minimum": s.minimum, **s.phases} for s in sessions],
            )
        else:
            entry["errors"] = r["errors"]
        results.append(entry)
    good = [r for r in results if r["ok"]]
    per_meter: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        row: dict[str, Any] = {"meter": spec.address}
        for key in ("minimum", *PHASES, "meter_late"):
            row[key] = statistics.median(r["sessions"][i][key] for r in good) if good else None
        per_meter.append(row)
    return {
        "name": "bus_efficiency",
        "setup": f"{METERS} x lg-zmd (mode C, 300/9600 Bd, tr 200 ms) on one pty, "
        "simulator at time_scale 1, BusEngine over SerialPort",
        "target": TARGET,
        "cycles": len(results),
        "failed_cycles": len(results) - len(good),
        "measured_s": spread([r["measured"] for r in good]),
        "minimum_s": spread([r["minimum"] for r in good]),
        "efficiency": spread([r["efficiency"] for r in good]),
        "per_meter_median_s": per_meter,
        "runs": results,
    }


def table(result: dict[str, Any]) -> list[str]:
    eff = result["efficiency"]
    lines = [
        f"1. Bus efficiency: {result['setup']}",
        f"   cycles {result['cycles']} (failed {result['failed_cycles']}); "
        f"measured median {fmt(result['measured_s']['median'])} s "
        f"[{fmt(result['measured_s']['min'])}..{fmt(result['measured_s']['max'])}], "
        f"minimum {fmt(result['minimum_s']['median'])} s",
        f"   efficiency median {fmt(eff['median'], 4)} "
        f"[{fmt(eff['min'], 4)}..{fmt(eff['max'], 4)}]  target {result['target']}",
        "   per meter (median ms): minimum  deliver(sim) pickup(sim)  answer(ours) "
        "between(ours) tail(ours)",
    ]
    for row in result["per_meter_median_s"]:
        if row["minimum"] is None:
            continue
        lines.append(
            f"   {row['meter']:>10} {row['minimum'] * 1e3:8.1f} {row['deliver'] * 1e3:8.1f} "
            f"{row['pickup'] * 1e3:8.1f} {row['answer'] * 1e3:8.1f} "
            f"{row['between'] * 1e3:8.1f} {row['tail'] * 1e3:8.1f}"
        )
    return lines
