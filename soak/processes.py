"""The soak's processes: the daemon and the TCP simulators (``iec-poller`` subprocesses)
that it kills and starts again, beside ``harness.processes.Mosquitto`` for the broker.

Each has ``start`` and ``kill`` (SIGKILL, a crash); the daemon also ``terminate``
(SIGTERM, the orderly stop) and ``ready`` (its health endpoint answers, 503 included:
a bus being down is not the daemon being down)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness.ports import free_port, wait_reachable
from harness.processes import Child, stop

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "iec-poller"


class TcpSimulator(Child):
    """``iec-poller simulate --tcp`` on a fixed port: the converter that gets unplugged."""

    def __init__(self, meters_file: Path, log_file: Path) -> None:
        self.port = free_port()
        self.meters_file = meters_file
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [BIN, "simulate", "--config", str(self.meters_file), "--tcp", self.address],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if not wait_reachable("127.0.0.1", self.port, deadline=time.monotonic() + 15):
            raise RuntimeError("the TCP simulator did not start")


class DaemonProcess:
    def __init__(self, config: Path, http_port: int, log_file: Path) -> None:
        self.config = config
        self.http_port = http_port
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [BIN, "run", "--config", str(self.config), "--log-format", "json"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.starts += 1

    def ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True  # 503 while a bus is down: it answers, so it is up
            except OSError:
                time.sleep(0.1)
        return False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def terminate(self, timeout: float = 60) -> int | None:
        return None if self.proc is None else stop(self.proc, timeout=timeout)
