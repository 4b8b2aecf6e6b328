"""The TCP converter: its transparent line on simulated time, then one real socket."""

from __future__ import annotations

import asyncio
import socket
import struct

from poller.protocol import DataMessage, OptionSelect, Request, decode_frames
from poller.simulator import ScaledClock, SimulatedMeter, TcpServer, VirtualBus, get_profile

from .helpers import EPOCH, ScriptedClient, chars

ZMD = get_profile("lg-zmd")
MT174 = get_profile("iskra-mt174")


def converter(*names: str) -> ScriptedClient:
    meters = [SimulatedMeter(get_profile(n), epoch=EPOCH) for n in names]
    return ScriptedClient(VirtualBus(meters, transparent=True))


def test_the_meter_hears_the_client_at_its_own_rate_after_the_switch() -> None:
    client = converter("lg-zmd")
    client.send(Request(address=ZMD.address).to_bytes())
    assert client.expect().frame.message == ZMD.identification
    sent = client.send(OptionSelect.programming("5").to_bytes())
    # The client never touches its rate: the converter's serial side follows the meter.
    p0 = client.expect()
    assert p0.time > sent  # a reply, not an echo
    client.send(b"\x01B0\x03q")
    assert client.silence(1.0) == b""
    assert client.meters[0].state.value == "idle"


def test_client_bytes_take_the_wire_time_of_the_meters_rate() -> None:
    client = converter("lg-zmd")
    start = client.now
    end = client.send(Request(address=ZMD.address).to_bytes())
    assert end - start == chars(13, 300)  # all idle: 300 Bd
    ident = client.expect()
    assert ident.time == end + ZMD.reaction_time + chars(19, 300)


def test_readout_through_the_converter_reads_whole() -> None:
    client = converter("lg-zmd", "iskra-mt174")
    client.send(Request(address=MT174.address).to_bytes())
    client.expect()
    client.send(OptionSelect.readout("5").to_bytes())
    readout = client.expect()
    assert isinstance(readout.frame.message, DataMessage)
    assert readout.frame.check.value == "ok"
    assert "1-0:1.8.0*255(" in readout.frame.message.data


def test_a_non_transparent_bus_still_needs_the_client_to_switch() -> None:
    client = ScriptedClient.on(ZMD)
    client.send(Request(address=ZMD.address).to_bytes())
    client.expect()
    client.send(OptionSelect.readout("5").to_bytes())
    garbage = client.silence(2.0)
    assert garbage
    assert b"\x02" not in garbage


async def _over_tcp() -> tuple[bytes, bytes, list[tuple[str, bool]]]:
    seen: list[tuple[str, bool]] = []
    bus = VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)])
    server = TcpServer(bus, ScaledClock(0.05), on_connection=lambda p, t: seen.append((p, t)))
    await server.start()
    assert server.url.startswith("socket://127.0.0.1:")
    host, port = server.address
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(Request(address=ZMD.address).to_bytes())
    raw = await asyncio.wait_for(reader.readuntil(b"\n"), 2.0)
    # A second client while the first is connected: accepted and closed at once.
    other_reader, other_writer = await asyncio.open_connection(host, port)
    refused = await asyncio.wait_for(other_reader.read(10), 2.0)
    other_writer.close()
    writer.write(OptionSelect.readout("5").to_bytes())
    raw += await asyncio.wait_for(reader.readuntil(b"\x03"), 2.0)
    raw += await asyncio.wait_for(reader.readexactly(1), 2.0)
    writer.close()
    await writer.wait_closed()
    await server.close()
    return raw, refused, seen


async def test_a_socket_client_reads_a_meter_and_a_second_one_is_refused() -> None:
    raw, refused, seen = await _over_tcp()
    frames = decode_frames(raw)
    assert frames[0].message == ZMD.identification
    assert isinstance(frames[1].message, DataMessage)
    assert frames[1].check.value == "ok"
    assert refused == b""
    assert [taken for _, taken in seen] == [True, False]


async def _close_with_a_client() -> bytes:
    server = TcpServer(VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)]), ScaledClock(0.05))
    await server.start()
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(b"/?")
    await asyncio.sleep(0.05)
    await server.close()
    left = await asyncio.wait_for(reader.read(), 2.0)
    writer.close()
    return left


async def test_closing_the_server_hangs_up_on_the_client() -> None:
    assert await _close_with_a_client() == b""


async def _reset_mid_readout() -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []
    bus = VirtualBus([SimulatedMeter(ZMD, epoch=EPOCH)])
    server = TcpServer(bus, ScaledClock(0.05), on_connection=lambda p, t: seen.append((p, t)))
    await server.start()
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(Request(address=ZMD.address).to_bytes())
    await asyncio.wait_for(reader.readuntil(b"\n"), 2.0)
    writer.write(OptionSelect.readout("5").to_bytes())
    await asyncio.wait_for(reader.readuntil(b"\x02"), 2.0)
    # The client dies while the meter is still sending (a SIGKILLed poller whose
    # socket the kernel resets): the converter must take the next client.
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    await asyncio.sleep(0.2)
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(Request(address=ZMD.address).to_bytes())
    await asyncio.wait_for(reader.readuntil(b"\n"), 2.0)
    writer.close()
    await writer.wait_closed()
    await server.close()
    return seen


async def test_a_client_reset_while_the_meter_sends_leaves_the_line_free() -> None:
    seen = await _reset_mid_readout()
    assert [taken for _, taken in seen] == [True, True]
