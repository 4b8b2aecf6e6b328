"""The daemon's HTTP endpoint: ``/healthz`` for probes and ``/metrics`` for Prometheus.

It binds to localhost unless configured otherwise: meter data and the shape of a
building's metering are nobody else's business. Both handlers only read state the
daemon already holds, so a scrape can never stall a bus.

Two read-only GET pages do not need a web framework: this is asyncio's own server
with just enough HTTP/1.1 for probes, Prometheus and browsers (one request per
connection, ``Connection: close``). That keeps the daemon's memory small on a
gateway, where a framework would cost more than all the buses it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST

from ._metrics import Metrics

__all__ = ["Health", "StatusServer"]

_MAX_REQUEST_HEAD: Final = 8192
_READ_TIMEOUT: Final = 5.0
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    """False when a bus is down: ``/healthz`` then answers 503."""
    body: dict[str, Any]


class StatusServer:
    """Serves ``/healthz`` and ``/metrics`` on ``host:port`` (port 0: any free one)."""

    def __init__(
        self, host: str, port: int, *, health: Callable[[], Health], metrics: Metrics
    ) -> None:
        self._host = host
        self._port = port
        self._health = health
        self._metrics = metrics
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens, the real port once started."""
        if self._server is not None and self._server.sockets:
            host, port = self._server.sockets[0].getsockname()[:2]
            return str(host), int(port)
        return self._host, self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, reuse_address=True
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body = await self._answer(reader)
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass  # a probe that hung up or never finished asking: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return 400, "text/plain", b"bad request\n"
        if len(head) > _MAX_REQUEST_HEAD:
            return 400, "text/plain", b"bad request\n"
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method != "GET":
            return 405, "text/plain", b"only GET\n"
        if path == "/healthz":
            health = self._health()
            body = (json.dumps(health.body, indent=2) + "\n").encode()
            return (200 if health.healthy else 503), "application/json", body
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, self._metrics.exposition()
        return 404, "text/plain", b"not found: try /healthz or /metrics\n"
