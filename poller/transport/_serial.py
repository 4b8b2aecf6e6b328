"""Local serial devices: USB RS-485 adapters, optical heads, ptys.

A device path is opened as given (``/dev/ttyUSB0``, ``/dev/serial/by-id/usb-...``;
the by-id link is the name to configure, since ttyUSB numbers move between boots).
``exclusive`` takes serialx's ``flock``, which every name of the same device shares.

Three things differ from a network port:

* ``write`` waits for ``tcdrain`` too, and still never returns earlier than the
  message's wire time: USB adapters report drained with bytes in their FIFO, and a
  pty drains at once (PROTOCOL.md 7, 13).
* RS-485 mode is the kernel driver's (``TIOCSRS485``). Where the driver has none
  (ptys, most USB adapters, which switch direction in hardware) the ioctl fails and
  ``rs485_active`` stays False; that is no error.
* serialx applies a line change with one ``tcsetattr`` and then ``tcflush``es both
  directions. The flush is harmless at the moments we switch (after our message's
  wire time, before the meter's reaction time ends).
* This glibc fails a ``tcsetattr`` that the kernel keeps nothing of with EINVAL
  (PROTOCOL.md 13): on a pty, opening a port already at 300 Bd (every reopen), or
  7E1 <-> 8N1 at one rate, which a pty cannot tell apart. ``_TolerantSerial``
  accepts exactly that case: EINVAL while the line already reads back at the rate
  asked for. Real UARTs never take this path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import struct
import termios
from typing import Any, Final

from serialx import BaseSerialTransport
from serialx.common import PortSettingsUpdate
from serialx.platforms.serial_linux import LinuxSerial, LinuxSerialTransport
from serialx.platforms.serial_posix import PosixSerial

from ._options import RS485Options
from ._stream import StreamPort

__all__ = ["SerialPort", "set_rs485"]

# <linux/serial.h>, <asm-generic/ioctls.h>: not exported by Python's termios.
_TIOCSRS485: Final = 0x542F
_SER_RS485_ENABLED: Final = 1 << 0
_SER_RS485_RTS_ON_SEND: Final = 1 << 1
_SER_RS485_RTS_AFTER_SEND: Final = 1 << 2
_SER_RS485_RX_DURING_TX: Final = 1 << 4
# struct serial_rs485: flags, delay before, delay after, then 5 words of padding.
_RS485_STRUCT: Final = struct.Struct("=8I")
_INT: Final = struct.Struct("=i")
# Errors of a driver without RS-485 support (ENOTTY on a pty, EINVAL on most UARTs).
_UNSUPPORTED: Final = frozenset({errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS})
# How long past its wire time a write may take to drain before the adapter is
# taken to be wedged: USB latency timers and a kernel tick or two.
_DRAIN_SLACK: Final = 2.0


def set_rs485(fd: int, options: RS485Options) -> bool:
    """Put the driver of ``fd`` in RS-485 mode; False where it has no such mode."""
    flags = _SER_RS485_ENABLED
    if options.rts_on_send:
        flags |= _SER_RS485_RTS_ON_SEND
    if options.rts_after_send:
        flags |= _SER_RS485_RTS_AFTER_SEND
    if options.rx_during_tx:
        flags |= _SER_RS485_RX_DURING_TX
    packed = _RS485_STRUCT.pack(
        flags, options.delay_before_send_ms, options.delay_after_send_ms, 0, 0, 0, 0, 0
    )
    try:
        fcntl.ioctl(fd, _TIOCSRS485, bytearray(packed))
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


class SerialPort(StreamPort):
    """A local serial device or pty."""

    rs485_active = False
    """Whether the kernel driver took RS-485 mode at the last open."""
    open_in_worker = True
    """Open and configure the device in a worker thread, so that a slow driver never
    holds up the event loop; False does it on the loop's thread, which saves the
    worker's start for a program with one port and nothing else on its loop."""

    async def _after_open(self, transport: BaseSerialTransport) -> None:
        self.rs485_active = False
        if self.options.rs485 is not None:
            self.rs485_active = set_rs485(transport.serial.fileno(), self.options.rs485)

    async def _drain(self, transport: BaseSerialTransport, end: float) -> float | None:
        timeout = max(0.0, end - self.clock.now()) + _DRAIN_SLACK
        await asyncio.wait_for(transport.flush(), timeout)
        return self.clock.now()

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "transport_cls": _TolerantTransport if self.open_in_worker else _DirectOpenTransport
        }

    def _flush_os_input(self, transport: BaseSerialTransport) -> None:
        transport.serial.reset_read_buffer()


def _rate_is(fd: int, baud: int) -> bool:
    """Whether the line already runs at ``baud``."""
    speed = getattr(termios, f"B{baud}", None)
    try:
        attrs = termios.tcgetattr(fd)
    except termios.error:
        return False
    return speed is not None and attrs[4] == attrs[5] == speed


class _TolerantSerial(LinuxSerial):
    """serialx's Linux port, taking glibc's EINVAL for "nothing to change" as success."""

    def _reconfigure_port(self, update: PortSettingsUpdate) -> None:
        try:
            super()._reconfigure_port(update)
        except OSError as exc:
            # Nothing was applied, so nothing after the tcsetattr (low latency, modem
            # pins, the flush) is missing either: the line is as it was, as asked.
            if exc.errno != errno.EINVAL or not _rate_is(self.fileno(), self.baudrate):
                raise


class _TolerantTransport(LinuxSerialTransport):
    """serialx's Linux transport, opening the line without its settling sleep.

    serialx opens, locks and configures in three thread-pool jobs with a 10 ms sleep
    before the configuration's flush, because some USB drivers hand over what the
    adapter held a few milliseconds after ``open`` and a flush made at once misses
    it. The same steps are done here in one job and without the sleep, which cost
    10 ms before every first byte: ``StreamPort`` flushes again right before our
    first message, when all that came before it is known to be stale, and the
    session's decoder skips junk up to a ``/`` (see ``_stream.py``).

    The job runs in the thread pool: opening a USB adapter and setting its line are
    control transfers that take milliseconds, and seconds on a sick device, while
    the daemon's other buses share this event loop. ``_DirectOpenTransport`` opens on
    the loop's own thread, for a program with one port and nothing else to run.
    """

    _serial_cls = _TolerantSerial
    _open_in_worker = True

    async def _connect(  # type: ignore[override]
        self, *, path: str | os.PathLike[str], **kwargs: Any
    ) -> None:
        target = os.fspath(path)
        serial = self._serial_cls(
            **kwargs, path=target, fileno=None, min_read_size=0, inter_byte_timeout=0
        )
        if self._open_in_worker:
            job = self._loop.run_in_executor(None, _open_line, serial, target)
            try:
                # Shielded: a cancelled open must still get its fd back, to close it.
                self._fileno = await asyncio.shield(job)
            except asyncio.CancelledError:
                job.add_done_callback(_close_abandoned)
                raise
        else:
            self._fileno = _open_line(serial, target)
        self._serial = serial
        self._extra["serial"] = serial
        if self.is_closing():
            # Closed while opening: the close already under way releases the fd.
            self._maybe_background_close(None)
            return
        self._loop.add_reader(self._fileno, self._read_ready)
        self._call_protocol_connection_made()


class _DirectOpenTransport(_TolerantTransport):
    """Opens, and closes when nothing is left to send, on the loop's own thread."""

    _open_in_worker = False

    async def _call_connection_lost(self, exc: Exception | None) -> None:
        fileno = self._fileno
        if fileno is None or _output_pending(fileno):
            # close() would wait in the driver until the output has gone; serialx does
            # that in a worker, so a wedged adapter cannot stop the loop.
            await super()._call_connection_lost(exc)
            return
        self._fileno = None
        try:
            self._loop.remove_reader(fileno)
            with contextlib.suppress(OSError):
                os.close(fileno)
        finally:
            self._call_protocol_connection_lost(exc)


def _output_pending(fd: int) -> bool:
    """Whether the driver still holds bytes to send (True where it cannot say)."""
    try:
        raw = fcntl.ioctl(fd, termios.TIOCOUTQ, bytes(_INT.size))
    except OSError:
        return True
    return bool(_INT.unpack(raw)[0])


def _close_abandoned(job: asyncio.Future[int]) -> None:
    if not job.cancelled() and job.exception() is None:
        os.close(job.result())


def _open_line(serial: PosixSerial, path: str) -> int:
    """Open ``path`` non-blocking, lock it if asked, apply ``serial``'s settings; the fd."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    serial._fileno = fd
    try:
        if serial.exclusive:
            serial._lock()
        # tcsetattr, low latency, DTR/RTS, then tcflush of both directions.
        serial._reconfigure_port(serial._all_settings())
    except BaseException:
        serial._fileno = None
        os.close(fd)
        raise
    return fd
