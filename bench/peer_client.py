"""Item 2: the same simulated meter read by the PyPI ``iec62056-21`` client and by us.

One ``iskra-mt174`` meter (``/ISk5``: mode C, 300 Bd sign-on, 9600 Bd readout; its
lowercase third letter allows tr down to 20 ms) is served on a fresh pty for every
read, at real timing, with its reaction time set to each of 20, 200, 500 and 1000 ms.
Both clients read it with the general address ``/?!`` (the peer's serial transport
sends no address) in this process:

* ``iec62056-21 (PyPI)``, the peer:
  ``Iec6205621Client.with_serial_transport(path).standard_readout()``; it answers
  the identification at once, without the client reaction time the standard asks;
* ``iec-poller read``, ours and the headline:
  ``poller.cli.main(["read", path, "--format", "json"])``, the command a technician
  runs, which drives the daemon's transport, session and batch code; it waits the
  20 ms the identification asks for before its option select;
* ``iec-poller read --client-tr 0``: the same with no reaction time of ours, i.e.
  on the peer's terms, for a like-for-like comparison.

Wall time runs from the call (port opening included) to its return. The minimum is
the same for all rows: the wire time of request, identification, option select
(300 Bd) and readout (9600 Bd, the bytes the meter served), plus the meter's tr
twice and the client's required tr (20 ms, the lowercase third letter) before its
option select; the rows that skip that tr can beat it by up to 20 ms.

The timeline columns say where a client's own time went: lead, from the call to its
first byte on the wire; answer, from the end of the identification to its option
select; tail, from the readout's last byte to the return.

The peer sleeps 1.25 x its tr after the option select and then 0.5 s more before it
reopens the port at the new rate, so a meter that answers sooner is heard at the wrong
rate. Its read timeout is lowered from 10 s to ``PEER_TIMEOUT`` here, only so that
its failures cost less bench time; it changes nothing about whether it succeeds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import time
from typing import Any

from poller.cli import main as cli_main
from poller.protocol import OptionSelect, Request
from poller.simulator import BusEvent, MeterSpec, SimulatedMeter, VirtualBus, get_profile

from .common import EPOCH, fmt, serving, spread, wire

PROFILE = "iskra-mt174"
REACTION_TIMES = (0.02, 0.2, 0.5, 1.0)
PEER_TIMEOUT = 4.0
CLIENT_TR = 0.02  # required of the client after an identification like /ISk5
_WIDTH = 29  # the longest client name


def _minimum(spec: MeterSpec, log: list[BusEvent]) -> float | None:
    readout = next(
        (e for e in log if e.source == spec.address and e.data.startswith(b"\x02")), None
    )
    if readout is None:
        return None
    on_wire = (
        wire(Request(address="").to_bytes(), 300)
        + wire(spec.identification.to_bytes(), 300)
        + wire(OptionSelect.readout(spec.baud_char).to_bytes(), 300)
        + wire(readout.data, 9600)
    )
    return on_wire + 2 * spec.reaction_time + CLIENT_TR


def _timeline(spec: MeterSpec, log: list[BusEvent], start: float, end: float) -> dict[str, Any]:
    """Where the wall time went: before our first byte, our answer to the ident, after."""
    client = [e for e in log if e.source == "client"]
    ident = next((e for e in log if e.source == spec.address and e.data.startswith(b"/")), None)
    readout = next(
        (e for e in log if e.source == spec.address and e.data.startswith(b"\x02")), None
    )
    out: dict[str, Any] = {"lead": client[0].time - start if client else None}
    if ident is not None:
        ident_end = ident.time + wire(ident.data, ident.line.baud)
        ack = next((e for e in client if e.time > ident.time), None)
        out["answer"] = ack.time - ident_end if ack is not None else None
    if readout is not None:
        out["tail"] = end - (readout.time + wire(readout.data, readout.line.baud))
    return out


def _read_peer(path: str) -> tuple[bool, int, str]:
    from iec62056_21.client import Iec6205621Client

    client = Iec6205621Client.with_serial_transport(port=path)
    client.transport.timeout = PEER_TIMEOUT
    client.connect()
    opened = [client.transport.port]
    try:
        answer = client.standard_readout()
        opened.append(client.transport.port)
    except Exception as exc:  # noqa: BLE001 - a failed read is a result here
        return False, 0, f"{type(exc).__name__}: {exc}"[:120]
    else:
        count = len(answer.data)
        return count > 0, count, ""
    finally:
        opened.append(client.transport.port)
        for port in {id(p): p for p in opened if p is not None}.values():
            with contextlib.suppress(Exception):
                port.close()


def _read_ours(path: str, *extra: str) -> tuple[bool, int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli_main(["read", path, "--format", "json", "--timeout", "15", *extra])
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return status == 0 and bool(records), len(records), err.getvalue().strip()[:120]


def _read_ours_at_once(path: str) -> tuple[bool, int, str]:
    return _read_ours(path, "--client-tr", "0")


CLIENTS = {
    "iec62056-21 (PyPI)": _read_peer,
    "iec-poller read": _read_ours,
    "iec-poller read --client-tr 0": _read_ours_at_once,
}


def _one(client: str, spec: MeterSpec) -> dict[str, Any]:
    bus = VirtualBus([SimulatedMeter(spec, epoch=EPOCH)])
    with serving([bus]) as (server,):
        time.sleep(0.05)  # the server's first tick; not measured
        start = time.monotonic()
        ok, count, error = CLIENTS[client](server.path)
        end = time.monotonic()
        log = list(bus.log)
    wall = end - start
    minimum = _minimum(spec, log)
    return {
        **_timeline(spec, log, start, end),
        "ok": ok,
        "wall": wall,
        "datasets": count,
        "minimum": minimum,
        "efficiency": minimum / wall if ok and minimum is not None else None,
        "error": error,
    }


def run(repeats: int = 3) -> dict[str, Any]:
    logging.getLogger("iec62056_21").setLevel(logging.CRITICAL)
    base = get_profile(PROFILE)
    rows: list[dict[str, Any]] = []
    for tr in REACTION_TIMES:
        spec = dataclasses.replace(base, reaction_time=tr)
        for client in CLIENTS:
            runs = [_one(client, spec) for _ in range(repeats)]
            good = [r for r in runs if r["ok"]]
            rows.append(
                {
                    "reaction_time": tr,
                    "client": client,
                    "successes": len(good),
                    "attempts": len(runs),
                    "wall_s": spread([r["wall"] for r in good]),
                    "wall_failed_s": spread([r["wall"] for r in runs if not r["ok"]]),
                    "minimum_s": spread([r["minimum"] for r in runs if r["minimum"] is not None]),
                    "efficiency": spread([r["efficiency"] for r in good]),
                    **{
                        key: spread([r[key] for r in runs if r.get(key) is not None])
                        for key in ("lead", "answer", "tail")
                    },
                    "datasets": max((r["datasets"] for r in runs), default=0),
                    "errors": sorted({r["error"] for r in runs if not r["ok"]}),
                }
            )
    return {
        "name": "peer_client",
        "setup": f"{PROFILE} (/ISk5, mode C 300/9600 Bd) on a fresh pty per read, time_scale 1; "
        f"peer read timeout {PEER_TIMEOUT} s",
        "rows": rows,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e3:.0f}"


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"2. Peer client: {result['setup']}",
        f"   tr ms  {'client':<{_WIDTH}} ok   wall s (median [min..max])  minimum s  efficiency"
        "  lead/answer/tail ms",
    ]
    for row in result["rows"]:
        wall, eff = row["wall_s"], row["efficiency"]
        if wall["n"]:
            shown = f"{fmt(wall['median'])} [{fmt(wall['min'])}..{fmt(wall['max'])}]"
        else:
            shown = f"failed after {fmt(row['wall_failed_s']['median'])}"
        lines.append(
            f"   {row['reaction_time'] * 1e3:5.0f}  {row['client']:<{_WIDTH}} "
            f"{row['successes']}/{row['attempts']}  {shown:<27} "
            f"{fmt(row['minimum_s']['median'])}      {fmt(eff['median'], 3)}      "
            + "/".join(_ms(row[key]["median"]) for key in ("lead", "answer", "tail"))
        )
        lines.extend(f"          {'':<{_WIDTH}} error: {error}" for error in row["errors"])
    lines.append(
        "   iec-poller read waits the 20 ms the identification asks for; the peer and "
        "--client-tr 0 wait none."
    )
    return lines
