"""RFC 2217 (Telnet COM port control) converters: ``rfc2217://host:port``.

Unlike raw TCP, the protocol carries line settings: ``set_line`` sends the new
rate, data size, parity and stop bits and waits for the converter to confirm each
(serialx's RFC 2217 client waits for the acknowledgement), so when it returns the
converter's UART runs at the new rate. Switch only after the message's wire time
has passed (the engine's ``SetLine.at``): the converter applies a change as soon as
it reads it, and would otherwise cut the tail of the message still in its UART.

User info in the URL (``rfc2217://user:pass@host:port``) is never passed on, shown
or logged: RFC 2217 itself has no login, and such URLs come from inventories that
also hold credentials for the converter's web page.
"""

from __future__ import annotations

from ._tcp import NetworkPort

__all__ = ["Rfc2217Port"]


class Rfc2217Port(NetworkPort):
    """A serial line behind an RFC 2217 server, settings and all."""
