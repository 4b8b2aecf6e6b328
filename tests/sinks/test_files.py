"""The jsonl and csv sinks: records, replays stored once, rotation, cut lines, bad text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from poller.protocol import Value
from poller.readings import ReadingBatch
from poller.sinks import SinkContext, WriteResult, build_sink, record_for, sink_config_models
from poller.sinks._files import FileSettings, RecordFile
from poller.sinks.csv import CsvSink
from poller.sinks.jsonl import JsonlSink
from tests.builders import make_batch

from .helpers import batch, reading

KINDS = ["jsonl", "csv"]


def make(kind: str, state: Path, **changes: Any) -> JsonlSink | CsvSink:
    settings = sink_config_models()[kind].model_validate({"type": kind, **changes})
    sink = build_sink(settings, SinkContext(state))
    assert isinstance(sink, JsonlSink | CsvSink)
    return sink


def records(path: Path) -> list[dict[str, Any]]:
    """What a reader of the file gets back, as record dicts."""
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines()]
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["values"] = json.loads(row["values"])
        for key, value in row.items():
            row[key] = None if value == "" else value
    return rows


async def write_all(sink: JsonlSink | CsvSink, batches: list[ReadingBatch]) -> list[WriteResult]:
    await sink.connect()
    try:
        return [await sink.write(b) for b in batches]
    finally:
        await sink.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_one_record_per_reading(tmp_path: Path, kind: str) -> None:
    sink = make(kind, tmp_path, names={"1.8.0": "import"})
    results = await write_all(sink, [batch(0), batch(1)])
    assert [r.accepted for r in results] == [3, 3]
    got = records(tmp_path / f"readings.{kind}")
    expected = [record_for(r, sink.settings) for b in (batch(0), batch(1)) for r in b.readings]
    if kind == "csv":  # every column is text in a CSV file
        expected = [
            {k: v if v is None or k == "values" else str(v) for k, v in e.items()} for e in expected
        ]
    assert got == expected
    assert got[0]["name"] == "import"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_replayed_batch_is_written_once_even_after_a_restart(
    tmp_path: Path, kind: str
) -> None:
    await write_all(make(kind, tmp_path), [batch(0), batch(1), batch(1)])
    results = await write_all(make(kind, tmp_path), [batch(1), batch(2)])  # a new process
    assert [r.accepted for r in results] == [3, 3]  # accepted: stored, once
    keys = [r["key"] for r in records(tmp_path / f"readings.{kind}")]
    assert len(keys) == 9 == len(set(keys))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_line_cut_by_a_crash_is_removed_and_written_again(
    tmp_path: Path, kind: str
) -> None:
    await write_all(make(kind, tmp_path), [batch(0), batch(1)])
    path = tmp_path / f"readings.{kind}"
    whole = path.read_bytes()
    path.write_bytes(whole[:-25])  # the last record half written
    await write_all(make(kind, tmp_path), [batch(1)])  # the spool sends the batch again
    assert path.read_bytes() == whole


@pytest.mark.parametrize("kind", KINDS)
async def test_rotation_by_size_keeps_n_files_and_still_spots_replays(
    tmp_path: Path, kind: str
) -> None:
    sink = make(kind, tmp_path, max_bytes=1500, keep=2)
    batches = [batch(i) for i in range(12)]
    await write_all(sink, [*batches, batches[-1]])
    files = sorted(tmp_path.glob(f"readings*.{kind}"))
    assert len(files) == 3  # the current file and two rotated ones
    assert all(f.stat().st_size < 1500 + 1000 for f in files)
    keys = [r["key"] for f in files for r in records(f)]
    assert len(keys) == len(set(keys))
    assert keys[-3:] == [r.key for r in batches[-1].readings]


@pytest.mark.parametrize("kind", KINDS)
async def test_unwritable_text_is_rejected_and_the_rest_written(tmp_path: Path, kind: str) -> None:
    bad = reading(text="12\udcff3")  # a lone surrogate: no UTF-8 file can hold it
    good = reading(address="2.8.0", text="7")
    mixed = make_batch(bus="bus-1", meter="12345678", taken_at=bad.taken_at, readings=(bad, good))
    (result,) = await write_all(make(kind, tmp_path), [mixed])
    assert result.accepted == 1
    assert [r.reading for r in result.rejected] == [bad]
    assert [r["address"] for r in records(tmp_path / f"readings.{kind}")] == ["2.8.0"]


async def test_a_csv_file_with_other_columns_is_rotated_away(tmp_path: Path) -> None:
    old = tmp_path / "readings.csv"
    old.write_text("meter,value\n1,2\n")
    await write_all(make("csv", tmp_path), [batch(0)])
    assert len(records(old)) == 3
    rotated = list(tmp_path.glob("readings.*.csv"))
    assert len(rotated) == 1
    assert rotated[0].read_text() == "meter,value\n1,2\n"


def test_rotation_by_day_names_files_by_their_day(tmp_path: Path) -> None:
    today = [dt.date(2026, 3, 2)]
    settings = FileSettings(type="jsonl", path=tmp_path / "r.jsonl", rotate="day", keep=5)
    file = RecordFile(settings.path, settings, read_keys=lambda data: [], today=lambda: today[0])
    file.open()
    file.append([("a", b"1\n")])
    today[0] = dt.date(2026, 3, 3)
    file.append([("b", b"2\n")])
    file.append([("a", b"1\n")])  # a replay across the rotation
    file.close()
    assert (tmp_path / "r.2026-03-02.jsonl").read_bytes() == b"1\n"
    assert (tmp_path / "r.jsonl").read_bytes() == b"2\n"


async def test_fsync_per_batch_unless_told_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr("poller.sinks._files.os.fsync", lambda fd: calls.append(fd))
    await write_all(make("jsonl", tmp_path), [batch(0), batch(1)])
    assert len(calls) == 2
    calls.clear()
    await write_all(make("jsonl", tmp_path, path="other.jsonl", fsync="never"), [batch(0)])
    assert calls == []


async def test_units_outside_ascii_stay_readable(tmp_path: Path) -> None:
    gas = reading(address="24.2.1", text="00123.456", unit="m³")
    one = make_batch(bus="bus-1", meter="1", taken_at=gas.taken_at, readings=(gas,))
    await write_all(make("jsonl", tmp_path), [one])
    assert '"unit": "m³"' in (tmp_path / "readings.jsonl").read_text()
    assert Value(text="x").unit is None
