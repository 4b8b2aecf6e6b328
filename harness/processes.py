"""Child processes that a test or the soak stops, kills and starts again at will.

``stop`` is the polite end (a signal, then SIGKILL if the process will not go);
``Child.kill`` is a crash on purpose: SIGKILL, no goodbye to anyone connected.
``Mosquitto`` is a broker of the caller's own on a free port, without persistence,
so that a restart forgets sessions and retained messages as a replaced container
would; it never touches the machine's own broker.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from .ports import free_port, wait_reachable


def stop(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str],
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
) -> int | None:
    """Send ``sig`` and wait; SIGKILL after ``timeout``. The exit code, or None if killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class Child:
    """A helper process (``proc`` set by ``start``) that is killed on purpose."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()  # a crash: no goodbye to the clients
            proc.wait()


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        found = "/usr/sbin/mosquitto"
    return found


class Mosquitto(Child):
    """A private broker on a free port in ``folder``: ``start``, ``kill``, ``start``."""

    def __init__(self, folder: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto binary not found (Debian package mosquitto)")
        self.binary = binary
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest none\n"
        )
        self.proc = None

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - the broker binary found above
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_reachable("127.0.0.1", self.port, deadline=time.monotonic() + timeout):
            self.kill()
            raise RuntimeError(f"mosquitto did not start on port {self.port}")
