"""An append-only file of records for the ``jsonl`` and ``csv`` sinks: rotation,
fsync, and replays recognised.

Theory of operation
-------------------
Records go to ``path``; it is rotated (renamed to ``<stem>.<stamp><suffix>``) when it
reaches ``max_bytes`` or when the UTC day changes, and only the ``keep`` newest
rotated files are kept. With ``fsync: batch`` a write returns only once the batch is
on disk, so the spool may forget it; with ``never`` the OS decides, and a power cut
can lose the last seconds of records the spool has already let go.

Exactly once, as far as the file can tell: the idempotency keys of the records in
the current file and in the one rotated before it are remembered (as 64-bit
digests, loaded again at start), and a record whose key is among them is not
written again. The spool sends a batch again only if the daemon stopped before it
noted the delivery, which is at most the last batch, so a replay is always caught;
a reading read again much later (days, after both files rotated) is written again.
A last line cut by a crash is removed at start: its batch was not confirmed, so
the spool sends it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from ._contract import SinkSettings

__all__ = ["FileSettings", "RecordFile", "key_digest"]


class FileSettings(SinkSettings):
    """What the file sinks share."""

    path: Path
    """Relative paths are under the daemon's state directory."""
    rotate: Literal["size", "day", "never"] = "size"
    max_bytes: int = Field(default=32 * 2**20, gt=0)
    """With ``rotate: size``: the size past which a new file is begun."""
    keep: int = Field(default=10, ge=0)
    """Rotated files kept; older ones are deleted."""
    fsync: Literal["batch", "never"] = "batch"


def key_digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


class RecordFile:
    """Blocking file I/O; the sinks run it in a worker thread.

    ``read_keys`` gives the keys of an existing file's records; ``header`` (CSV) is
    written at the top of each new file, and an old file with another header is
    rotated away rather than appended to.
    """

    def __init__(
        self,
        path: Path,
        settings: FileSettings,
        *,
        read_keys: Callable[[bytes], Iterable[str]],
        header: bytes = b"",
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        self.path = path
        self._settings = settings
        self._read_keys = read_keys
        self._header = header
        self._today = today
        self._handle: int | None = None
        self._size = 0
        self._day = today()
        self._current: set[int] = set()
        self._previous: set[int] = set()

    def open(self) -> None:
        if self._handle is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            data = self._repaired()
            if self._header and not data.startswith(self._header):
                self._rotate(self._day_of(self.path))
            else:
                self._current = {key_digest(k) for k in self._read_keys(data)}
                self._size = len(data)
                self._day = self._day_of(self.path)
        newest = self._rotated()[-1:]
        if newest:
            self._previous = {key_digest(k) for k in self._read_keys(newest[0].read_bytes())}
        self._open_handle()

    def append(self, records: Sequence[tuple[str, bytes]]) -> int:
        """Write the records whose keys the file does not hold; how many were written."""
        if self._handle is None:
            self.open()
        self._maybe_rotate()
        assert self._handle is not None
        fresh: list[bytes] = []
        digests: set[int] = set()
        for key, line in records:
            digest = key_digest(key)
            if digest in self._current or digest in self._previous or digest in digests:
                continue
            digests.add(digest)
            fresh.append(line)
        if not fresh:
            return 0
        data = b"".join(fresh)
        try:
            _write_all(self._handle, data)
            if self._settings.fsync == "batch":
                os.fsync(self._handle)
        except OSError:
            # A half-written batch (a full disk) would leave a cut line before the retry.
            os.ftruncate(self._handle, self._size)
            raise
        self._size += len(data)
        self._current |= digests
        return len(fresh)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            os.close(handle)

    def _maybe_rotate(self) -> None:
        settings = self._settings
        body = self._size - len(self._header)
        if settings.rotate == "size" and body > 0 and self._size >= settings.max_bytes:
            self._rotate(None)
        elif settings.rotate == "day" and self._today() != self._day:
            self._rotate(self._day)

    def _rotate(self, day: dt.date | None) -> None:
        self.close()
        if day is not None:
            stamp = day.isoformat()
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self._rotated_name(stamp)
        suffix = 1
        while target.exists():
            target = self._rotated_name(f"{stamp}-{suffix}")
            suffix += 1
        self.path.rename(target)
        self._previous, self._current = self._current, set()
        self._size = 0
        self._day = self._today()
        for old in self._rotated()[: -self._settings.keep or None]:
            old.unlink(missing_ok=True)
        if self._settings.fsync == "batch":
            _fsync_dir(self.path.parent)
        self._open_handle()

    def _open_handle(self) -> None:
        if self._handle is not None:
            return
        self._handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._handle).st_size
        if self._size == 0 and self._header:
            _write_all(self._handle, self._header)
            self._size = len(self._header)
            self._day = self._today()

    def _repaired(self) -> bytes:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(end)
            data = data[:end]
        return data

    def _rotated_name(self, stamp: str) -> Path:
        return self.path.with_name(f"{self.path.stem}.{stamp}{self.path.suffix}")

    def _rotated(self) -> list[Path]:
        """Rotated files, oldest first (their stamps sort as times do)."""
        return sorted(self.path.parent.glob(f"{self.path.stem}.*{self.path.suffix}"))

    def _day_of(self, path: Path) -> dt.date:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def _fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
