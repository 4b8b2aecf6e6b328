"""Device ports over real ptys: the simulator's meter, and bare ptys the test drives."""

from __future__ import annotations

import asyncio
import os
import termios
from pathlib import Path

import pytest

from poller.protocol import LineFraming, wire_time
from poller.transport import (
    GatheringPort,
    PortClosedError,
    PortOptions,
    PortUnavailableError,
    RS485Options,
    SerialPort,
    open_port,
    open_with_backoff,
)
from poller.transport import _serial as serial_module
from poller.transport._serial import _output_pending
from poller.util import Backoff

from .helpers import BarePty, bare_pty, mode_c_readout, served_meter


async def test_mode_c_readout_with_baud_switch_that_the_simulator_accepts() -> None:
    async with served_meter() as server:
        port = await open_port(server.path)
        try:
            assert isinstance(port.inner, SerialPort)
            seen: list[int] = []

            async def check_300() -> None:
                seen.append(termios.tcgetattr(server._master)[5])

            result = await mode_c_readout(port, check_300)
            # The simulator reads the slave's termios: 300 Bd until the switch, then 9600.
            assert seen == [termios.B300]
            assert termios.tcgetattr(server._master)[5] == termios.B9600
            assert server.bus.client_line.baud == 9600
            # 13 characters of request at 300 Bd: the wire time, not the pty's drain.
            assert result.sign_on_end - result.sign_on_started == pytest.approx(
                wire_time(13, 300), abs=0.02
            )
            assert result.switch_seconds < 0.15  # well inside tr (200 ms), even on a busy CI
        finally:
            await port.close()


async def test_write_returns_the_wire_end_and_queues_behind_the_previous_write() -> None:
    async with bare_pty() as pty:
        port = SerialPort(pty.path)
        await port.open()
        try:
            t0 = port.clock.now()
            first = await port.write(b"x" * 30)
            # A pty drains at once; the write does not wait for the wire.
            assert port.clock.now() - t0 < 0.2
            assert first - t0 == pytest.approx(1.0, abs=0.05)
            second = await port.write(b"y" * 3)
            assert second == pytest.approx(first + wire_time(3, 300))
            await asyncio.sleep(0.01)
            assert pty.received() == b"x" * 30 + b"y" * 3
            # 7 data bits: bytes above 0x7F lose their top bit only on real UARTs;
            # the pty driver forces CS8, so they arrive whole here.
        finally:
            await port.close()


async def test_set_line_changes_only_what_changed_and_a_no_op_does_not_raise() -> None:
    async with bare_pty() as pty:
        port = SerialPort(pty.path)
        await port.open()
        try:
            assert termios.tcgetattr(pty.master)[5] == termios.B300
            await port.set_line(300, LineFraming.BITS_7E1)  # EINVAL if re-applied
            await port.set_line(300, LineFraming.BITS_8N1)  # the same to a pty
            await port.set_line(9600, LineFraming.BITS_8N1)
            await port.set_line(9600, LineFraming.BITS_8N1)
            assert termios.tcgetattr(pty.master)[5] == termios.B9600
            assert (port.baud, port.framing) == (9600, LineFraming.BITS_8N1)
            assert await port.write(b"ab") - port.clock.now() <= wire_time(2, 9600)
        finally:
            await port.close()


async def test_reset_input_drops_stale_bytes_from_the_os_and_our_buffer() -> None:
    async with bare_pty() as pty:
        port = SerialPort(pty.path)
        await port.open()
        try:
            pty.send(b"stale junk")
            await asyncio.sleep(0.05)
            await port.reset_input()
            assert await port.read(port.clock.now() + 0.05) == b""
            pty.send(b"/ABC5\r\n")
            assert await port.read(port.clock.now() + 1.0) == b"/ABC5\r\n"
        finally:
            await port.close()


@pytest.mark.parametrize("in_worker", [True, False])
async def test_input_from_before_the_first_message_after_an_open_is_dropped(
    in_worker: bool,
) -> None:
    async with bare_pty() as pty:
        port = SerialPort(pty.path)
        port.open_in_worker = in_worker
        await port.open()
        try:
            pty.send(b"/XYZ5 left over\r\n")
            await asyncio.sleep(0.05)
            await port.write(b"/?!\r\n")
            assert await port.read(port.clock.now() + 0.05) == b""
            pty.send(b"/ABC5\r\n")
            assert await port.read(port.clock.now() + 1.0) == b"/ABC5\r\n"
            # Only the first message after an open: later input is the meter's.
            await port.write(b"\x06050\r\n")
            assert await port.read(port.clock.now() + 0.05) == b""
            pty.send(b"more")
            await asyncio.sleep(0.05)
            await port.write(b"x")
            assert await port.read(port.clock.now() + 1.0) == b"more"
        finally:
            await port.close()
        assert not port.is_open


async def test_echo_suppression_on_a_line_that_hears_itself() -> None:
    async with bare_pty() as pty:
        options = PortOptions(echo=True, inter_byte_read=0.05)
        port = GatheringPort(SerialPort(pty.path), options)
        await port.open()
        try:
            await port.write(b"/?!\r\n")
            pty.send(b"/?")  # the echo, split as a USB adapter splits it
            await asyncio.sleep(0.01)
            pty.send(b"!\r\n/ABC5\r\n")
            assert await port.read(port.clock.now() + 1.0) == b"/ABC5\r\n"
            assert (port.echo.dropped, port.echo.mismatches) == (5, 0)
        finally:
            await port.close()


async def test_open_close_reopen_and_close_is_idempotent() -> None:
    async with bare_pty() as pty:
        port = SerialPort(pty.path, options=PortOptions(rs485=RS485Options()))
        await port.close()  # never opened
        await port.open()
        assert port.is_open
        assert not port.rs485_active  # a pty has no RS-485 mode: ignored politely
        await port.set_line(9600, LineFraming.BITS_7E1)
        await port.close()
        await port.close()
        assert not port.is_open
        with pytest.raises(PortClosedError):
            await port.write(b"x")
        await port.open()  # back at 300 Bd 7E1
        assert port.baud == 300
        assert termios.tcgetattr(pty.master)[5] == termios.B300
        await port.close()


async def test_exclusive_open_refuses_a_second_opener() -> None:
    async with bare_pty() as pty:
        first = SerialPort(pty.path)
        await first.open()
        try:
            with pytest.raises(PortUnavailableError) as caught:
                await SerialPort(pty.path).open()
            assert caught.value.url == pty.path
            shared = SerialPort(pty.path, options=PortOptions(exclusive=False))
            await shared.open()
            await shared.close()
        finally:
            await first.close()
        second = SerialPort(pty.path)
        await second.open()
        await second.close()


async def test_absent_device_is_unavailable() -> None:
    with pytest.raises(PortUnavailableError, match="ENOENT"):
        await open_port("/dev/serial/by-id/usb-no-such-adapter")


async def test_vanished_pty_raises_port_closed_then_backoff_reopens_the_new_one(
    tmp_path: Path,
) -> None:
    # A by-id style link, as udev gives an adapter that comes back under a new ttyUSB.
    link = tmp_path / "usb-FTDI_RS485-if00-port0"

    old = BarePty()
    link.symlink_to(old.path)
    port = SerialPort(str(link))
    await port.open()
    old.close()  # unplugged
    with pytest.raises(PortClosedError) as caught:
        await port.read(port.clock.now() + 1.0)
    assert caught.value.url == str(link)
    assert not port.is_open
    with pytest.raises(PortClosedError):
        await port.write(b"x")
    await port.close()
    link.unlink()

    failures: list[tuple[str, int, float]] = []
    new: list[BarePty] = []

    async def plug_in_later() -> None:
        await asyncio.sleep(0.15)
        new.append(BarePty())
        link.symlink_to(new[0].path)

    plugging = asyncio.create_task(plug_in_later())
    back = await open_with_backoff(
        lambda: SerialPort(str(link)),
        clock=port.clock,
        backoff=Backoff(initial=0.02, maximum=0.05, jitter=0.0),
        on_failure=lambda exc, n, wait: failures.append((exc.reason, n, wait)),
    )
    await plugging
    try:
        assert back.is_open
        assert failures
        assert failures[0][1:] == (1, 0.02)
        assert all(wait <= 0.05 for _, _, wait in failures)
        new[0].send(b"hello")
        assert await back.read(back.clock.now() + 1.0) == b"hello"
    finally:
        await back.close()
        new[0].close()


async def test_open_fails_cleanly_when_the_path_is_not_a_tty(tmp_path: Path) -> None:
    plain = tmp_path / "not-a-tty"
    plain.write_bytes(b"")
    with pytest.raises(PortUnavailableError):
        await open_port(str(plain))
    assert os.path.exists(plain)


@pytest.mark.parametrize("held", [False, True])
async def test_a_direct_open_port_closes_on_the_loop_unless_output_is_still_queued(
    held: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing with nothing queued is done at once; with output the driver still holds,
    the close (which waits in the driver for that output) goes to a worker thread. A
    pty never queues output (it refuses a write instead), so the held case is told."""

    async with bare_pty() as pty:
        loop = asyncio.get_running_loop()
        jobs: list[object] = []
        original = loop.run_in_executor

        def counting(executor: object, func: object, *args: object) -> object:
            jobs.append(func)
            return original(executor, func, *args)  # type: ignore[arg-type]

        port = SerialPort(pty.path)
        port.open_in_worker = False
        await port.open()
        await port.write(b"/?!\r\n")
        fd = port._transport.serial.fileno()  # type: ignore[union-attr]
        assert not _output_pending(fd)
        if held:
            monkeypatch.setattr(serial_module, "_output_pending", lambda fd: True)
        loop.run_in_executor = counting  # type: ignore[assignment,method-assign]
        try:
            await asyncio.wait_for(port.close(), 5.0)
        finally:
            loop.run_in_executor = original  # type: ignore[method-assign]
        assert not port.is_open
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(fd)
        assert bool(jobs) is held
        assert pty.received() == b"/?!\r\n"


def test_output_pending_is_true_where_the_driver_cannot_say(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        assert _output_pending(write_end)  # a pipe has no TIOCOUTQ: assume the worst
    finally:
        os.close(read_end)
        os.close(write_end)
