"""Local TCP ports: a free one to listen on, and waiting until something listens."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """A port nothing listens on now (the OS's pick; another process may take it later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_reachable(host: str, port: int, deadline: float) -> bool:
    """Whether ``host:port`` accepts a connection before ``deadline`` (``time.monotonic``)."""
    while True:
        if reachable(host, port):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
