"""``iec-poller simulate``: the profile list, errors, and a real run over TCP and a pty."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from poller.cli import main
from poller.protocol import DataMessage, OptionSelect, Request, decode_frames
from poller.simulator import profiles

EXAMPLE = Path(__file__).parents[2] / "config" / "simulator.example.yaml"


def test_list_profiles_one_a_line_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list-profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [p.name for p in profiles()]
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--profile NAME or --config FILE"),
        (["--config", str(EXAMPLE), "--count", "2"], "--count goes with --profile"),
        (["--profile", "nope"], "no profile 'nope'"),
        (["--profile", "lg-zmd", "--tcp", "localhost"], "HOST:PORT"),
        (["--profile", "lg-zmd", "--time-scale", "0"], "positive"),
        (["--config", "/nonexistent.yaml"], "cannot read"),
    ],
)
def test_bad_setups_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *argv]) == 2
    assert message in capsys.readouterr().err


def _start(*argv: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "poller", "simulate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 10.0)
    assert ready, "no port printed"
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str], signum: int) -> str:
    process.send_signal(signum)
    out, err = process.communicate(timeout=5.0)
    assert process.returncode == 0, err
    return out


def _recv_until(sock: socket.socket, end: bytes, extra: int = 0) -> bytes:
    """Bytes up to ``end`` and ``extra`` more (the BCC after ETX)."""
    data = b""
    while end not in data or len(data) < data.index(end) + len(end) + extra:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def test_tcp_run_prints_the_url_first_logs_exchanges_and_stops_on_sigterm() -> None:
    process, url = _start(
        "--profile", "lg-zmd", "--count", "2", "--tcp", "127.0.0.1:0", "--time-scale", "0.05"
    )
    try:
        assert url.startswith("socket://127.0.0.1:")
        host, port = url.removeprefix("socket://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5.0) as sock:
            sock.sendall(Request(address="31002782").to_bytes())
            raw = _recv_until(sock, b"\r\n")
            sock.sendall(OptionSelect.readout("5").to_bytes())
            raw += _recv_until(sock, b"\x03", extra=1)
    finally:
        out = _stop(process, signal.SIGTERM)
    frames = decode_frames(raw)
    assert isinstance(frames[1].message, DataMessage)
    log = out.splitlines()
    assert log[0].startswith("# client ('127.0.0.1'")  # the url was the line before
    assert any("> client" in line and "/?31002782!<CR><LF>" in line for line in log)
    assert any("< 31002782" in line and "9600 7E1" in line and "<STX>" in line for line in log)


def test_pty_is_the_default_and_sigint_ends_it() -> None:
    process, path = _start("--config", str(EXAMPLE), "--time-scale", "0.1")
    try:
        assert path.startswith("/dev/pts/")
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        os.close(fd)
        time.sleep(0.5)
    finally:
        out = _stop(process, signal.SIGINT)
    # The mode D meter of the example pushes a telegram every 0.2 s of real time.
    assert any("< 1ESY1160337799" in line for line in out.splitlines()[1:])
