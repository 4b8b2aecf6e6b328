"""``csv``: one row per reading, the record's keys as columns (``values`` as JSON).

A header row starts every file; an existing file with another header (an older
version's columns) is rotated away rather than appended to. Rotation, fsync and
replay handling are described in ``_files``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from ._contract import SinkSettings
from ._files import FileSettings
from ._filesink import FileSink
from ._records import RECORD_KEYS

__all__ = ["CsvSettings", "CsvSink"]

_KEY_COLUMN = RECORD_KEYS.index("key")


class CsvSettings(FileSettings):
    """``type: csv``."""

    type: Literal["csv"] = "csv"
    path: Path = Path("readings.csv")


def _row(values: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode()


class CsvSink(FileSink[CsvSettings]):
    settings_model: ClassVar[type[SinkSettings]] = CsvSettings
    header = _row(list(RECORD_KEYS))

    def format(self, record: dict[str, Any]) -> bytes:
        record = {**record, "values": json.dumps(record["values"], ensure_ascii=False)}
        return _row(["" if record[k] is None else record[k] for k in RECORD_KEYS])

    def read_keys(self, data: bytes) -> Iterator[str]:
        rows = csv.reader(io.StringIO(data.decode(errors="replace")))
        next(rows, None)
        for row in rows:
            if len(row) == len(RECORD_KEYS):
                yield row[_KEY_COLUMN]
