"""The real services the sink tests talk to, and how to get them running.

The machine's own Mosquitto (127.0.0.1:1883) and PostgreSQL (127.0.0.1:5432) are
used where they answer and started with the machine's commands where they do not.
A service that is still unreachable makes its tests skip with a notice, or fail in
CI (``CI=true``), so that a missing service can never pass for a green run.

Fault tests never stop the machine's services: they run a private ``mosquitto``
(or ``influxd``) on a free port with a configuration in a temporary folder, owned
by the test, stopped and started at will.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import pwd
import shutil
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.ports import free_port, reachable, wait_reachable
from harness.processes import Mosquitto, stop

MOSQUITTO = ("127.0.0.1", 1883)
POSTGRES = ("127.0.0.1", 5432)
# The machine's commands (its env file) for a service that has stopped.
START_MOSQUITTO = "mosquitto -d -c /etc/mosquitto/mosquitto.conf"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> None:
    """Skip with ``message``, or fail in CI."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_service(name: str, address: tuple[str, int], start: str) -> tuple[str, int]:
    """``address`` once the service answers there, started with ``start`` if need be."""
    if reachable(*address):
        return address
    subprocess.run(start, shell=True, check=False, capture_output=True, timeout=60)
    if not wait_reachable(*address, deadline=time.monotonic() + 15):
        unavailable(f"{name} not reachable at {address[0]}:{address[1]} (tried: {start})")
    return address


class PrivateMosquitto(Mosquitto):
    """A broker of the test's own on a free port; ``stop`` (a crash) and ``start`` at will.

    No binary: the test skips (fails in CI); a broker that will not start fails it.
    """

    def __init__(self, folder: Path) -> None:
        try:
            super().__init__(folder)
        except FileNotFoundError as exc:
            unavailable(str(exc))

    def start(self, timeout: float = 10.0) -> None:
        try:
            super().start(timeout)
        except RuntimeError:
            pytest.fail("private mosquitto did not start")

    def stop(self) -> None:
        self.kill()


class TlsMosquitto(PrivateMosquitto):
    """A private broker with only a TLS listener and password authentication.

    ``users`` go to a password file (hashed by ``mosquitto_passwd -U``); anonymous
    clients are refused. ``require_certificate``: clients must also show a
    certificate signed by ``certificates.ca``.
    """

    def __init__(
        self,
        folder: Path,
        certificates: Certificates,
        users: dict[str, str],
        *,
        require_certificate: bool = False,
    ) -> None:
        super().__init__(folder)
        passwd = shutil.which("mosquitto_passwd")
        if passwd is None:
            unavailable("mosquitto_passwd not found (Debian package mosquitto)")
        assert passwd is not None
        passwords = folder / "passwords"
        passwords.write_text("".join(f"{user}:{password}\n" for user, password in users.items()))
        passwords.chmod(0o600)
        subprocess.run([passwd, "-U", str(passwords)], check=True, capture_output=True)
        # Started as root, mosquitto drops to its own user, which cannot read the
        # test's private folder: stay whoever runs the tests (ignored when not root).
        user = pwd.getpwuid(os.geteuid()).pw_name
        self.config.write_text(
            f"user {user}\nper_listener_settings false\nallow_anonymous false\n"
            f"password_file {passwords}\npersistence false\nlog_dest none\n"
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {certificates.ca}\ncertfile {certificates.server_cert}\n"
            f"keyfile {certificates.server_key}\n"
            f"require_certificate {'true' if require_certificate else 'false'}\n"
        )


@dataclass(frozen=True)
class Certificates:
    """A throwaway PKI: a CA, a server certificate for 127.0.0.1 and localhost, a
    client certificate (CN ``meter``), and an unrelated CA that signed none of them."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path

    def server_context(self, *, require_client: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca)
        return context


def make_certificates(folder: Path) -> Certificates:
    """Certificates made now with the ``openssl`` command (EC P-256, valid a day)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("openssl command not found (Debian package openssl)")
    assert openssl is not None
    folder.mkdir(parents=True, exist_ok=True)
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str | Path) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True, timeout=30)

    def authority(name: str) -> tuple[Path, Path]:
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        run(
            "req", "-x509", "-new", *new_key, "-keyout", key, "-out", cert, "-days", "1",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return cert, key

    def leaf(name: str, ca: tuple[Path, Path], serial: int, extensions: str) -> None:
        request, ext = folder / f"{name}.csr", folder / f"{name}.ext"
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            f"subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n{extensions}\n"
        )
        run(
            "req", "-new", *new_key, "-keyout", folder / f"{name}.key", "-out", request,
            "-subj", f"/CN={name}",
        )  # fmt: skip
        run(
            "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-set_serial",
            str(serial), "-days", "1", "-extfile", ext, "-out", folder / f"{name}.pem",
        )  # fmt: skip

    ca = authority("test-ca")
    other_ca, _ = authority("other-ca")
    leaf(
        "localhost", ca, 2, "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1"
    )
    leaf("meter", ca, 3, "extendedKeyUsage=clientAuth")
    return Certificates(
        ca=ca[0],
        server_cert=folder / "localhost.pem",
        server_key=folder / "localhost.key",
        client_cert=folder / "meter.pem",
        client_key=folder / "meter.key",
        other_ca=other_ca,
    )


@dataclass
class Influxd:
    """A private InfluxDB 1.x on a free port, its data in a temporary folder."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, q: str, db: str | None = None) -> Any:
        params = {"q": q, **({"db": db} if db else {})}
        request = urllib.request.Request(
            f"{self.url}/query?" + urllib.parse.urlencode(params), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def write(self, lines: bytes, db: str) -> int:
        request = urllib.request.Request(f"{self.url}/write?db={db}", data=lines, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)


@contextlib.contextmanager
def influxd(folder: Path) -> Iterator[Influxd]:
    binary = shutil.which("influxd")
    if binary is None:
        unavailable("influxd not installed (Debian: apt-get install -y influxdb)")
    assert binary is not None
    port, rpc = free_port(), free_port()
    config = folder / "influxdb.conf"
    config.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{folder}/meta"
[data]
  dir = "{folder}/data"
  wal-dir = "{folder}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
    )
    process = subprocess.Popen(
        [binary, "-config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            ping = f"http://127.0.0.1:{port}/ping"
            with contextlib.suppress(OSError), urllib.request.urlopen(ping, timeout=1) as r:
                if r.status == 204:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("influxd did not start")
            time.sleep(0.1)
        yield Influxd(port, process)
    finally:
        stop(process)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Request], tuple[int, dict[str, str], bytes]]


@dataclass
class RecordingServer:
    """A real HTTP server (stdlib, in a thread) that keeps every request it gets.

    ``responder`` decides each answer; by default 204. Tests swap it to fail on
    demand (a 503 with ``Retry-After``, a 400 for one bad record ...).
    """

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    responder: Responder = field(default=lambda _request: (204, {}, b""))
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


@contextlib.contextmanager
def recording_server(*, tls: ssl.SSLContext | None = None) -> Iterator[RecordingServer]:
    """``tls``: a server context, to serve HTTPS (``make_certificates`` gives one)."""
    state = RecordingServer(scheme="http" if tls is None else "https")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            request = Request(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with lock:
                state.requests.append(request)
            status, headers, reply = state.responder(request)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        # The handshake happens in accept; one that fails is dropped there, unlogged.
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TcpProxy:
    """A TCP forwarder in the test's event loop: ``stop`` is a network outage (every
    connection cut, nothing listening), ``start`` the network back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
