"""``jsonl``: one JSON object per line, the product's record of a reading plus ``name``.

Rotation, fsync and replay handling are described in ``_files``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from ._contract import SinkSettings
from ._files import FileSettings
from ._filesink import FileSink

__all__ = ["JsonlSettings", "JsonlSink"]


class JsonlSettings(FileSettings):
    """``type: jsonl``."""

    type: Literal["jsonl"] = "jsonl"
    path: Path = Path("readings.jsonl")


class JsonlSink(FileSink[JsonlSettings]):
    settings_model: ClassVar[type[SinkSettings]] = JsonlSettings

    def format(self, record: dict[str, Any]) -> bytes:
        # ensure_ascii=False keeps units like "m³" readable; a lone surrogate raises.
        return (json.dumps(record, ensure_ascii=False) + "\n").encode()

    def read_keys(self, data: bytes) -> Iterator[str]:
        for line in data.splitlines():
            try:
                key = json.loads(line).get("key")
            except (ValueError, AttributeError):
                continue  # a line another program wrote; it holds no key of ours
            if isinstance(key, str):
                yield key
