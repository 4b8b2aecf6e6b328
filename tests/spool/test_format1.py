"""Batches spooled by format 1 (the code up to c3c6ad2) are read and delivered unchanged.

``fixtures/format1.json`` holds bodies that the format-1 codec wrote, with each
batch's fields and its readings' JSON records as that code produced them
(``fixtures/README_generator.txt`` is the script that made it, run at c3c6ad2).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from poller.delivery import SpoolDispatcher
from poller.readings import ReadingBatch
from poller.spool import Spool, decode_batch, encode_batch

from .helpers import NO_WAIT, ScriptedSink

FIXTURE = Path(__file__).parent / "fixtures" / "format1.json"
ENTRIES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))


def records(batch: ReadingBatch) -> list[str]:
    return [json.dumps(r.to_record(), ensure_ascii=False) for r in batch.readings]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e['meter']}-{len(e['records'])}")
def test_a_format_1_body_decodes_to_the_same_batch(entry: dict[str, Any]) -> None:
    assert json.loads(entry["body"])["f"] == 1
    batch = decode_batch(entry["body"])
    assert records(batch) == entry["records"]
    assert (batch.ok, batch.error) == (entry["ok"], entry["error"])
    assert (batch.bus, batch.meter, batch.meter_name, batch.ident) == (
        entry["bus"],
        entry["meter"],
        entry["meter_name"],
        entry["ident"],
    )
    assert batch.taken_at.isoformat() == entry["taken_at"]
    assert (batch.slot.isoformat() if batch.slot else None) == entry["slot"]
    assert (batch.duration, batch.baud, batch.repeats) == (
        entry["duration"],
        entry["baud"],
        entry["repeats"],
    )
    extra = entry["extra"]
    assert [str(e) for e in batch.command_errors] == extra.get("command_errors", [])
    assert list(batch.profiles_without_data) == extra.get("profiles_without_data", [])
    assert len(batch.profile_ranges) == len(extra.get("profile_ranges", []))
    # Written again, it is the current format, and reads back the same.
    again = encode_batch(batch)
    assert json.loads(again)["f"] == 2
    assert decode_batch(again) == batch


def test_readings_of_a_format_1_batch_share_its_context() -> None:
    batch = decode_batch(ENTRIES[0]["body"])
    assert batch.readings
    assert all(r.context is batch.context for r in batch.readings)


async def test_a_spool_written_by_format_1_is_delivered_after_the_upgrade(tmp_path: Path) -> None:
    async def create() -> None:
        async with Spool(tmp_path):
            pass  # the file and its tables, as the previous version left them

    await create()
    path = tmp_path / "spool.sqlite"
    with sqlite3.connect(path) as db:
        for entry in ENTRIES:
            db.execute(
                "INSERT INTO batches (created, bus, meter, taken_at, readings, ok, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    entry["bus"],
                    entry["meter"],
                    entry["taken_at"],
                    len(entry["records"]),
                    entry["ok"],
                    entry["body"],
                ),
            )
    db.close()
    sink = ScriptedSink()

    async def deliver() -> None:
        async with Spool(tmp_path) as spool:
            await SpoolDispatcher(spool, sink, backoff=NO_WAIT).drain()

    await deliver()
    delivered = [json.dumps(r.to_record(), ensure_ascii=False) for r in sink.stored]
    assert delivered == [record for entry in ENTRIES for record in entry["records"]]
