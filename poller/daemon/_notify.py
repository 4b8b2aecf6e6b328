"""The systemd notify protocol: READY, STATUS, WATCHDOG and STOPPING datagrams.

systemd hands a ``Type=notify`` service the path of a datagram socket in
``NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace) and, with
``WatchdogSec=``, the interval in ``WATCHDOG_USEC``. The protocol is one datagram of
``KEY=value`` lines per message, so it is written here rather than pulled in with
libsystemd. The watchdog is fed from the event loop itself: a loop that hangs stops
feeding it and systemd restarts the service, which is the point.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from typing import Final

__all__ = ["Notifier"]

# systemd asks for a ping at least every WATCHDOG_USEC; twice as often leaves margin
# for a loop that is busy but alive.
_WATCHDOG_FRACTION: Final = 0.5


class Notifier:
    """Sends notify messages to systemd when it is listening."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog = _watchdog_interval(env)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings, or None when no watchdog is set."""
        return None if self._watchdog is None else self._watchdog * _WATCHDOG_FRACTION

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` fields (``ready=1`` becomes ``READY=1``); False if not sent."""
        if self._address is None:
            return False
        payload = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto(payload.encode(), self._address)
        except OSError:
            # systemd gone (or a test socket closed): nothing to tell, nothing to fail.
            return False
        return True

    def ready(self, status: str) -> None:
        self.send(ready=1, status=status)

    def status(self, status: str) -> None:
        self.send(status=status)

    def reloading(self) -> None:
        self.send(reloading=1)

    def stopping(self, status: str = "stopping") -> None:
        self.send(stopping=1, status=status)

    def start_watchdog(self) -> None:
        """Ping WATCHDOG=1 from the running loop until ``stop_watchdog``."""
        interval = self.watchdog_interval
        if interval is None or not self.enabled or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._feed(interval), name="systemd watchdog"
        )

    async def stop_watchdog(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def _feed(self, interval: float) -> None:
        while True:
            self.send(watchdog=1)
            await asyncio.sleep(interval)


def _socket_address(path: str) -> str | None:
    if not path:
        return None
    if path.startswith("@"):
        return "\0" + path[1:]
    return path


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    # WATCHDOG_PID names the process meant; a child that inherited the variable is not.
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid != str(os.getpid()):
        return None
    return usec / 1_000_000 if usec > 0 else None
