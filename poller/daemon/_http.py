"""The daemon's HTTP endpoint: ``/healthz`` for probes and ``/metrics`` for Prometheus.

It binds to localhost unless configured otherwise: meter data and the shape of a
building's metering are nobody else's business. Both handlers only read state the
daemon already holds, so a scrape can never stall a bus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ._metrics import Metrics

__all__ = ["Health", "StatusServer"]


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
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens, the real port once started."""
        if self._runner is not None and self._runner.addresses:
            host, port = self._runner.addresses[0][:2]
            return str(host), int(port)
        return self._host, self._port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        # No access log: Prometheus scrapes every 15 s and probes every few seconds.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        health = self._health()
        return web.Response(
            text=json.dumps(health.body, indent=2) + "\n",
            status=200 if health.healthy else 503,
            content_type="application/json",
        )

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        body = self._metrics.exposition()
        response = web.Response(body=body)
        # aiohttp refuses a content type with parameters in the constructor.
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
