"""Ports over a serialx asyncio transport: devices, TCP and RFC 2217 converters.

Theory of operation
-------------------
serialx opens the line and pushes what it receives into ``_Receiver``; we keep our
own receive buffer so that ``read(deadline)`` can wait on the port's clock and
``reset_input`` can drop what we hold as well as what the OS holds. Echo suppression
and gathering are not this layer's: ``GatheringPort`` (``_gathering.py``) does them
for every port alike.

Wire time is ours, not the driver's: ``write`` returns
``max(driver drain, start + characters * 10 / baud)``, where ``start`` is the later
of now and the end of the previous write (a UART sends one message after the
other). USB adapters report "drained" while their FIFO still holds bytes, and on a
pty or a socket "drained" means nothing about the wire at all (PROTOCOL.md 7, 13).

``set_line`` is a no-op when nothing changes: this glibc fails a reconfiguration
that the kernel keeps nothing of with EINVAL (pyserial issue 196, PROTOCOL.md 13),
and a converter has no use for a request that changes nothing either.

Input from before our first message after an open is dropped, just before that
message goes out: the OS's and ours. serialx flushes while it opens the line, but
some USB drivers hand over what the adapter held a few milliseconds after ``open``,
past that flush; serialx sleeps 10 ms before flushing for this, we do not (see
``_serial.py``). Nothing that arrived before our first message can answer it, so
this flush costs nothing and takes what came by then. A driver's stale bytes that
come even later meet a session waiting for an identification, whose decoder
discards everything before a ``/`` and takes only a whole, well-formed message.

A line that goes away in use (EIO from an unplugged adapter, a peer that closes or
resets the TCP connection) is remembered: bytes already received are still read,
then every call raises ``PortClosedError`` until the port is closed and reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import termios
from typing import Any, Final

from serialx import BaseSerialTransport, Parity, SerialException, StopBits, create_serial_connection

from poller.protocol import INITIAL_BAUD, LineFraming, wire_time
from poller.util import redact_url, scrub, secrets_of

from ._clock import MonotonicClock
from ._options import PortOptions
from ._port import Clock, PortClosedError, PortUnavailableError

__all__ = ["LINE_ERRORS", "StreamPort", "describe_error"]

# What we keep of input nobody reads; a meter's longest message is far shorter.
_MAX_BUFFER: Final = 1 << 16
_CLOSE_TIMEOUT: Final = 2.0

_PARITY: Final = {"E": Parity.EVEN, "N": Parity.NONE}
_STOP_BITS: Final = {1: StopBits.ONE, 2: StopBits.TWO}

# The errors a library or the OS raises for a line that is absent, busy or gone.
LINE_ERRORS: Final = (OSError, termios.error, SerialException, EOFError, ValueError)


def describe_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """A one-line reason for logs, from the error's data and never the raw URL."""
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        text = f"{name}: {exc.strerror or exc}"
    elif isinstance(exc, termios.error) and exc.args and isinstance(exc.args[0], int):
        name = errno.errorcode.get(exc.args[0], str(exc.args[0]))
        text = f"{name}: {exc.args[-1]}"
    elif isinstance(exc, TimeoutError):
        text = "timed out"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return scrub(text, secrets)


class _Receiver(asyncio.Protocol):
    """serialx's callbacks, handed to the port that owns this connection."""

    def __init__(self, port: StreamPort) -> None:
        self._port = port

    def data_received(self, data: bytes) -> None:
        self._port._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._port._lost(self, exc)


class StreamPort:
    """A ``Port`` on a serialx transport; subclasses say how to drain and set the line.

    ``target`` is what serialx opens (a path or a URL without credentials); ``url``
    is what the user wrote, shown only redacted.
    """

    def __init__(
        self,
        target: str,
        *,
        url: str | None = None,
        options: PortOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        given = target if url is None else url
        self._target = target
        self._url = redact_url(given)
        self._secrets = secrets_of(given)
        self.options = options or PortOptions()
        self._clock: Clock = clock or MonotonicClock()
        self._transport: BaseSerialTransport | None = None
        self._receiver: _Receiver | None = None
        self._rx = bytearray()
        self._arrived = asyncio.Event()
        self._gone: str | None = None
        self._baud = INITIAL_BAUD
        self._framing = LineFraming.BITS_7E1
        self._busy_until = 0.0
        self._fresh = False
        self.overflows = 0
        """Bytes dropped because nobody read them (the oldest go first)."""

    # -- what the engine sees ---------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def is_open(self) -> bool:
        return self._transport is not None and self._gone is None

    @property
    def baud(self) -> int:
        return self._baud

    @property
    def framing(self) -> LineFraming:
        return self._framing

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r}, open={self.is_open})"

    async def open(self) -> None:
        if self._transport is not None:
            if self._gone is None:
                return
            await self.close()
        self._rx.clear()
        self._gone = None
        self._baud, self._framing = INITIAL_BAUD, LineFraming.BITS_7E1
        self._busy_until = self._clock.now()
        self._fresh = True
        receiver = _Receiver(self)
        self._receiver = receiver
        try:
            transport, _ = await create_serial_connection(
                asyncio.get_running_loop(),
                lambda: receiver,
                self._target,
                baudrate=INITIAL_BAUD,
                parity=Parity.EVEN,
                stopbits=StopBits.ONE,
                exclusive=self.options.exclusive,
                byte_size=7,
                **self._connect_kwargs(),
            )
        except (*LINE_ERRORS, TimeoutError) as exc:
            self._receiver = None
            raise PortUnavailableError(self._url, self._reason(exc)) from exc
        self._transport = transport
        try:
            await self._after_open(transport)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        self._receiver = None
        if transport is None:
            return
        transport.close()
        # A transport that lost its line may never confirm; do not hang a shutdown.
        with contextlib.suppress(*LINE_ERRORS, TimeoutError):
            await asyncio.wait_for(transport.wait_closed(), _CLOSE_TIMEOUT)

    async def write(self, data: bytes) -> float:
        transport = self._live()
        if self._fresh:
            self._fresh = False
            try:
                self._discard_input(transport)
            except LINE_ERRORS as exc:
                raise self._closed(exc) from exc
        start = max(self._clock.now(), self._busy_until)
        end = start + wire_time(len(data), self._baud)
        self._busy_until = end
        try:
            transport.write(data)
            drained = await self._drain(transport, end)
        except (*LINE_ERRORS, TimeoutError) as exc:
            raise self._closed(exc) from exc
        return end if drained is None else max(drained, end)

    async def read(self, deadline: float) -> bytes:
        while True:
            if self._rx:
                data = bytes(self._rx)
                self._rx.clear()
                return data
            self._live()
            timeout = deadline - self._clock.now()
            if timeout <= 0:
                return b""
            self._arrived.clear()
            # A timeout scope, not wait_for: that wraps the wait in a task of its own,
            # which costs two more turns of the loop before the bytes reach the session.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()

    async def set_line(self, baud: int, framing: LineFraming) -> None:
        transport = self._live()
        if (baud, framing) == (self._baud, self._framing):
            return
        try:
            await self._apply_line(transport, baud, framing)
        except (*LINE_ERRORS, TimeoutError) as exc:
            raise self._closed(exc) from exc
        self._baud, self._framing = baud, framing

    async def reset_input(self) -> None:
        transport = self._live()
        # Let callbacks for bytes already read from the OS run first, then drop all.
        await asyncio.sleep(0)
        try:
            self._discard_input(transport)
        except LINE_ERRORS as exc:
            raise self._closed(exc) from exc

    # -- what subclasses change -------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {}

    async def _after_open(self, transport: BaseSerialTransport) -> None:
        """Settings beyond the line's (RS-485); the port is open when this runs."""

    async def _drain(self, transport: BaseSerialTransport, end: float) -> float | None:
        """Wait for the driver to report the bytes sent, and say when; None if it can't."""
        return None

    async def _apply_line(
        self, transport: BaseSerialTransport, baud: int, framing: LineFraming
    ) -> None:
        await transport.reconfigure_port(
            baudrate=baud,
            parity=_PARITY[framing.parity],
            stopbits=_STOP_BITS[framing.stop_bits],
            byte_size=framing.data_bits,
        )

    def _flush_os_input(self, transport: BaseSerialTransport) -> None:
        """Drop what the OS holds; a socket has no such buffer we could reach."""

    # -- internals --------------------------------------------------------------------

    def _discard_input(self, transport: BaseSerialTransport) -> None:
        self._flush_os_input(transport)
        self._rx.clear()

    def _reason(self, exc: BaseException) -> str:
        return describe_error(exc, self._secrets)

    def _closed(self, exc: BaseException) -> PortClosedError:
        reason = self._reason(exc)
        self._gone = self._gone or reason
        return PortClosedError(self._url, reason)

    def _live(self) -> BaseSerialTransport:
        if self._transport is None:
            raise PortClosedError(self._url, "port is not open")
        if self._gone is not None:
            raise PortClosedError(self._url, self._gone)
        return self._transport

    def _received(self, data: bytes) -> None:
        if not data:
            return
        self._rx += data
        if len(self._rx) > _MAX_BUFFER:
            excess = len(self._rx) - _MAX_BUFFER
            del self._rx[:excess]
            self.overflows += excess
        self._arrived.set()

    def _lost(self, receiver: _Receiver, exc: Exception | None) -> None:
        if receiver is not self._receiver:
            return  # a connection we closed ourselves, or an earlier one
        self._gone = self._reason(exc) if exc is not None else "closed by the other end"
        self._arrived.set()
