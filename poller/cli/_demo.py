"""``iec-poller demo``: read a built-in simulated bus and show every step.

No hardware needed: three simulated meters share one virtual RS-485 line. Each is
read by the daemon's own read path (``read_meter``) through the in-process port a
``sim://...?clock=manual`` URL opens, on simulated time, exactly as it would be on
a real bus: addressed sign-on at 300 Bd, baud switch, readout, and for the EMH meter
a programming session (P0, P1, R1, R5 load profile, B0). The exchanges shown are
the flight recorder's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from typing import Any

from poller.engine import FlightRecorder, MeterSettings, ReadPlan, ReadResult, read_meter
from poller.protocol import (
    Done,
    Password,
    ProgrammingRequest,
    ReadRequest,
    SessionResult,
    parse_data_block,
    parse_profile,
)

# SimulatedPort is the port a sim://...?clock=manual URL opens, built here around the
# demo's own bus of three different meters (a URL names one profile or a file).
from poller.simulator import ManualClock, SimulatedMeter, SimulatedPort, VirtualBus, get_profile

from ._help import HelpFormatter
from ._output import dataset_record, print_table, profile_record

_SHOWN = 12
_METERS = ("lg-zmd", "iskra-mt174", "emh-lzqj")
_EPOCH = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
_URL = "sim://demo?clock=manual"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        formatter_class=HelpFormatter,
        help="read a built-in simulated bus of meters and show every exchange",
        description=__doc__,
    )
    parser.add_argument(
        "--quiet", action="store_true", help="show the readings only, not the exchanges"
    )
    parser.set_defaults(run=run)


def _reads(bus_meters: list[SimulatedMeter]) -> list[tuple[MeterSettings, ReadPlan]]:
    reads = []
    for meter in bus_meters:
        spec = meter.spec
        if spec.password is None:
            reads.append((MeterSettings(address=spec.address), ReadPlan()))
            continue
        commands: tuple[ProgrammingRequest, ...] = (
            ReadRequest(dataset="1.8.0()"),
            ReadRequest.load_profile("02603011100", "02603011200"),
        )
        settings = MeterSettings(address=spec.address, password=Password(spec.password.password))
        reads.append((settings, ReadPlan(commands=commands)))
    return reads


def _exchanges(recorder: FlightRecorder) -> list[tuple[float, str, str]]:
    """One line per transmission: the bytes a meter sent in a row make one line.

    The runner hands bytes to the session as they come (at 300 Bd one at a time), so
    the recorder holds many pieces of one answer; a reader wants the answer.
    """
    lines: list[tuple[float, str, str]] = []
    for frame in recorder:
        if frame.direction == "<" and lines and lines[-1][1] == "<":
            time, direction, text = lines[-1]
            lines[-1] = (time, direction, text + frame.text)
            continue
        # What we sent by its description, as the session names it (secrets masked).
        lines.append((frame.time, frame.direction, frame.label or frame.text))
    return lines


def _show(read: ReadResult, recorder: FlightRecorder, *, quiet: bool) -> SessionResult | None:
    if not quiet:
        for time, direction, shown in _exchanges(recorder):
            text = shown if len(shown) <= 96 else shown[:93] + "..."
            print(f"  {time:8.3f} s  {direction}  {text}")
    if not isinstance(read.outcome, Done):
        print(f"  failed: {read.outcome.error}")
        return None
    return read.outcome.result


def _print_result(result: SessionResult) -> None:
    blocks = [result.readout.data] if result.readout is not None else []
    profiles: list[dict[str, Any]] = []
    for command in result.commands:
        if not command.ok or not command.data:
            continue
        if command.dataset.startswith("P."):
            profiles.extend(profile_record(r) for r in parse_profile(command.data))
        else:
            blocks.append(command.data)
    records = [dataset_record(d) for block in blocks for d in parse_data_block(block)]
    print(f"  read at {result.baud} Bd: {len(records)} data sets, {len(profiles)} profile records")
    print_table(records[:_SHOWN], indent="    ")
    if len(records) > _SHOWN:
        print(f"    ... and {len(records) - _SHOWN} more")
    print_table(profiles[:_SHOWN], profile=True, indent="    ")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(quiet=args.quiet))


async def _demo(*, quiet: bool) -> int:
    meters = [SimulatedMeter(get_profile(name), epoch=_EPOCH) for name in _METERS]
    clock = ManualClock()
    port = SimulatedPort(_URL, VirtualBus(meters), clock)
    await port.open()
    now = 0.0
    print(f"A simulated RS-485 bus with {len(meters)} meters; times are on the wire.\n")
    for meter, (settings, plan) in zip(meters, _reads(meters), strict=True):
        mode = settings.session_config(commands=plan.commands).mode
        print(f"meter {settings.address} ({meter.spec.identification.text}), {mode.name}")
        recorder = FlightRecorder(10_000)
        read = await read_meter(port, settings, plan, bus="demo", recorder=recorder)
        result = _show(read, recorder, quiet=quiet)
        if result is not None:
            now = read.bus_free_at
            _print_result(result)
        await clock.sleep_until(read.bus_free_at)
        print()
    await port.close()
    print(f"Whole bus read in {now:.2f} s of wire time.")
    return 0
