"""What survives: a killed process, and what is reported: a corrupt file, a full disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from poller.spool import (
    FILENAME,
    Retention,
    Spool,
    SpoolCorruptError,
    SpoolError,
    SpoolFullError,
)

from ..sinks.helpers import batch

ROOT = Path(__file__).resolve().parents[2]

# Puts batches and kills itself with SIGKILL the moment the last put has returned:
# no close, no checkpoint, no flush of anything but what put itself made durable.
WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from poller.spool import Spool
    from tests.sinks.helpers import batch

    async def main(state, count):
        spool = Spool(Path(state))
        await spool.open()
        for i in range(count):
            await spool.put(batch(i, size=30))
            print("put", i, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


async def test_a_process_killed_right_after_put_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path), "25"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    returned = [line for line in done.stdout.splitlines() if line.startswith("put ")]
    assert returned == [f"put {i}" for i in range(25)]
    assert (tmp_path / f"{FILENAME}-wal").exists()  # never checkpointed: the WAL holds it

    async def reopen():
        async with Spool(tmp_path) as spool:
            return [e.batch for e in await spool.fetch("any", limit=100)]

    assert await reopen() == [batch(i, size=30) for i in range(25)]


async def test_a_corrupt_spool_file_is_reported_at_start(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_bytes(b"this is not a database, it is garbage\n" * 200)

    with pytest.raises(SpoolCorruptError) as caught:
        await Spool(tmp_path).open()
    text = str(caught.value)
    assert str(tmp_path / FILENAME) in text
    assert "corrupt" in text
    assert "move the file aside" in text
    assert ".recover" in text


async def test_a_spool_damaged_inside_is_reported_at_start(tmp_path: Path) -> None:
    async def fill():
        async with Spool(tmp_path) as spool:
            for i in range(300):
                await spool.put(batch(i, size=30))

    await fill()
    path = tmp_path / FILENAME
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 3 * page):  # scribble over b-tree pages
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    with pytest.raises(SpoolCorruptError, match="corrupt"):
        await Spool(tmp_path).open()


async def test_a_full_disk_is_reported_at_start(tmp_path: Path) -> None:
    # SQLite answers a file at its page cap exactly as it answers a full disk (SQLITE_FULL).
    tiny = Retention(max_bytes=1024, max_file_bytes=4096)

    with pytest.raises(SpoolFullError) as caught:
        await Spool(tmp_path, retention=tiny).open()
    text = str(caught.value)
    assert str(tmp_path / FILENAME) in text
    assert "no space left" in text
    assert "free space" in text


async def test_a_full_disk_while_running_fails_the_put_clearly(tmp_path: Path) -> None:
    async def main():
        retention = Retention(max_bytes=10**9, max_file_bytes=64 * 1024)
        async with Spool(tmp_path, retention=retention) as spool:
            failure: SpoolFullError | None = None
            stored = 0
            while failure is None and stored < 1000:
                try:
                    await spool.put(batch(stored, size=30))
                    stored += 1
                except SpoolFullError as exc:
                    failure = exc
            kept = [e.batch for e in await spool.fetch("any", limit=1000)]
            return stored, kept, str(failure)

    stored, kept, failure = await main()
    assert "no space left while storing a batch" in failure
    assert 0 < stored < 1000
    assert kept == [batch(i, size=30) for i in range(stored)]


async def test_an_unwritable_state_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    with pytest.raises(SpoolError, match="cannot create its directory"):
        await Spool(blocker / "state").open()
