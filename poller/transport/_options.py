"""Per-port options: what the line needs that the protocol does not say."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PortOptions", "RS485Options"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RS485Options:
    """Kernel RS-485 mode (``TIOCSRS485``): the driver turns the transmitter on and off.

    The defaults suit the usual half-duplex adapter whose driver-enable follows RTS.
    Delays are in milliseconds, as the kernel takes them.
    """

    rts_on_send: bool = True
    rts_after_send: bool = False
    delay_before_send_ms: int = 0
    delay_after_send_ms: int = 0
    rx_during_tx: bool = False

    def __post_init__(self) -> None:
        if self.delay_before_send_ms < 0 or self.delay_after_send_ms < 0:
            raise ValueError("RS-485 delays cannot be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class PortOptions:
    """How to treat one port; the defaults fit a USB RS-485 adapter that does not echo.

    ``echo`` and ``inter_byte_read`` are applied by the ``GatheringPort`` around the
    raw port, alike for every scheme; the raw ports take the rest.
    ``echo``: the line returns what we send (optical heads, two-wire adapters that
    hear themselves, PROTOCOL.md 9); our bytes are dropped from what is read.
    ``rs485``: switch the kernel driver to RS-485 mode where it has one; ports that
    cannot (ptys, TCP) ignore it and report ``rs485_active`` False.
    ``exclusive``: lock the device so a second poller (or a terminal program) cannot
    talk on the same bus in the middle of our conversation.
    ``inter_byte_read``: once a read has bytes, keep collecting while more follow
    within this many seconds, so a message arrives in few chunks rather than one per
    USB packet; never past the read's deadline. 0 returns what is there at once.
    """

    echo: bool = False
    rs485: RS485Options | None = None
    exclusive: bool = True
    inter_byte_read: float = 0.0

    def __post_init__(self) -> None:
        if self.inter_byte_read < 0:
            raise ValueError("inter_byte_read cannot be negative")
