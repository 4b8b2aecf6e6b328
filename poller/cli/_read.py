"""``iec-poller read PORT``: one read of one meter, for the technician and for scripts.

The read goes through the same code as the daemon (transport, session runner, batch
building), so what it shows is what the daemon would deliver. It never hangs: the
whole read, opening the port included, has one deadline (``--timeout``).

Exit status: 0 read; 1 read, but some registers or profiles were refused; 2 usage;
3 no answer; 4 protocol failure; 5 password refused; 6 port unavailable or lost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import zoneinfo
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from poller.engine import (
    FlightRecorder,
    MeterSettings,
    ProfileRange,
    ReadPlan,
    ReadResult,
    read_meter,
)
from poller.protocol import (
    MODE_C_RATES,
    REACTION_TIME_MAX,
    LineFraming,
    Password,
    SessionMode,
    scheme_names,
)
from poller.readings import Failure, FailureKind, ReadingBatch
from poller.transport import PortError, PortOptions, SerialPort, port_for_url
from poller.util import redact_url

from ._help import RawDescriptionHelpFormatter

__all__ = ["EXIT_CODES", "add_parser", "run"]

EXIT_OK: Final = 0
EXIT_PARTIAL: Final = 1
EXIT_USAGE: Final = 2
EXIT_NO_ANSWER: Final = 3
EXIT_PROTOCOL: Final = 4
EXIT_AUTH: Final = 5
EXIT_PORT: Final = 6
EXIT_CODES: Final = {
    "ok": EXIT_OK,
    "partial": EXIT_PARTIAL,
    "usage": EXIT_USAGE,
    "no answer": EXIT_NO_ANSWER,
    "protocol": EXIT_PROTOCOL,
    "authentication": EXIT_AUTH,
    "port": EXIT_PORT,
}
PASSWORD_ENV: Final = "IEC_POLLER_PASSWORD"  # noqa: S105 (a variable name, not a secret)
DEFAULT_TIMEOUT: Final = 120.0


class UsageError(Exception):
    """A bad option value: one line on stderr, exit 2."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "read",
        help="read one meter once and print its values",
        description=__doc__,
        formatter_class=RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "port",
        metavar="PORT",
        help="/dev/ttyUSB0, /dev/serial/by-id/..., socket://HOST:PORT, rfc2217://HOST:PORT "
        "or sim://PROFILE",
    )
    parser.add_argument(
        "--address",
        default="",
        metavar="ADDR",
        help="the meter's address (serial number); empty: the only meter on the line",
    )
    parser.add_argument(
        "--mode",
        choices=[m.value for m in SessionMode],
        help="readout (the default), programming (default with --register or "
        "--load-profile) or push (listen for a mode D telegram)",
    )
    parser.add_argument(
        "--password",
        metavar="PW",
        help=f"programming-mode password (better: the {PASSWORD_ENV} environment "
        "variable or --password-file, which other users cannot see in the process list)",
    )
    parser.add_argument("--password-file", type=Path, metavar="FILE")
    parser.add_argument(
        "--password-scheme",
        metavar="NAME",
        help=f"send P2 with this scheme instead of P1 ({', '.join(scheme_names())})",
    )
    parser.add_argument(
        "--register",
        action="append",
        default=[],
        metavar="OBIS",
        help="in programming mode read this register with R1 (repeatable); in readout "
        "mode show only these registers",
    )
    parser.add_argument(
        "--load-profile",
        metavar="FROM..TO",
        help="read the load profile between two ISO times (either may be empty: "
        "2026-11-28..  or  2026-11-28T00:00..2026-11-28T12:00)",
    )
    parser.add_argument(
        "--profile",
        default="P.01",
        metavar="NAME",
        help="which profile --load-profile reads (default P.01; P.98 is the logbook)",
    )
    parser.add_argument(
        "--meter-tz",
        metavar="ZONE",
        help="the meter clock's time zone for profile times (IANA name; default: this "
        "machine's zone)",
    )
    parser.add_argument(
        "--max-baud",
        type=int,
        choices=sorted(MODE_C_RATES.values()),
        metavar="N",
        help="never switch above this rate",
    )
    parser.add_argument(
        "--echo", action="store_true", help="the line returns what we send (optical heads)"
    )
    parser.add_argument(
        "--8n1",
        dest="eight_n_one",
        action="store_true",
        help="8 data bits, no parity (for meters that need it)",
    )
    parser.add_argument(
        "--wake-up", action="store_true", help="send the NUL wake-up sequence first"
    )
    parser.add_argument(
        "--switch-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="extra wait before switching baud, for meters that need one",
    )
    parser.add_argument(
        "--client-tr",
        type=float,
        metavar="MS",
        help="our reaction time before answering the identification, in ms "
        f"(0-{REACTION_TIME_MAX * 1000:g}; default: the least the identification allows, "
        "20 ms after a lowercase third letter, else 200 ms)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"deadline of the whole read, port opening included (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print every frame (hex and text, password masked) to stderr",
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True, slots=True)
class _Request:
    settings: MeterSettings
    plan: ReadPlan
    options: PortOptions
    url: str
    filter_registers: frozenset[str]


def run(args: argparse.Namespace) -> int:
    try:
        request = _request(args)
    except (UsageError, ValueError) as exc:
        print(f"iec-poller read: {exc}", file=sys.stderr)
        return EXIT_USAGE
    recorder = FlightRecorder(10_000 if args.trace else 64)
    try:
        batch = _run_once(_read(request, recorder, timeout=args.timeout)).batch
    except PortError as exc:
        print(f"iec-poller read: port unavailable: {exc}", file=sys.stderr)
        return EXIT_PORT
    except TimeoutError:
        print(
            f"iec-poller read: no answer: the read did not finish within {args.timeout:g} s",
            file=sys.stderr,
        )
        return EXIT_NO_ANSWER
    if args.trace:
        _print_frames(recorder)
    status, message = _status(batch)
    _print_batch(batch, request, args.format)
    if message:
        print(f"iec-poller read: {message}", file=sys.stderr)
    return status


def _run_once(main: Coroutine[Any, Any, ReadResult]) -> ReadResult:
    """``asyncio.run`` without waiting for the idle worker threads of port drains.

    ``asyncio.run`` joins the default executor's threads through yet another thread,
    1.5 ms after the meter's last byte; closing the loop lets them go at once (they
    hold no work: every drain was awaited) and the interpreter joins them at exit.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _request(args: argparse.Namespace) -> _Request:
    if not args.timeout > 0:
        raise UsageError("--timeout must be positive")
    client_tr: float | None = args.client_tr
    if client_tr is not None and not 0 <= client_tr <= REACTION_TIME_MAX * 1000:
        raise UsageError(f"--client-tr must be 0 to {REACTION_TIME_MAX * 1000:g} ms")
    registers: list[str] = args.register
    mode = SessionMode(args.mode) if args.mode else None
    if mode is None:
        mode = SessionMode.PROGRAMMING if registers or args.load_profile else SessionMode.READOUT
    if args.load_profile and mode is not SessionMode.PROGRAMMING:
        raise UsageError("--load-profile needs --mode programming")
    password = _password(args)
    if mode is SessionMode.PROGRAMMING and password is None:
        raise UsageError(
            f"programming mode needs a password: --password, --password-file or {PASSWORD_ENV}"
        )
    tz = _zone(args.meter_tz)
    settings = MeterSettings(
        address=args.address,
        mode=mode,
        password=password if mode is SessionMode.PROGRAMMING else None,
        password_scheme=args.password_scheme,
        registers=tuple(registers) if mode is SessionMode.PROGRAMMING else (),
        max_baud=args.max_baud,
        framing=LineFraming.BITS_8N1 if args.eight_n_one else LineFraming.BITS_7E1,
        wake_up=args.wake_up,
        switch_delay=args.switch_delay,
        client_reaction_time=None if client_tr is None else client_tr / 1000,
        session_timeout=args.timeout,
        timezone=tz,
        retries=0,
    )
    ranges: list[ProfileRange] = []
    if args.load_profile:
        start, end = _range(args.load_profile, tz)
        ranges.append(ProfileRange(profile=args.profile, start=start, end=end, cursor=None, tz=tz))
    filter_registers = frozenset(registers) if mode is SessionMode.READOUT else frozenset()
    return _Request(
        settings=settings,
        plan=ReadPlan.of(settings.register_requests(), tuple(ranges)),
        options=PortOptions(echo=args.echo),
        url=args.port,
        filter_registers=filter_registers,
    )


def _password(args: argparse.Namespace) -> Password | None:
    if args.password is not None and args.password_file is not None:
        raise UsageError("give --password or --password-file, not both")
    if args.password_file is not None:
        try:
            text = args.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read --password-file: {exc.strerror}") from None
        return Password(text.strip("\r\n"))
    secret = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
    return Password(secret) if secret else None


def _zone(name: str | None) -> dt.tzinfo:
    if name is None:
        local = dt.datetime.now().astimezone().tzinfo
        return local if local is not None else dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--meter-tz: unknown time zone {name!r}") from None


def _range(text: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
    first, sep, last = text.partition("..")
    if not sep:
        raise UsageError(f"--load-profile wants FROM..TO, got {text!r}")
    start = _moment(first, tz) if first else dt.datetime(2000, 1, 1, tzinfo=tz)
    end = _moment(last, tz) if last else None
    if end is not None and end <= start:
        raise UsageError("--load-profile: TO must be after FROM")
    return start, end


def _moment(text: str, tz: dt.tzinfo) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--load-profile: {text!r} is not an ISO date or time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


async def _read(request: _Request, recorder: FlightRecorder, *, timeout: float) -> ReadResult:
    port = port_for_url(request.url, options=request.options)
    if isinstance(port.inner, SerialPort):
        # Nothing else runs on this loop, so no worker thread is needed to open.
        port.inner.open_in_worker = False
    try:
        async with asyncio.timeout(timeout):
            await port.open()
            return await read_meter(
                port, request.settings, request.plan, bus=redact_url(request.url), recorder=recorder
            )
    finally:
        await port.close()


def _status(batch: ReadingBatch) -> tuple[int, str | None]:
    if batch.failure is not None:
        return _failure(batch.failure)
    if batch.command_errors:
        return EXIT_PARTIAL, "refused: " + "; ".join(map(str, batch.command_errors))
    return EXIT_OK, None


def _failure(failure: Failure) -> tuple[int, str]:
    kind = failure.kind
    if kind is FailureKind.AUTHENTICATION:
        return EXIT_AUTH, failure.message
    if kind is FailureKind.PORT:
        return EXIT_PORT, f"port lost: {failure.message}"
    if kind is FailureKind.NO_ANSWER:
        return EXIT_NO_ANSWER, f"no answer: {failure.message}"
    return EXIT_PROTOCOL, f"protocol failure: {failure.message}"


def _print_batch(batch: ReadingBatch, request: _Request, fmt: str) -> None:
    readings = [
        r
        for r in batch.readings
        if not request.filter_registers
        or r.address in request.filter_registers
        or (r.obis is not None and str(r.obis) in request.filter_registers)
    ]
    if fmt == "json":
        for reading in readings:
            print(json.dumps(reading.to_record(), ensure_ascii=False))
        return
    if batch.ident is not None:
        rate = f"  {batch.baud} Bd" if batch.baud else ""
        print(f"meter {batch.meter or '(any)'}  {batch.ident}{rate}  {batch.duration:.2f} s")
    rows = [_row(r.to_record()) for r in readings]
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]).rstrip())


def _row(record: dict[str, Any]) -> list[str]:
    extra = "  ".join(
        f"({v['value']}{'*' + v['unit'] if v['unit'] else ''})" for v in record["values"][1:]
    )
    when = record["meter_time"] or ""
    return [
        record["address"] or "",
        record["value"] if record["value"] is not None else "",
        record["unit"] or "",
        "  ".join(part for part in (when, extra) if part),
    ]


def _print_frames(recorder: FlightRecorder) -> None:
    for frame in recorder:
        print(
            f"{frame.time:10.3f} {frame.direction} {frame.text}",
            file=sys.stderr,
        )
