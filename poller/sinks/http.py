"""``http``: each batch POSTed as a JSON array of reading records.

The receiver decides with the status code: 2xx stored; 5xx, 408, 425 and 429 "later"
(``Retry-After`` honoured); other 4xx "this data is bad", and the batch is halved
until the bad records are found (``_net.isolate``), so that one record the receiver
refuses does not hold back the rest. Statuses that say the *request* is wrong, not
the data (401, 403, 404, 407: a token expired, a URL moved) are not the data's
fault either: a reading must not be set aside because of a configuration mistake.
They are *fatal* (``fatal_statuses``): the readings are answered "retry" and the
spool stops sending to this sink, keeping its batches, until a reload.

The credentials live in the ``Authorization`` header only; they are not in the URL,
the sink's repr, its log lines or its error texts.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from typing import ClassVar, Literal

import httpx
from pydantic import Field, HttpUrl, SecretStr, model_validator

from poller.readings import Reading, ReadingBatch

from ._contract import SinkContext, SinkSettings, WriteResult
from ._httpsink import HttpClientSink, HttpTargetSettings
from ._net import Attempt, basic_auth, isolate_chunks, redact_url, retry_after_seconds, scrub
from ._records import record_for

__all__ = ["HttpSettings", "HttpSink"]

DEFAULT_RETRY_STATUSES = frozenset({401, 403, 404, 407, 408, 425, 429})
DEFAULT_FATAL_STATUSES = frozenset({401, 403, 404, 407})
# "Later" by their definition: never a configuration's fault.
_NEVER_FATAL = frozenset({408, 425, 429})


class HttpSettings(HttpTargetSettings):
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
    max_batch: int = Field(default=500, ge=1)
    """Records per request; a larger batch is sent in several requests."""
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    """4xx statuses that mean "later", not "bad data"; every 5xx is retried."""
    fatal_statuses: frozenset[int] = DEFAULT_FATAL_STATUSES
    """4xx statuses that mean "the configuration is wrong" (credentials, URL): the sink
    stops until a reload, its readings kept in the spool. Empty: retried forever."""
    isolate_rejections: bool = True
    """Halve a refused batch to find the bad records; off: a refusal rejects all."""

    @model_validator(mode="after")
    def _one_auth(self) -> HttpSettings:
        chosen = [self.bearer_token is not None, self.username is not None, self.auth_header]
        if sum(bool(c) for c in chosen) > 1:
            raise ValueError("choose one of bearer_token, username/password, auth_header")
        if (self.auth_header is None) != (self.auth_value is None):
            raise ValueError("auth_header and auth_value go together")
        if self.url.username or self.url.password:
            raise ValueError("put credentials in username/password, not in the url")
        if any(not 400 <= s < 500 or s in _NEVER_FATAL for s in self.fatal_statuses):
            raise ValueError("fatal_statuses are 4xx statuses other than 408, 425 and 429")
        return self


class HttpSink(HttpClientSink[HttpSettings]):
    """Batched JSON POST; idempotent only as far as the receiver deduplicates by ``key``."""

    settings_model: ClassVar[type[SinkSettings]] = HttpSettings
    log_name = "poller.sinks.http"

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        self._url = str(self._settings.url)
        self._shown_url = redact_url(self._url)
        self._secrets = _secrets(self._settings)

    def _describe(self) -> str:
        return f"url={self._shown_url!r}"

    def _auth_headers(self) -> dict[str, str]:
        return _auth_headers(self._settings)

    def _extra_headers(self) -> dict[str, str]:
        return self._settings.headers

    async def _send(self, batch: ReadingBatch) -> tuple[WriteResult, float | None]:
        s = self._settings
        return await isolate_chunks(
            batch.readings, self._post, step=s.max_batch, isolate_rejections=s.isolate_rejections
        )

    async def _post(self, readings: Sequence[Reading]) -> Attempt:
        client = self._connected()
        body = [record_for(r, self._settings) for r in readings]
        started = time.monotonic()
        try:
            response = await client.post(self._url, json=body)
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
        if status in self._settings.fatal_statuses:
            return Attempt("retry", reason, fatal=True)
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
        return basic_auth(settings.username, settings.password)
    if settings.auth_header is not None and settings.auth_value is not None:
        return {settings.auth_header: settings.auth_value.get_secret_value()}
    return {}


def _secrets(settings: HttpSettings) -> list[str | None]:
    found: list[str | None] = list(_auth_headers(settings).values())
    secrets = (settings.bearer_token, settings.password, settings.auth_value)
    found.extend(s.get_secret_value() for s in secrets if s is not None)
    return found
