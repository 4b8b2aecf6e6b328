"""SIGKILL in the middle of a cycle, then a start on the same state directory.

``runner.py`` stands in for the daemon (engine + spool + dispatchers to an ``sqlite``
and a ``jsonl`` sink) and keeps a journal of every ``put`` it called and every one
that returned; the test kills it with SIGKILL during a cycle and starts it again.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .helpers import assert_each_once

ROOT = Path(__file__).resolve().parents[2]
CYCLES = 5
READINGS_PER_CYCLE = 4 * 20  # four lg-zmd meters, twenty registers each


def journal(state: Path) -> list[dict[str, Any]]:
    entries = []
    for line in (state / "journal.jsonl").read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line the kill cut in half
            entries.append(json.loads(line))
    return entries


def keys_of(entries: list[dict[str, Any]], kind: str) -> set[str]:
    return {key for entry in entries for key in entry.get(kind, ())}


def start(state: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.pipeline.runner", str(state)]
    command += ["--cycles", str(CYCLES), "--time-scale", "0.02"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_for(check: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"runner ended or timed out before {what} (exit {process.poll()})")
        time.sleep(0.002)


@pytest.mark.parametrize(("kill_in", "after_acks"), [(1, 2), (3, 1)])
def test_sigkill_mid_cycle_then_restart_loses_and_duplicates_nothing(
    tmp_path: Path, kill_in: int, after_acks: int
) -> None:
    """What "nothing lost" means here, precisely:

    A reading is *acknowledged* when the ``spool.put`` of its batch returned (the
    runner journals ``acked`` right after). That is the daemon's promise: the engine
    moves its cursors and forgets a batch only then. Every acknowledged reading, of
    the killed life and of the next, must be at each destination exactly once (the
    sqlite table and the jsonl file), and nothing may be there that was never put.

    A batch the meters had served but whose ``put`` had not returned when the kill
    came is not acknowledged: the engine did not count it as delivered and reads the
    meter again; its ``put`` may or may not have reached the disk, and either way is
    fine. Here the restarted runner polls the interrupted cycle again (same slots,
    same keys), so in the end every reading of all five cycles is acknowledged and
    all of them must be there, once: a batch stored before the kill and read again
    after it, or sent to a sink twice because its cursor had not been noted, must not
    show twice. (The jsonl sink also cleans a record cut by the kill.)
    """
    state, log = tmp_path / "state", tmp_path / "runner.log"

    first = start(state, log)

    def mid_cycle() -> bool:
        if not (state / "journal.jsonl").exists():
            return False
        acks = [e for e in journal(state) if e.get("cycle") == kill_in and "acked" in e]
        return len(acks) >= after_acks

    wait_for(mid_cycle, first, f"{after_acks} batches of cycle {kill_in}")
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    killed = journal(state)
    assert {"cycle_done": kill_in} not in killed, "the kill came too late: the cycle was done"
    acked_before = keys_of(killed, "acked")
    assert READINGS_PER_CYCLE * kill_in < len(acked_before) < READINGS_PER_CYCLE * (kill_in + 1)

    second = start(state, log)
    try:
        assert second.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
    entries = journal(state)
    assert entries[-1] == {"drained": True}
    acked, put = keys_of(entries, "acked"), keys_of(entries, "put")
    assert acked_before <= acked
    assert acked == put  # the interrupted put was made again, and returned
    assert len(acked) == CYCLES * READINGS_PER_CYCLE

    with contextlib.closing(sqlite3.connect(state / "readings.sqlite")) as db:
        rows = [row[0] for row in db.execute("SELECT key FROM readings")]
        spool = sqlite3.connect(state / "spool.sqlite")
        with contextlib.closing(spool):
            left = spool.execute("SELECT count(*) FROM batches").fetchone()[0]
    lines = (state / "readings.jsonl").read_text().splitlines()
    assert assert_each_once(rows, acked) == CYCLES * READINGS_PER_CYCLE
    assert assert_each_once([json.loads(line)["key"] for line in lines], acked) == len(acked)
    assert left == 0  # both sinks had everything: the spool forgot it
