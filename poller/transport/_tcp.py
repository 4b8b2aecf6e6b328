"""Raw TCP to a serial converter: ``socket://host:port``.

A raw TCP converter (ser2net in raw mode, a Moxa in TCP-server mode, a Lantronix)
runs its UART at whatever rate it was configured with: nothing in the byte stream
can change it. So ``set_line`` only updates the rate we compute wire times with; the
converter's own rate does not follow. Meters reached this way must be read at the
converter's fixed rate (cap the meter's baud rate, or use mode A); a converter that
must follow a mode C baud switch needs ``rfc2217://``.

``reset_input`` can drop only what has reached us: bytes still inside the converter
or in flight on the network arrive later. And "drained" means nothing about the
wire, so a write's end time is its wire-time arithmetic alone.
"""

from __future__ import annotations

from serialx import BaseSerialTransport

from poller.protocol import LineFraming
from poller.util import network_target, redact_url

from ._options import PortOptions
from ._port import Clock, PortUnavailableError
from ._stream import StreamPort

__all__ = ["NetworkPort", "TcpPort"]


class NetworkPort(StreamPort):
    """A port behind a network converter; its URL names the host and port."""

    def __init__(
        self, url: str, *, options: PortOptions | None = None, clock: Clock | None = None
    ) -> None:
        try:
            target = network_target(url)
        except ValueError as exc:
            raise PortUnavailableError(redact_url(url), str(exc)) from exc
        super().__init__(target, url=url, options=options, clock=clock)


class TcpPort(NetworkPort):
    """A raw TCP connection to a serial converter whose line settings are fixed."""

    async def _apply_line(
        self, transport: BaseSerialTransport, baud: int, framing: LineFraming
    ) -> None:
        """Nothing to send: the converter's rate is set in the converter."""
