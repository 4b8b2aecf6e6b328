"""The systemd notify protocol, received on a real datagram socket."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from poller.daemon import Notifier


def listener(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    return sock


def test_ready_status_stopping_on_a_path_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with listener(path) as sock:
        notifier = Notifier({"NOTIFY_SOCKET": path})
        assert notifier.enabled
        notifier.ready("2 buses, 40 meters")
        notifier.status("cycle done")
        notifier.stopping()
        notifier.close()
        got = [sock.recv(4096).decode() for _ in range(3)]
    assert got == [
        "READY=1\nSTATUS=2 buses, 40 meters",
        "STATUS=cycle done",
        "STOPPING=1\nSTATUS=stopping",
    ]


def test_abstract_namespace_socket() -> None:
    name = f"iec-poller-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    with sock:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        notifier.ready("up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
        notifier.close()


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.send(ready=1) is False
    assert notifier.watchdog_interval is None


def test_a_vanished_socket_is_not_an_error(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.send(status="x") is False
    notifier.close()


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}, None),  # meant for another
        ({"WATCHDOG_USEC": "junk"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_interval_is_half_of_systemds(env: dict[str, str], interval: float | None) -> None:
    assert Notifier({"NOTIFY_SOCKET": "/x", **env}).watchdog_interval == interval


async def test_watchdog_is_fed_from_the_event_loop(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000", "WATCHDOG_PID": str(os.getpid())}

    async def main(sock: socket.socket) -> list[bytes]:
        notifier = Notifier(env)
        notifier.start_watchdog()
        await asyncio.sleep(0.1)  # 20 ms interval: a handful of pings
        await notifier.stop_watchdog()
        notifier.close()
        sock.setblocking(False)
        pings = []
        while True:
            try:
                pings.append(sock.recv(64))
            except BlockingIOError:
                return pings

    with listener(path) as sock:
        pings = await main(sock)
    assert len(pings) >= 3
    assert set(pings) == {b"WATCHDOG=1"}
