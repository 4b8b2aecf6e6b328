"""``plan_reload``: what a SIGHUP stops, starts and keeps, case by case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from poller.config import BusConfig
from poller.daemon import ReloadPlan, plan_reload

from .helpers import bus, config, jsonl

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, tuple[str, ...]]]] = [
    (
        "nothing changed",
        {"buses": [bus("a")], "sinks": [jsonl("j")]},
        {"buses": [bus("a")], "sinks": [jsonl("j")]},
        {},
    ),
    (
        "a bus added",
        {"buses": [bus("a")], "sinks": [jsonl("j")]},
        {"buses": [bus("a"), bus("b")], "sinks": [jsonl("j")]},
        {"start_buses": ("b",)},
    ),
    (
        "a bus removed",
        {"buses": [bus("a"), bus("b")], "sinks": [jsonl("j")]},
        {"buses": [bus("a")], "sinks": [jsonl("j")]},
        {"stop_buses": ("b",)},
    ),
    (
        "a bus changed",
        {"buses": [bus("a"), bus("b")], "sinks": [jsonl("j")]},
        {"buses": [bus("a"), bus("b", every="1h")], "sinks": [jsonl("j")]},
        {"stop_buses": ("b",), "start_buses": ("b",)},
    ),
    (
        "a sink changed",
        {"buses": [bus("a")], "sinks": [jsonl("j"), jsonl("k", "k.jsonl")]},
        {"buses": [bus("a")], "sinks": [jsonl("j", "other.jsonl"), jsonl("k", "k.jsonl")]},
        {"stop_sinks": ("j",), "start_sinks": ("j",)},
    ),
    (
        "a sink removed: its cursor is forgotten",
        {"buses": [bus("a")], "sinks": [jsonl("j"), jsonl("k", "k.jsonl")]},
        {"buses": [bus("a")], "sinks": [jsonl("k", "k.jsonl")]},
        {"stop_sinks": ("j",), "forget_sinks": ("j",)},
    ),
    (
        "a sink added",
        {"buses": [bus("a")], "sinks": [jsonl("j")]},
        {"buses": [bus("a")], "sinks": [jsonl("j"), jsonl("k", "k.jsonl")]},
        {"start_sinks": ("k",)},
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_plan(
    tmp_path: Path, old: dict[str, Any], new: dict[str, Any], expected: dict[str, tuple[str, ...]]
) -> None:
    plan = plan_reload(config(tmp_path, **old), config(tmp_path, **new))
    fields = ("stop_buses", "start_buses", "stop_sinks", "forget_sinks", "start_sinks")
    assert {f: getattr(plan, f) for f in fields if getattr(plan, f)} == expected
    assert not plan.state_dir_kept
    assert not plan.logging
    assert not plan.http


def test_a_failed_sink_is_restarted_even_unchanged(tmp_path: Path) -> None:
    same = config(tmp_path, [bus("a")], [jsonl("j"), jsonl("k", "k.jsonl")])
    plan = plan_reload(same, same, failed_sinks={"k"})
    assert (plan.stop_sinks, plan.start_sinks, plan.forget_sinks) == (("k",), ("k",), ())


def test_a_sink_that_could_not_be_built_is_tried_again(tmp_path: Path) -> None:
    same = config(tmp_path, [bus("a")], [jsonl("j"), jsonl("k", "k.jsonl")])
    plan = plan_reload(same, same, running_sinks=["j"])
    assert (plan.stop_sinks, plan.start_sinks) == ((), ("k",))


def test_same_bus_decides_what_equality_cannot_see(tmp_path: Path) -> None:
    # The daemon compares the meter settings built from password_file too.
    same = config(tmp_path, [bus("a"), bus("b")], [jsonl("j")])

    def secret_changed(running: BusConfig, wanted: BusConfig) -> bool:
        return running.name != "b"

    plan = plan_reload(same, same, same_bus=secret_changed)
    assert (plan.stop_buses, plan.start_buses) == (("b",), ("b",))
    assert plan.changes()["buses_restarted"] == ["b"]


def test_state_dir_is_kept_and_log_and_http_changes_are_seen(tmp_path: Path) -> None:
    old = config(tmp_path, [bus("a")], [jsonl("j")])
    new = config(
        tmp_path / "elsewhere",
        [bus("a")],
        [jsonl("j")],
        log={"level": "debug"},
        http={"enabled": True, "listen": "127.0.0.1:9999"},
    )
    plan = plan_reload(old, new)
    assert plan.state_dir_kept
    assert plan.config.state_dir == old.state_dir
    assert plan.logging
    assert plan.http
    assert not plan.stop_buses


def test_changes_name_what_the_reloaded_line_reports() -> None:
    plan = ReloadPlan(
        config=None,  # type: ignore[arg-type]
        state_dir_kept=False,
        stop_buses=("changed", "gone"),
        start_buses=("changed", "new"),
        stop_sinks=("s",),
    )
    assert plan.changes() == {
        "buses_restarted": ["changed"],
        "buses_removed": ["gone"],
        "buses_added": ["new"],
        "sinks_restarted": ["s"],
    }
