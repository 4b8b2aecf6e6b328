"""``iec-poller read`` end to end: in-process on ``sim://`` buses on simulated time,
one read over a TCP converter that never answers (real time, the deadline), and one
over a pty served by ``iec-poller simulate`` (real time, real baud switch)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import poller.cli._read as cli_read
from poller.cli import main
from poller.cli._read import (
    EXIT_AUTH,
    EXIT_NO_ANSWER,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PORT,
    EXIT_USAGE,
    PASSWORD_ENV,
)
from poller.protocol import wire_time
from poller.simulator import SimulatedPort
from poller.transport import PortOptions, port_for_url

EPOCH = "2026-11-28T12:00:00%2B00:00"
LZQJ = f"sim://emh-lzqj?clock=manual&epoch={EPOCH}"
LZQJ_ADDRESS = "06417290"
LZQJ_PASSWORD = "00000000"  # the simulated meter's factory default
MT174 = f"sim://iskra-mt174?clock=manual&epoch={EPOCH}"


def read(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(["read", *args])
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    return status, out.getvalue(), err.getvalue()


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_readout_as_a_table() -> None:
    status, out, err = read("sim://iskra-mt174?clock=manual")
    assert status == EXIT_OK, err
    header, *rows = out.splitlines()
    assert header.startswith("meter ")
    assert "/ISk5MT174" in header
    assert "9600 Bd" in header
    energy = next(row for row in rows if row.startswith("1-0:1.8.0*255"))
    assert energy.split()[1:] == [energy.split()[1], "kWh"]
    assert float(energy.split()[1]) > 0
    assert err == ""


def test_readout_as_json_lines_with_the_meter_used() -> None:
    status, out, _ = read(
        "sim://lg-zmd?clock=manual&count=3", "--address", "31002783", "--format", "json"
    )
    assert status == EXIT_OK
    lines = records(out)
    assert len(lines) > 5
    for record in lines:
        assert record["meter"] == "31002783"
        assert {"address", "value", "unit", "values", "key", "quality"} <= record.keys()
    assert any(r["address"] == "1.8.1" and r["unit"] == "kWh" for r in lines)


def test_readout_filtered_to_registers() -> None:
    status, out, _ = read(
        "sim://lg-zmd?clock=manual", "--mode", "readout", "--register", "1.8.1",
        "--register", "32.7", "--format", "json",
    )  # fmt: skip
    assert status == EXIT_OK
    assert sorted(r["address"] for r in records(out)) == ["1.8.1", "32.7"]


def test_programming_prints_one_object_per_register() -> None:
    status, out, err = read(
        LZQJ, "--address", LZQJ_ADDRESS, "--password", LZQJ_PASSWORD,
        "--register", "1.8.0", "--register", "1.6.0", "--format", "json",
    )  # fmt: skip
    assert status == EXIT_OK, err
    lines = records(out)
    assert [r["address"] for r in lines] == ["1.8.0", "1.6.0"]
    assert all(r["meter"] == LZQJ_ADDRESS for r in lines)
    assert lines[0]["unit"] == "kWh"
    assert float(lines[0]["value"]) > 0


def test_a_refused_register_reads_the_others_and_exits_partial(tmp_path: Path) -> None:
    meters = tmp_path / "meters.yaml"
    meters.write_text(
        "meters:\n"
        "  - profile: emh-lzqj\n"
        f'    address: "{LZQJ_ADDRESS}"\n'
        '    faults: {r1_error: "ER03"}\n'
    )
    status, _, err = read(
        f"sim://{meters}?clock=manual", "--address", LZQJ_ADDRESS,
        "--password", LZQJ_PASSWORD, "--register", "1.8.0",
    )  # fmt: skip
    assert status == EXIT_PARTIAL
    assert err.count("\n") == 1
    assert "1.8.0" in err
    assert "ER03" in err


def test_load_profile_between_two_times_in_the_meters_zone() -> None:
    status, out, err = read(
        LZQJ, "--address", LZQJ_ADDRESS, "--load-profile", "2026-11-28T10:00..2026-11-28T11:00",
        "--meter-tz", "Europe/Berlin", "--format", "json",
    )  # fmt: skip
    assert status == EXIT_USAGE  # no password given
    assert "password" in err
    os.environ[PASSWORD_ENV] = LZQJ_PASSWORD
    try:
        status, out, err = read(
            LZQJ, "--address", LZQJ_ADDRESS,
            "--load-profile", "2026-11-28T10:00..2026-11-28T11:00",
            "--meter-tz", "Europe/Berlin", "--format", "json",
        )  # fmt: skip
    finally:
        del os.environ[PASSWORD_ENV]
    assert status == EXIT_OK, err
    lines = records(out)
    stamps = sorted({dt.datetime.fromisoformat(r["meter_time"]) for r in lines})
    berlin = dt.timezone(dt.timedelta(hours=1))
    first = dt.datetime(2026, 11, 28, 10, 0, tzinfo=berlin)
    assert stamps == [first + dt.timedelta(minutes=15 * i) for i in range(5)]
    assert len({r["key"] for r in lines}) == len(lines)


def test_wrong_password_exits_5_without_showing_it() -> None:
    secret = "S3cr3tPW"
    status, out, err = read(
        LZQJ, "--address", LZQJ_ADDRESS, "--password", secret, "--register", "1.8.0", "--trace"
    )
    assert status == EXIT_AUTH
    assert "password refused" in err
    assert secret not in out + err
    assert secret.encode().hex() not in (out + err).replace(" ", "").lower()
    assert "P1" in err  # the trace shows the command, masked


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(LZQJ_PASSWORD + "\n")
    status, out, _ = read(
        LZQJ, "--address", LZQJ_ADDRESS, "--password-file", str(secret), "--register", "1.8.0"
    )
    assert status == EXIT_OK
    assert "1.8.0" in out


def test_an_absent_meter_is_no_answer() -> None:
    status, out, err = read("sim://lg-zmd?clock=manual", "--address", "99999999")
    assert status == EXIT_NO_ANSWER
    assert out == ""
    assert err.startswith("iec-poller read: no answer")
    assert err.count("\n") == 1


def test_an_absent_port_is_a_port_error() -> None:
    status, _, err = read("/dev/ttyUSB-nonexistent")
    assert status == EXIT_PORT
    assert "/dev/ttyUSB-nonexistent" in err
    assert err.count("\n") == 1


def test_credentials_in_the_url_are_not_shown() -> None:
    status, _, err = read("rfc2217://user:hunter2@127.0.0.1:1", "--timeout", "5")
    assert status == EXIT_PORT
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--load-profile", "2026-11-28", "--password", "x"], "FROM..TO"),
        (["--load-profile", "2026-11-29..2026-11-28", "--password", "x"], "after FROM"),
        (["--load-profile", "yesterday..", "--password", "x"], "not an ISO"),
        (["--mode", "readout", "--load-profile", "2026-11-28.."], "programming"),
        (["--meter-tz", "Mars/Olympus", "--password", "x", "--register", "1.8.0"], "time zone"),
        (["--timeout", "0"], "positive"),
        (["--client-tr", "-1"], "--client-tr must be 0 to 1500 ms"),
        (["--client-tr", "1501"], "--client-tr must be 0 to 1500 ms"),
        (["--client-tr", "nan"], "--client-tr must be 0 to 1500 ms"),
        (["--password", "a", "--password-file", "/dev/null", "--register", "1.8.0"], "not both"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    status, out, err = read("sim://lg-zmd?clock=manual", *args)
    assert status == EXIT_USAGE
    assert message in err
    assert out == ""


def _ack_gap(monkeypatch: pytest.MonkeyPatch, *args: str) -> float:
    """Seconds from the end of the identification to our option select, on the bus."""
    opened: list[SimulatedPort] = []

    def capture(url: str, *, options: PortOptions) -> object:
        wrapped = port_for_url(url, options=options)
        port = wrapped.inner
        assert isinstance(port, SimulatedPort)
        opened.append(port)
        return wrapped

    monkeypatch.setattr(cli_read, "port_for_url", capture)
    status, _, err = read(MT174, "--format", "json", *args)
    assert status == EXIT_OK, err
    log = opened[0].bus.log
    ident = next(e for e in log if e.source != "client" and e.data.startswith(b"/"))
    ack = next(e for e in log if e.source == "client" and e.time > ident.time)
    assert ack.data.startswith(b"\x06")
    return ack.time - (ident.time + wire_time(len(ident.data), ident.line.baud))


def test_client_tr_sets_our_answer_to_the_identification(monkeypatch: pytest.MonkeyPatch) -> None:
    # /ISk5: the lowercase third letter allows 20 ms, the default.
    assert _ack_gap(monkeypatch) == pytest.approx(0.020, abs=0.001)
    assert _ack_gap(monkeypatch, "--client-tr", "350") == pytest.approx(0.350, abs=0.001)
    # 0 answers as soon as the identification's line end is in: the session runner
    # hands a burst over once it may be a whole message, without a quiet gap.
    assert _ack_gap(monkeypatch, "--client-tr", "0") == pytest.approx(0.0, abs=0.001)


def test_8n1_meter(tmp_path: Path) -> None:
    meters = tmp_path / "meters.yaml"
    meters.write_text('meters:\n  - profile: lg-zmd\n    quirks: {framing: "8N1"}\n')
    url = f"sim://{meters}?clock=manual"
    assert read(url)[0] == EXIT_NO_ANSWER  # parity junk: it never hears its sign-on
    status, out, _ = read(url, "--8n1")
    assert status == EXIT_OK
    assert "1.8.1" in out


def test_echoing_head(tmp_path: Path) -> None:
    meters = tmp_path / "meters.yaml"
    meters.write_text("meters:\n  - profile: iskra-mt174\n    quirks: {echo: true}\n")
    status, out, err = read(f"sim://{meters}?clock=manual", "--echo", "--format", "json")
    assert status == EXIT_OK, err
    assert any(r["address"] == "1-0:1.8.0*255" for r in records(out))


def test_max_baud_caps_the_rate() -> None:
    status, out, _ = read(
        "sim://iskra-mt174?clock=manual", "--max-baud", "2400", "--format", "json"
    )
    assert status == EXIT_OK
    # This meter, like most, ignores a rate it did not offer: the read ends at 300 Bd.
    status, out, _ = read("sim://iskra-mt174?clock=manual", "--max-baud", "2400")
    assert status == EXIT_OK
    assert out.splitlines()[0].split()[3:5] == ["300", "Bd"]


def test_push_meter_is_heard() -> None:
    status, out, err = read("sim://emh-ehz?clock=manual", "--mode", "push", "--format", "json")
    assert status == EXIT_OK, err
    assert any(r["obis"] and r["obis"].endswith("1.8.1*255") for r in records(out))


@pytest.fixture
def mute_converter() -> Iterator[int]:
    """A TCP-serial converter whose meter never answers: accepts and reads forever."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conns.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in conns:
        conn.close()
    server.close()


def test_the_whole_read_has_a_deadline(mute_converter: int) -> None:
    start = time.monotonic()
    status, _, err = read(f"socket://127.0.0.1:{mute_converter}", "--timeout", "0.6")
    elapsed = time.monotonic() - start
    assert status == EXIT_NO_ANSWER
    assert "0.6 s" in err
    assert elapsed < 3.0


def test_over_a_pty_at_real_timing() -> None:
    """The installed command reads a mode C meter served on a pty by ``simulate``."""
    bindir = Path(sys.executable).parent
    server = subprocess.Popen(
        [bindir / "iec-poller", "simulate", "--profile", "iskra-mt174", "--pty"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        pty = server.stdout.readline().strip()
        assert pty.startswith("/dev/pts/")
        done = subprocess.run(
            [bindir / "iec-poller", "read", pty, "--format", "json", "--timeout", "20"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == EXIT_OK, done.stderr
        lines = records(done.stdout)
        assert any(r["address"] == "1-0:1.8.0*255" for r in lines)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_no_event_loop_is_left_behind() -> None:
    read("sim://lg-zmd?clock=manual")
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_read_imports_neither_the_daemon_nor_the_sinks() -> None:
    # A fresh interpreter, as a technician's shell starts one: the daemon's
    # configuration models, sinks and their clients are half a second of imports.
    probe = (
        "import sys\n"
        "from poller.cli import main\n"
        "main(['read', '/nonexistent/tty', '--timeout', '1'])\n"
        "heavy = ('poller.config', 'poller.daemon', 'poller.sinks', 'poller.simulator',\n"
        "         'pydantic', 'asyncpg', 'aiomqtt', 'prometheus_client', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
    assert "port unavailable" in done.stderr
