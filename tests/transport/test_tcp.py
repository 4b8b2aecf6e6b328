"""``socket://`` against a scripted asyncio server on 127.0.0.1 (an ephemeral port)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from poller.protocol import LineFraming, wire_time
from poller.transport import (
    PortClosedError,
    PortUnavailableError,
    TcpPort,
    open_port,
    open_with_backoff,
)
from poller.util import Backoff


class Converter:
    """Echoes what it gets, hangs up on ``bye``, like a converter that reboots."""

    def __init__(self) -> None:
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while data := await reader.read(100):
                if data == b"bye":
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def converter() -> AsyncIterator[tuple[Converter, int]]:
    conv = Converter()
    server = await asyncio.start_server(conv.handle, "127.0.0.1", 0)
    try:
        yield conv, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_bytes_both_ways_and_set_line_only_changes_the_arithmetic() -> None:
    async with converter() as (_, port_number):
        port = await open_port(f"socket://127.0.0.1:{port_number}")
        try:
            assert isinstance(port.inner, TcpPort)
            t0 = port.clock.now()
            end = await port.write(b"hello")
            assert end - t0 == pytest.approx(wire_time(5, 300), abs=0.01)
            assert await port.read(port.clock.now() + 1.0) == b"hello"
            await port.clock.sleep_until(end)  # as the engine waits for SetLine.at
            await port.set_line(9600, LineFraming.BITS_7E1)
            assert port.baud == 9600
            t0 = port.clock.now()
            end = await port.write(b"again")
            assert end - t0 == pytest.approx(wire_time(5, 9600), abs=0.01)
            assert await port.read(port.clock.now() + 1.0) == b"again"
            assert await port.read(port.clock.now() + 0.05) == b""
        finally:
            await port.close()


async def test_server_hang_up_raises_port_closed_and_backoff_reconnects() -> None:
    async with converter() as (conv, port_number):
        url = f"socket://127.0.0.1:{port_number}"
        port = await open_port(url)
        await port.write(b"bye")
        with pytest.raises(PortClosedError, match="closed by the other end"):
            await port.read(port.clock.now() + 1.0)
        assert not port.is_open
        await port.close()
        failures: list[int] = []
        back = await open_with_backoff(
            lambda: TcpPort(url),
            clock=port.clock,
            backoff=Backoff(initial=0.01, jitter=0.0),
            on_failure=lambda exc, n, wait: failures.append(n),
        )
        try:
            assert failures == []
            assert conv.connections == 2
            await back.write(b"ping")
            assert await back.read(back.clock.now() + 1.0) == b"ping"
        finally:
            await back.close()


async def test_refused_connection_is_unavailable_and_credentials_never_show() -> None:
    url = f"socket://meter-admin:s3cr3t-pw@127.0.0.1:{free_port()}"
    port = TcpPort(url)
    assert "s3cr3t" not in port.url
    assert "s3cr3t" not in repr(port)
    assert port.url.startswith("socket://***@127.0.0.1:")
    with pytest.raises(PortUnavailableError) as caught:
        await port.open()
    assert "s3cr3t" not in str(caught.value)
    assert "ECONNREFUSED" in caught.value.reason


def test_malformed_network_url_is_unavailable() -> None:
    with pytest.raises(PortUnavailableError, match="host:port"):
        TcpPort("socket://user:pw@127.0.0.1")
