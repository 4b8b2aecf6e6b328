"""Shared output of the commands: JSON records and plain tables."""

from __future__ import annotations

from typing import Any

from poller.protocol import DataSet, ProfileRecord, Value


def _value_record(value: Value) -> dict[str, Any]:
    record: dict[str, Any] = {"value": value.text, "unit": value.unit}
    if value.parts:
        record["parts"] = [_value_record(part) for part in value.parts]
    return record


def dataset_record(dataset: DataSet) -> dict[str, Any]:
    """The JSON form of a data set, the keys that every output of the product shares."""
    first = dataset.values[0] if dataset.values else None
    obis = dataset.obis
    return {
        "address": dataset.address,
        "obis": str(obis) if obis is not None else None,
        "value": first.text if first is not None else None,
        "unit": first.unit if first is not None else None,
        "values": [_value_record(v) for v in dataset.values],
    }


def profile_record(record: ProfileRecord) -> dict[str, Any]:
    return {
        "profile": record.profile,
        "time": record.time.datetime.isoformat(),
        "season": record.time.season.name.lower(),
        "status": record.status,
        "interval_min": (
            int(record.interval.total_seconds() // 60) if record.interval is not None else None
        ),
        "channels": [
            {"code": c.code, "unit": c.unit, "value": v.text}
            for c, v in zip(record.channels, record.values, strict=False)
        ],
    }


def print_table(records: list[dict[str, Any]], *, profile: bool = False, indent: str = "") -> None:
    """Print records as aligned columns, one line each."""
    if profile:
        rows = [
            [
                str(r["time"]),
                str(r["status"]),
                "  ".join(
                    f"{c['code']}={c['value']}{'' if not c['unit'] else ' ' + c['unit']}"
                    for c in r["channels"]
                ),
            ]
            for r in records
        ]
    else:
        rows = [
            [
                r["address"] or "",
                r["value"] if r["value"] is not None else "",
                r["unit"] or "",
                "  ".join(
                    f"({v['value']}{'*' + v['unit'] if v['unit'] else ''})" for v in r["values"][1:]
                ),
            ]
            for r in records
        ]
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print(indent + "  ".join([*cells, row[-1]]).rstrip())
