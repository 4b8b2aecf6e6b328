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
import errno
import fcntl
import struct
import termios
from typing import Any, Final

from serialx import BaseSerialTransport
from serialx.common import PortSettingsUpdate
from serialx.platforms.serial_linux import LinuxSerial, LinuxSerialTransport

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

    async def _after_open(self, transport: BaseSerialTransport) -> None:
        self.rs485_active = False
        if self.options.rs485 is not None:
            self.rs485_active = set_rs485(transport.serial.fileno(), self.options.rs485)

    async def _drain(self, transport: BaseSerialTransport, end: float) -> float | None:
        timeout = max(0.0, end - self.clock.now()) + _DRAIN_SLACK
        await asyncio.wait_for(transport.flush(), timeout)
        return self.clock.now()

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"transport_cls": _TolerantTransport}

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
    _serial_cls = _TolerantSerial
