"""``iec-poller run`` as a subprocess against simulators on a pty and on TCP.

Real processes and real timing: a handful of seconds each. What they prove: readings
on schedule from every meter of both buses; systemd's notify messages; /healthz and
/metrics; SIGHUP with an invalid and then a valid configuration; SIGTERM in the
middle of a programming session (B0 on the wire, exit 0); a bus whose port vanishes
and comes back while the other bus goes on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import free_port, jsonl_records, wait_for

CONFIG = """
state_dir: @STATE@
timezone: UTC
log: {{level: info}}
http: {{listen: "127.0.0.1:@HTTP@"}}
buses:
  - name: pty-bus
    port: {pty}
    schedule: {{every: 5s}}
    meters:
      - {{address: "60912204", name: flat-1}}
      - {{address: "60912205", name: flat-2}}
  - name: tcp-bus
    port: {tcp}
    schedule: {{every: 5s}}
    reopen_backoff: {{initial: 0.2, maximum: 0.5}}
    meters:
      - {{address: "31002781", name: shop}}
sinks:
  - type: jsonl
    path: @STATE@/readings.jsonl
  - type: sqlite
    path: @STATE@/readings.sqlite
"""


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


# Real time: two 10 s schedule slots, a reload and a stop (about 25 s alone).
@pytest.mark.timeout(180)
def test_readings_on_schedule_notify_health_metrics_reload_and_stop(simulators, daemon) -> None:
    pty = simulators("--profile", "iskra-mt174", "--count", "2", "--pty")
    tcp = simulators("--profile", "lg-zmd", "--tcp", "127.0.0.1:0")
    d = daemon(CONFIG.format(pty=pty.url, tcp=tcp.url))
    jsonl = d.state / "readings.jsonl"

    wait_for(lambda: any(m.startswith("READY=1") for m in d.messages), 20, "READY=1")

    # Two slots of every meter, each reading stamped with its 5 s slot.
    def slots_per_meter() -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for record in jsonl_records(jsonl):
            seen.setdefault(record["meter"], set()).add(record["slot"])
        return seen

    wait_for(
        lambda: len(s := slots_per_meter()) == 3 and all(len(v) >= 2 for v in s.values()),
        30,
        "two slots of all three meters",
    )
    for slots in slots_per_meter().values():
        for slot in slots:
            moment = dt.datetime.fromisoformat(slot)
            assert moment.second % 5 == 0
            assert moment.microsecond == 0
    records = jsonl_records(jsonl)
    assert {r["bus"] for r in records} == {"pty-bus", "tcp-bus"}
    assert {r["meter_name"] for r in records} == {"flat-1", "flat-2", "shop"}
    # The SQLite sink got the same readings, each once.
    with contextlib.closing(sqlite3.connect(d.state / "readings.sqlite")) as db:
        keys = {row[0] for row in db.execute("SELECT key FROM readings")}
    assert {r["key"] for r in records[:20]} <= keys

    status, body = d.get("/healthz")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert {b["name"]: b["up"] for b in health["buses"]} == {"pty-bus": True, "tcp-bus": True}
    states = {m["address"]: m["state"] for b in health["buses"] for m in b["meters"]}
    assert states == {"60912204": "ok", "60912205": "ok", "31002781": "ok"}

    status, text = d.get("/metrics")
    assert status == 200
    values = metric_values(text)
    for bus, meter in (("pty-bus", "60912204"), ("pty-bus", "60912205"), ("tcp-bus", "31002781")):
        labels = (("bus", bus), ("meter", meter), ("result", "ok"))
        assert values[("iec_poller_reads_total", labels)] >= 2
    assert values[("iec_poller_bus_up", (("bus", "tcp-bus"),))] == 1
    assert ("iec_poller_sink_depth_readings", (("sink", "jsonl"),)) in values
    assert ("iec_poller_sessions_deferred_total", ()) in values
    assert any(m == "WATCHDOG=1" for m in d.messages)
    ready = next(m for m in d.messages if m.startswith("READY=1"))
    assert "STATUS=2 buses (" in ready
    assert "3 meters" in ready

    # SIGHUP with a broken file: rejected, the running configuration kept.
    good = d.config.read_text()
    d.config.write_text(good.replace("schedule: {every: 5s}", "schedule: {every: 7m}", 1))
    d.signal(signal.SIGHUP)
    event = "reload rejected: the configuration is invalid; the running one is kept"
    rejected = wait_for(lambda: d.logged(event), 10, "the rejection")
    assert any("every" in p and "divide" in p for p in rejected[0]["problems"])
    before = len(jsonl_records(jsonl))
    wait_for(lambda: len(jsonl_records(jsonl)) > before, 15, "readings after the bad reload")

    # SIGHUP with a valid change to one bus: only that bus restarts.
    d.config.write_text(good.replace("name: shop}", "name: corner-shop}"))
    d.signal(signal.SIGHUP)
    reloaded = wait_for(lambda: d.logged("reloaded"), 10, "the reload")[0]
    assert reloaded["buses_restarted"] == ["tcp-bus"]
    wait_for(
        lambda: any(r["meter_name"] == "corner-shop" for r in jsonl_records(jsonl)),
        15,
        "a reading under the new name",
    )
    ports_opened = [e["bus"] for e in d.logged("port open")]
    assert ports_opened.count("pty-bus") == 1  # the unchanged bus never restarted

    d.signal(signal.SIGTERM)
    assert d.wait(timeout=20) == 0
    assert any(m.startswith("STOPPING=1") for m in d.messages)
    assert d.logged("stopped")
    text = "\n".join(d.output)
    assert "00000000" not in text  # no secret in any line


PROGRAMMING = """
state_dir: @STATE@
log: {{level: info}}
http: {{listen: "127.0.0.1:@HTTP@"}}
buses:
  - name: emh
    port: {tcp}
    schedule: {{every: 2s}}
    stop_timeout: 1s
    meters:
      - address: "06417290"
        mode: programming
        password: "00000000"
        registers: ["1.8.0"]
        profiles: ["P.01"]
        profile_backfill: 30d
sinks:
  - type: jsonl
    path: @STATE@/readings.jsonl
"""


def test_sigterm_in_a_programming_session_sends_b0_and_exits_0(simulators, daemon) -> None:
    # A month of quarter-hour profile at 4800 Bd: a session of many seconds.
    sim = simulators("--profile", "emh-lzqj", "--tcp", "127.0.0.1:0")
    d = daemon(PROGRAMMING.format(tcp=sim.url))
    wait_for(lambda: "R5" in sim.log(), 30, "the profile read to start")
    time.sleep(0.3)
    start = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=20) == 0
    assert time.monotonic() - start < 10
    wait_for(lambda: "B0" in sim.log().split("R5", 1)[1], 5, "B0 after the R5")
    b0 = [line for line in sim.lines if "B0" in line]
    assert b0
    assert ">" in b0[-1]  # sent by the client, not a meter
    assert d.logged("stopped")
    assert "00000000" not in "\n".join(d.output)


VANISHING = """
state_dir: @STATE@
log: {{level: info}}
http: {{listen: "127.0.0.1:@HTTP@"}}
buses:
  - name: steady
    port: "sim://iskra-mt174?time_scale=1"
    schedule: {{every: 2s}}
    meters:
      - {{address: "60912204"}}
  - name: flaky
    port: socket://127.0.0.1:{port}
    schedule: {{every: 2s}}
    reopen_backoff: {{initial: 0.2, maximum: 0.5}}
    meters:
      - {{address: "31002781"}}
sinks:
  - type: jsonl
    path: @STATE@/readings.jsonl
"""


def test_a_bus_whose_port_vanishes_resumes_and_the_other_goes_on(simulators, daemon) -> None:
    port = free_port()
    first = simulators("--profile", "lg-zmd", "--tcp", f"127.0.0.1:{port}")
    d = daemon(VANISHING.format(port=port))
    jsonl = d.state / "readings.jsonl"

    def count(bus: str) -> int:
        return sum(1 for r in jsonl_records(jsonl) if r["bus"] == bus)

    wait_for(lambda: count("flaky") > 0, 20, "a first reading from the TCP bus")
    first.stop()  # the converter reboots
    wait_for(lambda: d.get("/healthz")[0] == 503, 15, "/healthz to report the bus down")
    body = json.loads(d.get("/healthz")[1])
    assert {b["name"]: b["up"] for b in body["buses"]} == {"steady": True, "flaky": False}
    steady = count("steady")
    wait_for(lambda: count("steady") > steady, 10, "the other bus to go on")

    # The bus tries to reopen at its next job, and keeps trying with backoff.
    wait_for(lambda: d.logged("port open failed"), 10, "a failed reopen")
    flaky = count("flaky")
    simulators("--profile", "lg-zmd", "--tcp", f"127.0.0.1:{port}")  # back on the same port
    wait_for(lambda: count("flaky") > flaky, 20, "the bus to resume by itself")
    wait_for(lambda: d.get("/healthz")[0] == 200, 10, "/healthz healthy again")
    failures = d.logged("port open failed")
    assert failures
    assert all(f["bus"] == "flaky" for f in failures)
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=20) == 0


def test_an_invalid_configuration_is_not_started(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "config.yaml"
    config.write_text("buses: []\nsinks: [{type: jsonl}]\nstate_dri: /tmp\n")
    done = subprocess.run(
        [Path(sys.executable).parent / "iec-poller", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert f"{config}:3:1: state_dri: unknown key 'state_dri'; did you mean 'state_dir'?" in (
        done.stderr
    )
    assert "not started" in done.stderr


ONE_BUS = """
state_dir: @STATE@
log: {level: info}
http: {enabled: false}
buses:
  - name: a
    port: "sim://iskra-mt174?time_scale=1"
    schedule: {every: 1m}
    meters: [{address: "60912204"}]
sinks:
  - type: jsonl
    path: @STATE@/readings.jsonl
"""


def test_a_second_daemon_on_the_same_state_dir_refuses_to_start(daemon) -> None:
    first = daemon(ONE_BUS)
    wait_for(lambda: any(m.startswith("READY=1") for m in first.messages), 20, "READY=1")
    second = daemon(ONE_BUS)
    assert second.wait(timeout=20) == 1
    failed = wait_for(lambda: second.logged("start-up failed"), 5, "the start-up error")
    assert "another iec-poller (pid " in failed[0]["error"]
    assert str(first.state) in failed[0]["error"]
    assert first.proc is not None
    assert first.proc.poll() is None  # the first one runs on, untouched
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0
