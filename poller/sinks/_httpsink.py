"""What the HTTP sinks (``http``, ``influxdb``) share: the client, TLS, ``Retry-After``.

A subclass says which headers authenticate it and how one batch is sent
(``_send``); this holds the ``httpx`` client (made at ``connect``, closed at
``close``) and the ``RetryGate``: while the destination's ``Retry-After`` runs, a
write answers "retry" at once without a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, TypeVar

import httpx
from pydantic import Field

from poller.readings import ReadingBatch

from ._base import BaseSink
from ._contract import SinkContext, SinkSettings, SinkUnavailableError, WriteResult
from ._net import RetryGate, http_client

__all__ = ["HttpClientSink", "HttpTargetSettings"]


class HttpTargetSettings(SinkSettings):
    """The keys of every sink that writes over HTTP."""

    timeout: float = Field(default=10.0, gt=0)
    max_retry_after: float = Field(default=3600.0, gt=0)
    """The longest ``Retry-After`` honoured, in seconds."""
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False


H = TypeVar("H", bound=HttpTargetSettings)


class HttpClientSink(BaseSink[H]):
    """One ``httpx.AsyncClient`` per sink, made at ``connect`` and closed at ``close``."""

    log_outcomes = True
    content_type: ClassVar[str] = "application/json"
    peer: ClassVar[str] = "receiver"
    """How the retry reason names the other side ("receiver asked to wait ...")."""

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self._client: httpx.AsyncClient | None = None
        self._gate = RetryGate()

    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _extra_headers(self) -> dict[str, str]:
        return {}

    async def _send(self, batch: ReadingBatch) -> tuple[WriteResult, float | None]:
        """Send the batch; the result and the ``Retry-After`` the destination asked for."""
        raise NotImplementedError

    async def _open(self) -> None:
        if self._client is not None:
            return
        headers = {"Content-Type": self.content_type, **self._extra_headers()}
        headers.update(self._auth_headers())
        self._client = http_client(self._settings, headers=headers, timeout=self._settings.timeout)

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        wait = self._gate.remaining()
        if wait > 0:
            return WriteResult.all_retry(
                batch.readings, f"{self.peer} asked to wait {wait:.0f} s more"
            )
        await self._open()
        result, retry_after = await self._send(batch)
        self._gate.hold(retry_after, cap=self._settings.max_retry_after)
        return result

    def _connected(self) -> httpx.AsyncClient:
        if self._client is None:
            raise SinkUnavailableError(f"{self._settings.type} sink is closed")
        return self._client
