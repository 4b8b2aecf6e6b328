"""``http``: each batch POSTed as a JSON array of reading records.

The receiver decides with the status code: 2xx stored; 5xx, 408, 425 and 429 "later"
(``Retry-After`` honoured); other 4xx "this data is bad", and the batch is halved
until the bad records are found (``_net.isolate``), so that one record the receiver
refuses does not hold back the rest. Statuses that say the *request* is wrong, not
the data (401, 403, 404, 407: a token expired, a URL moved), are retried too: a
reading must not be set aside because of a configuration mistake.

The credentials live in the ``Authorization`` header only; they are not in the URL,
the sink's repr, its log lines or its error texts.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import httpx
import structlog
from pydantic import Field, HttpUrl, SecretStr, model_validator

from poller.readings import Reading, ReadingBatch

from ._contract import (
    Rejection,
    SinkContext,
    SinkSettings,
    SinkUnavailableError,
    WriteResult,
    settings_as,
)
from ._net import (
    Attempt,
    RetryGate,
    http_client,
    isolate,
    redact_url,
    retry_after_seconds,
    scrub,
)
from ._records import record_for

__all__ = ["HttpSettings", "HttpSink"]

DEFAULT_RETRY_STATUSES = frozenset({401, 403, 404, 407, 408, 425, 429})


class HttpSettings(SinkSettings):
    """``type: http``."""

    type: Literal["http"] = "http"
    url: HttpUrl
    bearer_token: SecretStr | None = None
    """Sent as ``Authorization: Bearer <token>``."""
    username: str | None = None
    password: SecretStr | None = None
    """With ``username``: HTTP basic authentication."""
    auth_header: str | None = None
    """Another header to carry the secret (``X-API-Key``); its value is ``auth_value``."""
    auth_value: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    """Further headers, not secret (they may be logged)."""
    timeout: float = Field(default=10.0, gt=0)
    max_batch: int = Field(default=500, ge=1)
    """Records per request; a larger batch is sent in several requests."""
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    """4xx statuses that mean "later", not "bad data"; every 5xx is retried."""
    isolate_rejections: bool = True
    """Halve a refused batch to find the bad records; off: a refusal rejects all."""
    max_retry_after: float = Field(default=3600.0, gt=0)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False

    @model_validator(mode="after")
    def _one_auth(self) -> HttpSettings:
        chosen = [self.bearer_token is not None, self.username is not None, self.auth_header]
        if sum(bool(c) for c in chosen) > 1:
            raise ValueError("choose one of bearer_token, username/password, auth_header")
        if (self.auth_header is None) != (self.auth_value is None):
            raise ValueError("auth_header and auth_value go together")
        if self.url.username or self.url.password:
            raise ValueError("put credentials in username/password, not in the url")
        return self


class HttpSink:
    """Batched JSON POST; idempotent only as far as the receiver deduplicates by ``key``."""

    settings_model: ClassVar[type[SinkSettings]] = HttpSettings

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        settings = settings_as(settings, HttpSettings)
        self._settings = settings
        self._context = context
        self._client: httpx.AsyncClient | None = None
        self._gate = RetryGate()
        self._url = str(settings.url)
        self._shown_url = redact_url(self._url)
        self._secrets = _secrets(settings)
        self._log = structlog.get_logger("poller.sinks.http").bind(sink=settings.sink_id)

    def __repr__(self) -> str:
        return f"HttpSink({self._settings.sink_id!r}, url={self._shown_url!r})"

    @property
    def settings(self) -> HttpSettings:
        return self._settings

    async def connect(self) -> None:
        if self._client is not None:
            return
        s = self._settings
        headers = {"Content-Type": "application/json", **s.headers, **_auth_headers(s)}
        self._client = http_client(s, headers=headers, timeout=s.timeout)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def write(self, batch: ReadingBatch) -> WriteResult:
        readings = batch.readings
        if not readings:
            return WriteResult()
        wait = self._gate.remaining()
        if wait > 0:
            return WriteResult.all_retry(readings, f"receiver asked to wait {wait:.0f} s more")
        await self.connect()
        accepted = 0
        rejected: list[Rejection] = []
        retry: list[Reading] = []
        reason: str | None = None
        step = self._settings.max_batch
        for start in range(0, len(readings), step):
            chunk = readings[start : start + step]
            if retry:
                retry.extend(chunk)
                continue
            first = await self._post(chunk)
            if first.outcome == "refused" and not self._settings.isolate_rejections:
                rejected.extend(Rejection(r, first.reason) for r in chunk)
                continue
            result, retry_after = await isolate(chunk, self._post, first=first)
            accepted += result.accepted
            rejected.extend(result.rejected)
            retry.extend(result.retry)
            reason = reason or result.retry_reason
            self._gate.hold(retry_after, cap=self._settings.max_retry_after)
        if rejected:
            self._log.warning("http_rejected", count=len(rejected), reason=rejected[0].reason)
        if retry:
            self._log.info("http_retry", count=len(retry), reason=reason)
        return WriteResult(
            accepted=accepted, rejected=tuple(rejected), retry=tuple(retry), retry_reason=reason
        )

    async def _post(self, readings: Sequence[Reading]) -> Attempt:
        if self._client is None:
            raise SinkUnavailableError("http sink is closed")
        body = [record_for(r, self._settings) for r in readings]
        started = time.monotonic()
        try:
            response = await self._client.post(self._url, json=body)
        except (httpx.TransportError, ssl.SSLError) as exc:
            # httpx names the URL in some errors; the URL has no secret, but scrub anyway.
            # A TLS alert after the handshake (TLS 1.3: "certificate required") comes
            # from the response read as a bare ssl.SSLError that httpcore does not map.
            text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            return Attempt("retry", f"{self._shown_url} unreachable ({text})")
        status = response.status_code
        elapsed = round(1e3 * (time.monotonic() - started))
        self._log.debug("http_post", status=status, records=len(body), ms=elapsed)
        if 200 <= status < 300:
            return Attempt("ok")
        detail = scrub(response.text[:200].strip(), self._secrets)
        reason = f"HTTP {status} {response.reason_phrase}" + (f": {detail}" if detail else "")
        if status >= 500 or status in self._settings.retry_statuses:
            return Attempt(
                "retry", reason, retry_after_seconds(response.headers.get("Retry-After"))
            )
        if 300 <= status < 400:
            return Attempt("retry", f"{reason} (redirects are not followed: fix the url)")
        return Attempt("refused", reason)


def _auth_headers(settings: HttpSettings) -> dict[str, str]:
    if settings.bearer_token is not None:
        return {"Authorization": f"Bearer {settings.bearer_token.get_secret_value()}"}
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password else ""
        pair = f"{settings.username}:{password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    if settings.auth_header is not None and settings.auth_value is not None:
        return {settings.auth_header: settings.auth_value.get_secret_value()}
    return {}


def _secrets(settings: HttpSettings) -> list[str | None]:
    found: list[str | None] = list(_auth_headers(settings).values())
    secrets = (settings.bearer_token, settings.password, settings.auth_value)
    found.extend(s.get_secret_value() for s in secrets if s is not None)
    return found
