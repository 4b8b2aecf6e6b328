"""What the network sinks share: secrets kept out of text, TLS, ``Retry-After``,
and the sorting of a refused batch into the readings that are really bad.

Theory of operation
-------------------
A network destination answers for a whole request. When it refuses one (an HTTP
400, a line protocol parse error) it rarely says which element was at fault, and
resending the whole batch would be refused forever. ``isolate`` halves the batch
until every refused piece is a single reading: those are the rejections, the rest
is stored. This is only safe because every request here is idempotent (the
receiver deduplicates by key or overwrites the same point), so a half that was in
fact stored the first time may be sent again without harm. A "try again later"
answer anywhere in the search stops it: what was not yet confirmed is retried.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import httpx
from pydantic import SecretStr

from poller.readings import Reading
from poller.util import redact_url

from ._contract import Rejection, WriteResult

__all__ = [
    "Attempt",
    "RetryGate",
    "TlsSettings",
    "basic_auth",
    "http_client",
    "isolate",
    "isolate_chunks",
    "redact_url",
    "retry_after_seconds",
    "scrub",
    "ssl_context",
]

_MASK: Final = "***"


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    """``text`` with every non-empty secret replaced, longest first."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


def basic_auth(username: str, password: SecretStr | None) -> dict[str, str]:
    """The ``Authorization`` header of HTTP basic authentication."""
    secret = password.get_secret_value() if password else ""
    pair = f"{username}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def ssl_context(
    *,
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    insecure: bool,
) -> ssl.SSLContext:
    """A client context: the system's CAs unless ``ca_file``; ``insecure`` skips checks."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    if insecure:
        # For test brokers with self-signed certificates; the settings name it loudly.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class TlsSettings(Protocol):
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    insecure: bool


def http_client(
    settings: TlsSettings, *, headers: dict[str, str], timeout: float
) -> httpx.AsyncClient:
    """An HTTP client with the settings' TLS: the system CAs unless they say otherwise.

    Redirects are not followed: a write that lands somewhere else is not a write.
    """
    verify: ssl.SSLContext | bool = True
    if settings.ca_file or settings.cert_file or settings.insecure:
        verify = ssl_context(
            ca_file=settings.ca_file,
            cert_file=settings.cert_file,
            key_file=settings.key_file,
            insecure=settings.insecure,
        )
    return httpx.AsyncClient(
        headers=headers, timeout=timeout, verify=verify, follow_redirects=False
    )


def retry_after_seconds(header: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds an HTTP ``Retry-After`` asks for (delta-seconds or an HTTP date)."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delay = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return max(delay, 0.0)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the destination said to one request."""

    outcome: str
    """``"ok"``, ``"refused"`` (the data is at fault) or ``"retry"``."""
    reason: str = ""
    retry_after: float | None = None
    fatal: bool = False
    """With ``"retry"``: not until the configuration changes (``SinkFatalError``)."""


OK: Final = Attempt("ok")


async def isolate(
    readings: Sequence[Reading],
    send: Callable[[Sequence[Reading]], Awaitable[Attempt]],
    *,
    first: Attempt | None = None,
) -> tuple[WriteResult, float | None]:
    """Send ``readings``, halving every refused part down to single readings.

    ``first`` is the answer already had for the whole batch, to not send it twice.
    Returns the result and the longest ``Retry-After`` seen.
    """
    accepted = 0
    rejected: list[Rejection] = []
    retry: list[Reading] = []
    retry_reason: str | None = None
    retry_after: float | None = None
    fatal = False
    # Depth first, in order, so the readings retried are a suffix-like remainder.
    stack: list[tuple[Sequence[Reading], Attempt | None]] = [(readings, first)]
    while stack:
        part, known = stack.pop()
        if not part:
            continue
        if retry:
            retry.extend(part)  # the destination said "later": do not hammer it
            continue
        attempt = known if known is not None else await send(part)
        if attempt.outcome == "ok":
            accepted += len(part)
        elif attempt.outcome == "retry":
            retry.extend(part)
            retry_reason = attempt.reason
            retry_after = attempt.retry_after
            fatal = attempt.fatal
        elif len(part) == 1:
            rejected.append(Rejection(part[0], attempt.reason))
        else:
            middle = len(part) // 2
            stack.append((part[middle:], None))
            stack.append((part[:middle], None))
    result = WriteResult(
        accepted=accepted,
        rejected=tuple(rejected),
        retry=tuple(retry),
        retry_reason=retry_reason,
        fatal=fatal,
    )
    return result, retry_after


async def isolate_chunks(
    readings: Sequence[Reading],
    send: Callable[[Sequence[Reading]], Awaitable[Attempt]],
    *,
    step: int,
    isolate_rejections: bool = True,
) -> tuple[WriteResult, float | None]:
    """``isolate`` over requests of at most ``step`` readings, in order.

    Once one chunk must be retried, the later ones are retried unsent. Without
    ``isolate_rejections`` a refused chunk is rejected whole.
    """
    accepted = 0
    rejected: list[Rejection] = []
    retry: list[Reading] = []
    reason: str | None = None
    retry_after: float | None = None
    fatal = False
    for start in range(0, len(readings), step):
        chunk = readings[start : start + step]
        if retry:
            retry.extend(chunk)
            continue
        first = await send(chunk)
        if first.outcome == "refused" and not isolate_rejections:
            rejected.extend(Rejection(r, first.reason) for r in chunk)
            continue
        result, asked = await isolate(chunk, send, first=first)
        accepted += result.accepted
        rejected.extend(result.rejected)
        retry.extend(result.retry)
        reason = reason or result.retry_reason
        fatal = fatal or result.fatal
        if asked is not None:
            retry_after = max(retry_after or 0.0, asked)
    result = WriteResult(
        accepted=accepted,
        rejected=tuple(rejected),
        retry=tuple(retry),
        retry_reason=reason,
        fatal=fatal,
    )
    return result, retry_after


class RetryGate:
    """Honours a destination's ``Retry-After`` without blocking: writes before the
    moment it named are answered "retry" at once, without a request."""

    def __init__(self) -> None:
        self._until = 0.0

    def hold(self, seconds: float | None, *, cap: float) -> None:
        if seconds is not None and seconds > 0:
            self._until = max(self._until, time.monotonic() + min(seconds, cap))

    def remaining(self) -> float:
        return max(self._until - time.monotonic(), 0.0)
