"""``iec-poller demo``: read a built-in simulated bus and show every step.

No hardware needed: three simulated meters share one virtual RS-485 line. Each is
read by the protocol core's client session, on simulated time, exactly as it would
be on a real bus: addressed sign-on at 300 Bd, baud switch, readout, and for the EMH
meter a programming session (P0, P1, R1, R5 load profile, B0).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from poller.protocol import (
    ClientSession,
    Done,
    Password,
    ReadRequest,
    SessionConfig,
    SessionMode,
    SessionResult,
    parse_data_block,
    parse_profile,
)
from poller.simulator import SimulatedMeter, VirtualBus, get_profile
from poller.simulator._drive import SessionRun, run_session

from ._help import HelpFormatter
from ._output import dataset_record, print_table, profile_record

_SHOWN = 12
_METERS = ("lg-zmd", "iskra-mt174", "emh-lzqj")
_EPOCH = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


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


def _configs(bus_meters: list[SimulatedMeter]) -> list[SessionConfig]:
    configs = []
    for meter in bus_meters:
        spec = meter.spec
        if spec.password is not None:
            configs.append(
                SessionConfig(
                    address=spec.address,
                    mode=SessionMode.PROGRAMMING,
                    password=Password(spec.password.password),
                    commands=(
                        ReadRequest(dataset="1.8.0()"),
                        ReadRequest.load_profile("02603011100", "02603011200"),
                    ),
                )
            )
        else:
            configs.append(SessionConfig(address=spec.address))
    return configs


def _show(run: SessionRun, *, quiet: bool) -> SessionResult | None:
    if not quiet:
        for step in run.exchanges:
            text = step.text if len(step.text) <= 96 else step.text[:93] + "..."
            print(f"  {step.time:8.3f} s  {step.direction}  {text}")
    if not isinstance(run.outcome, Done):
        print(f"  failed: {run.outcome.error}")
        return None
    return run.outcome.result


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
    meters = [SimulatedMeter(get_profile(name), epoch=_EPOCH) for name in _METERS]
    bus = VirtualBus(meters)
    now = 0.0
    print(f"A simulated RS-485 bus with {len(meters)} meters; times are on the wire.\n")
    for meter, config in zip(meters, _configs(meters), strict=True):
        print(f"meter {config.address} ({meter.spec.identification.text}), {config.mode.name}")
        result = _show(run_session(bus, ClientSession(config), start=now), quiet=args.quiet)
        if result is not None:
            now = max(bus.now, result.bus_free_at)
            _print_result(result)
        print()
    print(f"Whole bus read in {now:.2f} s of wire time.")
    return 0
