"""``rfc2217://`` to an in-process RFC 2217 server in front of the simulator's pty."""

from __future__ import annotations

import termios

from poller.transport import PortOptions, Rfc2217Port, open_port

from .helpers import mode_c_readout, served_meter
from .rfc2217_server import Rfc2217Server


async def test_mode_c_readout_with_the_baud_switch_carried_to_the_converter() -> None:
    async with served_meter() as meter:
        server = Rfc2217Server(meter.path)
        url = f"rfc2217://installer:t0p-s3cret@127.0.0.1:{server.port}"
        port = await open_port(url, options=PortOptions(inter_byte_read=0.02))
        try:
            assert isinstance(port.inner, Rfc2217Port)
            assert "t0p-s3cret" not in port.url + repr(port)
            result = await mode_c_readout(port)
            # The server set the pty to 9600 Bd, where the simulator saw it.
            assert termios.tcgetattr(meter._master)[5] == termios.B9600
            assert meter.bus.client_line.baud == 9600
            # Acknowledged by the server before set_line returned: a round trip.
            assert result.switch_seconds < 0.15
        finally:
            await port.close()
            server.close()
