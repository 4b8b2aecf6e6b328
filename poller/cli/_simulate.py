"""``iec-poller simulate``: serve simulated meters on a pty or a TCP port.

The first line printed is the port to connect to: a pty's slave path (``/dev/pts/N``)
or ``socket://HOST:PORT``. Every transmission on the simulated line follows, one per
line: simulated time, direction (``>`` client to meters, ``<`` a meter to the
client), who sent it, the rate and framing, the meters' states and the bytes, with
control characters written as ``<STX>``, ``<CR>``... It runs until SIGINT or SIGTERM
and then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from poller.protocol import printable
from poller.simulator import (
    BusConfig,
    BusEvent,
    ConfigFileError,
    MeterState,
    PtyServer,
    ScaledClock,
    SimulatedMeter,
    TcpServer,
    VirtualBus,
    build_bus,
    profiles,
    select_meters,
)

from ._help import RawDescriptionHelpFormatter

EXIT_BAD_SETUP = 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "simulate",
        help="serve simulated meters on a pty or a TCP port, logging every exchange",
        description=__doc__,
        formatter_class=RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--list-profiles",
        action="store_true",
        help="list the built-in meter profiles, one a line, and exit",
    )
    meters = parser.add_mutually_exclusive_group()
    meters.add_argument("--config", metavar="FILE", help="a meters file (YAML)")
    meters.add_argument("--profile", metavar="NAME", help="a built-in meter profile")
    parser.add_argument(
        "--count",
        type=int,
        default=1,
        metavar="N",
        help="with --profile: N meters with consecutive addresses (default 1)",
    )
    port = parser.add_mutually_exclusive_group()
    port.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    port.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen like a TCP-to-serial converter in raw mode (port 0: any free port)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="real seconds per simulated second (0.01: 100x faster; default 1)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed of every meter")
    parser.set_defaults(run=run)


def _tcp_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--tcp wants HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _select(args: argparse.Namespace) -> BusConfig:
    """The meters the options name; ``ValueError`` for options that do not fit."""
    if args.config is None and args.profile is None:
        raise ValueError("name the meters: --profile NAME or --config FILE")
    if args.count != 1 and args.profile is None:
        raise ValueError("--count goes with --profile")
    if args.time_scale <= 0:
        raise ValueError("--time-scale must be positive")
    try:
        return select_meters(
            profile=args.profile, count=args.count, config=args.config, seed=args.seed
        )
    except KeyError:
        names = ", ".join(p.name for p in profiles())
        raise ValueError(f"no profile {args.profile!r}; one of {names}") from None


def run(args: argparse.Namespace) -> int:
    if args.list_profiles:
        for profile in profiles():
            print(f"{profile.name}  {profile.description}")
        return 0
    try:
        address = _tcp_address(args.tcp) if args.tcp else None
        config = _select(args)
    except (ValueError, ConfigFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    bus = build_bus(config)
    bus.listeners.append(_ExchangeLog(bus.meters))
    clock = ScaledClock(args.time_scale)
    try:
        return asyncio.run(_serve(bus, clock, address))
    except OSError as exc:
        print(f"error: cannot serve: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP


async def _serve(bus: VirtualBus, clock: ScaledClock, address: tuple[str, int] | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if address is not None:
        tcp = TcpServer(bus, clock, host=address[0], port=address[1], on_connection=_connection)
        await tcp.start()
        print(tcp.url, flush=True)
        await stop.wait()
        await tcp.close()
        return 0
    pty = PtyServer(bus, clock)
    print(pty.path, flush=True)
    task = asyncio.create_task(pty.serve())
    await stop.wait()
    pty.close()
    await task
    return 0


def _connection(peer: str, taken: bool) -> None:
    verdict = "connected" if taken else "refused (one client at a time)"
    print(f"# client {peer} {verdict}", flush=True)


class _ExchangeLog:
    """Prints every bus event on one line of stdout."""

    def __init__(self, meters: Sequence[SimulatedMeter]) -> None:
        self._meters = {m.spec.address: m for m in meters}

    def __call__(self, event: BusEvent) -> None:
        if event.source == "client":
            arrow, who = ">", "client"
            busy = [
                f"{a}:{m.state.value}"
                for a, m in self._meters.items()
                if m.state is not MeterState.IDLE
            ]
            state = ",".join(busy) or "all idle"
        else:
            arrow, who = "<", event.source
            state = self._meters[event.source].state.value
        line = f"{event.line.baud} {event.line.framing}"
        note = f"  ({event.note})" if event.note else ""
        text = printable(event.data)
        print(
            f"{event.time:10.3f} {arrow} {who:<14} {line:<10} {state:<14} {text}{note}", flush=True
        )
