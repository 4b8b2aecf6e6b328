"""``iec-poller decode``: print the data sets of a captured readout."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from poller.protocol import Telegram, decode_capture, parse_data_block, parse_profile

from ._help import HelpFormatter
from ._output import dataset_record, print_table, profile_record

EXIT_NO_TELEGRAM = 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "decode",
        formatter_class=HelpFormatter,
        help="decode a captured readout and print its data sets",
        description=(
            "Decode a capture of raw bytes (a readout, a mode D or P1 telegram, a programming"
            " reply) and print each data set. A checksum that does not verify is reported on"
            " stderr and as bcc_ok: false; the exit status is 1 only when the input holds no"
            " telegram at all."
        ),
    )
    parser.add_argument("file", nargs="?", default="-", help="capture file, or - for stdin")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print load-profile / logbook replies (P.01, P.98) as interval records",
    )
    parser.set_defaults(run=run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as handle:
        return handle.read()


def _warn(index: int, telegram: Telegram) -> None:
    if telegram.check.value == "bad":
        print(
            f"warning: telegram {index}: {telegram.checksum} mismatch"
            f" (computed 0x{telegram.computed or 0:02X}, received 0x{telegram.received or 0:02X})",
            file=sys.stderr,
        )
    elif telegram.check.value == "missing":
        print(
            f"warning: telegram {index}: ends without its checksum (cut short, or none sent)",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    try:
        data = _read(args.file)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    telegrams = decode_capture(data)
    if not telegrams:
        print("error: no telegram found in the input", file=sys.stderr)
        return EXIT_NO_TELEGRAM
    records: list[dict[str, Any]] = []
    for index, telegram in enumerate(telegrams, start=1):
        _warn(index, telegram)
        common: dict[str, Any] = {"telegram": index}
        if telegram.identification is not None:
            common["ident"] = "/" + telegram.identification.text
        if telegram.checksum is not None:
            common["bcc_ok"] = telegram.checksum_ok
        if args.profile:
            records.extend({**common, **profile_record(r)} for r in parse_profile(telegram.block))
        else:
            records.extend(
                {**dataset_record(d), **common} for d in parse_data_block(telegram.block)
            )
    if args.format == "json":
        for record in records:
            print(json.dumps(record, ensure_ascii=True))
    else:
        print_table(records, profile=args.profile)
    return 0
