"""One daemon per state directory: an exclusive lock held for the process's life.

Two daemons on one spool would each deliver every batch (twice at every sink) and
race on the profile cursors. ``flock`` is released by the kernel when the process
ends, however it ends, so a SIGKILL never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

__all__ = ["StateLock", "StateLockedError"]

LOCK_NAME: Final = "iec-poller.lock"


class StateLockedError(OSError):
    """Another process holds the state directory."""


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateLockedError(
                f"another iec-poller (pid {holder}) runs on state_dir {self.path.parent}; "
                "give each daemon its own state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
