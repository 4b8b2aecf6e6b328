"""Serve a simulated bus like a TCP-to-serial converter in raw TCP mode.

A client connects to ``socket://host:port`` as it would to a Moxa NPort or a USR
converter set to "TCP server, raw": the bytes it sends go out on the serial line,
the bytes the meters send come back, and nothing else travels on the connection.

Line settings
-------------
Raw TCP carries no baud rate or framing (that needs RFC 2217, which this server
does not speak). The server behaves as a *transparent* converter: its serial side
is always at the rate and framing the meter expects, so a meter hears the client at
300 Bd while idle and at the agreed rate after an option select, and the client
receives every meter's bytes as they were sent. The client's own bytes take the wire
time of that rate, so reaction times, the option-select window and collisions work
as on a serial line. What cannot be tested this way is a client at the wrong rate:
use the pty for that. The server switches its bus to this mode
(``VirtualBus.transparent``).

Connections
-----------
One client at a time, as converters are usually set up for a meter bus: while one
is connected, a second connection is accepted and closed at once (refused), and
bytes meters send while nobody is connected are dropped, as a converter that does
not buffer drops them. The server binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

from ._bus import VirtualBus
from ._inprocess import Clock, ScaledClock

__all__ = ["TcpServer"]

# Longest real-time sleep between looks at the bus while a client is connected.
_TICK: Final = 0.01
_READ_SIZE: Final = 4096


class TcpServer:
    """A converter-like TCP endpoint for ``bus``; ``await start()``, then ``url``."""

    def __init__(
        self,
        bus: VirtualBus,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_connection: Callable[[str, bool], None] | None = None,
    ) -> None:
        bus.transparent = True
        self.bus = bus
        self.clock: Clock = clock or ScaledClock()
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._busy = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._on_connection = on_connection
        """Told each client's peer name, and whether it was taken (False: refused)."""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real one when asked for port 0)."""
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"socket://{host}:{port}"

    async def close(self) -> None:
        """Stop listening and hang up on the client, if one is connected."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Closing the connection ends its handler as a client hang-up would: a
        # handler cancelled by the loop's shutdown instead makes asyncio log a
        # traceback for the stream it served.
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername"))
        if self._busy:
            self._tell(peer, taken=False)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        self._busy = True
        self._tell(peer, taken=True)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self._writers.add(writer)
        wake = asyncio.Event()
        self.bus.client_read(self.clock.now())  # what came while nobody listened is gone
        pump = asyncio.create_task(self._pump(writer, wake))
        try:
            while data := await reader.read(_READ_SIZE):
                self.bus.client_write(data, self.clock.now())
                wake.set()
        except OSError:
            pass  # reset by the client: the same as a close
        finally:
            try:
                pump.cancel()
                # A pump that met the client's reset first ended with that error.
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await pump
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            finally:
                # Whatever the hang-up looked like, the line is free for the next
                # client: a converter left busy refuses every poller after this one.
                self._writers.discard(writer)
                self._handlers.discard(handler)
                self._busy = False

    async def _pump(self, writer: asyncio.StreamWriter, wake: asyncio.Event) -> None:
        """Send the client the meters' bytes as the bus says they arrive."""
        scale = getattr(self.clock, "time_scale", 1.0)
        while True:
            data = self.bus.client_read(self.clock.now())
            if data:
                try:
                    writer.write(data)
                    await writer.drain()
                except OSError:
                    # The client is gone: hang up, which ends the handler's read too.
                    writer.transport.abort()
                    return
            upcoming = self.bus.next_event()
            now = self.clock.now()
            delay = _TICK if upcoming is None else min(_TICK, max(0.0, (upcoming - now) * scale))
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()

    def _tell(self, peer: str, *, taken: bool) -> None:
        if self._on_connection is not None:
            self._on_connection(peer, taken)
