"""A one-connection RFC 2217 server in threads: pyserial's PortManager onto a pty path.

Three fixes make pyserial's reference server usable here, each test-only:
its PortManager does not acknowledge SET_LINESTATE_MASK / SET_MODEMSTATE_MASK
(RFC 2217 wants every command answered; serialx waits for the answer); a pty has no
modem lines (TIOCMGET fails); and pyserial re-applies unchanged settings, which
this glibc fails with EINVAL on a pty (PROTOCOL.md 13).
"""

from __future__ import annotations

import contextlib
import socket
import termios
import threading

import serial
import serial.rfc2217 as rfc


class _PtySerial(serial.Serial):
    cts = dsr = ri = cd = False

    def _update_dtr_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _reconfigure_port(self, force_update: bool = False) -> None:
        with contextlib.suppress(termios.error):
            super()._reconfigure_port(force_update)


class _PortManager(rfc.PortManager):
    def _telnet_process_subnegotiation(self, suboption: bytes) -> None:
        super()._telnet_process_subnegotiation(suboption)
        if suboption[0:1] == rfc.COM_PORT_OPTION and suboption[1:2] in (
            rfc.SET_LINESTATE_MASK,
            rfc.SET_MODEMSTATE_MASK,
        ):
            answer = rfc.RFC2217_ANSWER_MAP[suboption[1:2]]
            self.rfc2217_send_subnegotiation(answer, suboption[2:3])


class Rfc2217Server:
    """Serves ``path`` to the first client on 127.0.0.1:``port``; ``close`` ends it."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        line = _PtySerial(self._path, 300, bytesize=7, parity="E", timeout=0.05)

        class _Sink:
            def write(self, data: bytes) -> None:
                conn.sendall(data)

        manager = _PortManager(line, _Sink())
        reader = threading.Thread(target=self._to_network, args=(line, conn, manager))
        reader.start()
        conn.settimeout(0.05)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                if not data:
                    break
                line.write(b"".join(manager.filter(data)))
        except OSError:
            pass
        finally:
            self._stop.set()
            reader.join(timeout=5)
            line.close()
            conn.close()

    def _to_network(
        self, line: serial.Serial, conn: socket.socket, manager: rfc.PortManager
    ) -> None:
        while not self._stop.is_set():
            try:
                data = line.read(line.in_waiting or 1)
                if data:
                    conn.sendall(b"".join(manager.escape(data)))
            except (OSError, serial.SerialException):
                return
