"""What watches the daemon while the soak runs, each in a thread of its own.

* ``watch_spool``: the spool file read-only every 0.3 s; a batch it held once is
  acknowledged (it leaves only once every sink has it);
* ``sample_rss``: the daemon's ``VmRSS`` every second, with its pid (a restart is a
  new process);
* ``Subscriber``: an MQTT client of the soak's own (persistent session, QoS 1) that
  counts messages by key and reconnects whenever the broker comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .processes import DaemonProcess


@dataclass
class Acknowledged:
    """Readings seen in the spool: key -> (meter, address, slot)."""

    readings: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    failed_sessions: set[tuple[str, str | None]] = field(default_factory=set)
    snapshots: int = 0
    last_batches: int = -1


def watch_spool(path: Path, into: Acknowledged, stop: threading.Event) -> None:
    from poller.spool._codec import decode_batch

    seen: set[int] = set()
    while not stop.is_set():
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                rows = db.execute("SELECT seq, body FROM batches").fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            rows = None
        if rows is not None:
            into.snapshots += 1
            into.last_batches = len(rows)
            for seq, body in rows:
                if seq in seen:
                    continue
                seen.add(seq)
                batch = decode_batch(body)
                slot = batch.slot.isoformat() if batch.slot else None
                if batch.error is not None:
                    into.failed_sessions.add((batch.meter, slot))
                for r in batch.readings:
                    r_slot = r.slot.isoformat() if r.slot else None
                    into.readings[r.key] = (r.meter, r.address or "", r_slot)
        stop.wait(0.3)


def sample_rss(
    daemon: DaemonProcess, into: list[tuple[float, int, int]], stop: threading.Event
) -> None:
    while not stop.is_set():
        pid = daemon.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                into.extend(
                    (time.monotonic(), pid, int(line.split()[1]))
                    for line in status
                    if line.startswith("VmRSS:")
                )
        stop.wait(1.0)


class Subscriber:
    """Counts the MQTT messages by key; reconnects whenever the broker comes back."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.keys: dict[str, int] = defaultdict(int)
        self.messages = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _run(self) -> None:
        import aiomqtt

        while not self._stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier="soak-counter", clean_session=False
                ) as client:
                    await client.subscribe("soak/#", qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        self.messages += 1
                        with contextlib.suppress(ValueError, TypeError, AttributeError):
                            payload = message.payload
                            assert isinstance(payload, bytes | bytearray)
                            self.keys[json.loads(payload)["key"]] += 1
                        if self._stop.is_set():
                            return
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.2)
