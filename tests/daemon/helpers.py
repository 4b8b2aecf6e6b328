"""Configurations for the daemon's in-process tests, built as data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from poller.config import Config, parse_config

__all__ = ["bus", "config", "config_text", "jsonl"]


def bus(name: str, meter: str = "31002781", every: str = "1d") -> dict[str, Any]:
    return {
        "name": name,
        "port": "sim://lg-zmd?clock=manual",
        "schedule": {"every": every},
        "meters": [{"address": meter}],
    }


def jsonl(name: str, path: str = "readings.jsonl") -> dict[str, Any]:
    return {"type": "jsonl", "name": name, "path": path}


def config_text(
    state_dir: Path, buses: list[dict[str, Any]], sinks: list[dict[str, Any]], **more: Any
) -> str:
    """A configuration file's text: no HTTP endpoint unless ``more`` says otherwise."""
    document = {
        "state_dir": str(state_dir),
        "timezone": "UTC",
        "http": {"enabled": False},
        "buses": buses,
        "sinks": sinks,
        **more,
    }
    return yaml.safe_dump(document)


def config(
    tmp_path: Path, buses: list[dict[str, Any]], sinks: list[dict[str, Any]], **more: Any
) -> Config:
    """The configuration, parsed, with its state under ``tmp_path/state``."""
    return parse_config(config_text(tmp_path / "state", buses, sinks, **more), base_dir=tmp_path)
