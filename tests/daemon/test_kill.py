"""The daemon killed with SIGKILL in the middle of a cycle and started again.

"Nothing lost" here means: every reading the spool acknowledged (its ``put``
returned, so the engine went on) reaches every sink, and the idempotent sinks hold
each reading once. What a SIGKILL can cost is only the session that was on the wire
at that moment (its batch was never put); the meters are read again at the next
slot after the restart. So, per meter, the slots stored are every slot from the
first to the last, except at most the one cut by the kill and those that passed
while the daemon was down; and the jsonl and SQLite sinks hold the same readings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import signal
import sqlite3

import pytest

from .conftest import jsonl_records, wait_for

CONFIG = """
state_dir: @STATE@
timezone: UTC
log: {level: info}
http: {listen: "127.0.0.1:@HTTP@"}
buses:
  - name: line-a
    port: "sim://lg-zmd?count=3&time_scale=0.1&seed=3"
    schedule: {every: 2s}
    meters:
      - {address: "31002781"}
      - {address: "31002782"}
      - {address: "31002783"}
  - name: line-b
    port: "sim://iskra-mt174?count=2&time_scale=0.1&seed=4"
    schedule: {every: 2s}
    meters:
      - {address: "60912204"}
      - {address: "60912205"}
sinks:
  - type: jsonl
    path: @STATE@/readings.jsonl
  - type: sqlite
    path: @STATE@/readings.sqlite
"""

STEP = dt.timedelta(seconds=2)


# Real time: slots before and after a SIGKILL and a restart (about 13 s alone).
@pytest.mark.timeout(120)
def test_sigkill_mid_cycle_loses_nothing_and_duplicates_nothing(daemon) -> None:
    first = daemon(CONFIG)
    jsonl = first.state / "readings.jsonl"
    wait_for(lambda: len({r["slot"] for r in jsonl_records(jsonl)}) >= 2, 30, "two slots")

    def mid_session() -> bool:
        started = len(first.logged("session start"))
        return started > len(first.logged("session done"))

    wait_for(mid_session, 10, "a session on the wire")
    first.signal(signal.SIGKILL)
    first.wait(timeout=10)
    first.stop()
    killed_at = dt.datetime.now(dt.UTC)

    second = daemon(CONFIG)  # same state directory: the spool and cursors survive

    def meters_read_since_restart() -> set[str]:
        late = killed_at + 3 * STEP
        return {
            r["meter"] for r in jsonl_records(jsonl) if dt.datetime.fromisoformat(r["slot"]) > late
        }

    wait_for(lambda: len(meters_read_since_restart()) == 5, 30, "every meter after the restart")
    second.signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0

    records = jsonl_records(jsonl)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "the jsonl sink wrote a reading twice"
    with contextlib.closing(sqlite3.connect(second.state / "readings.sqlite")) as db:
        stored = {row[0] for row in db.execute("SELECT key FROM readings")}
    assert stored == set(keys)

    restart_gap = 0
    for meter in ("31002781", "31002782", "31002783", "60912204", "60912205"):
        slots = sorted(
            {dt.datetime.fromisoformat(r["slot"]) for r in records if r["meter"] == meter}
        )
        assert len(slots) >= 4, meter
        gaps = [(a, b) for a, b in itertools.pairwise(slots) if b - a != STEP]
        # At most one gap per meter, and it spans the kill: the cut session and the
        # slots while nothing ran. Every other slot is there.
        assert len(gaps) <= 1, (meter, gaps)
        for before, after in gaps:
            assert before <= killed_at <= after, (meter, before, after, killed_at)
            restart_gap = max(restart_gap, int((after - before) / STEP))
    assert restart_gap >= 1
    # The readings of one slot are complete: every register of the readout.
    per_batch: dict[tuple[str, str], int] = {}
    for r in records:
        per_batch[(r["meter"], r["slot"])] = per_batch.get((r["meter"], r["slot"]), 0) + 1
    sizes = {m: {n for (meter, _), n in per_batch.items() if meter == m} for m, _ in per_batch}
    assert all(len(s) == 1 for s in sizes.values()), sizes
