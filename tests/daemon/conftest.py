"""The daemon as a subprocess against simulators on a pty and on TCP, at real timing.

Each fixture starts real processes: ``iec-poller simulate`` (pty or TCP converter)
and ``iec-poller run`` with a configuration written for the test, a datagram socket
standing in for systemd's notify socket, and a free port for the HTTP endpoint.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.ports import free_port
from harness.processes import stop

BIN = Path(sys.executable).parent / "iec-poller"


class Simulator:
    """``iec-poller simulate`` in a subprocess; its exchange log collected in a thread."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [BIN, "simulate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        stop(self.proc)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class Daemon:
    """``iec-poller run`` in a subprocess with a notify socket and an HTTP port."""

    folder: Path
    config: Path
    http_port: int
    proc: subprocess.Popen[str] | None = None
    notify: socket.socket | None = None
    messages: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.folder / "state"

    def start(self) -> None:
        path = str(self.folder / f"notify-{self.http_port}.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        self.notify.settimeout(0.2)
        env = {
            **os.environ,
            "NOTIFY_SOCKET": path,
            "WATCHDOG_USEC": "2000000",
        }
        self.proc = subprocess.Popen(
            [BIN, "run", "--config", str(self.config), "--log-format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._threads = [
            threading.Thread(target=self._read_output, daemon=True),
            threading.Thread(target=self._read_notify, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_output(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))

    def _read_notify(self) -> None:
        assert self.notify is not None
        assert self.proc is not None
        while True:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                # Datagrams wait in the socket: a timeout means none is left.
                if self.proc.poll() is not None:
                    return
            except OSError:
                return

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.output):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.notify is not None:
            self.notify.close()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def simulators() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def start(*args: str) -> Simulator:
        sim = Simulator(*args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    made: list[Daemon] = []

    def make(config_text: str) -> Daemon:
        config = tmp_path / "config.yaml"
        port = free_port()
        config.write_text(
            config_text.replace("@STATE@", str(tmp_path / "state")).replace("@HTTP@", str(port))
        )
        d = Daemon(tmp_path, config, port)
        made.append(d)
        d.start()
        return d

    yield make
    for d in made:
        d.stop()


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return out
