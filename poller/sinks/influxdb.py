"""``influxdb``: readings as line protocol over HTTP (InfluxDB 2.x API, or 1.x).

One point per reading::

    meter,bus=b1,meter=12345678,name=import,register=1.8.0,unit=kWh \\
        value=42951.721,raw="042951.721",quality="good" 1767225600000

(one line; broken here for width)

* tags: ``bus``, ``meter``, ``register`` (the address as the meter wrote it), ``obis``
  and ``name`` where known, ``unit``; a tag with no value is left out (InfluxDB refuses
  empty tags);
* fields: ``value`` (float) where the text is a number, ``raw`` (the text as read,
  always) and ``quality``;
* time: the meter's own stamp, else the schedule slot, else when it was taken: the
  time of the idempotency key. A point sent twice has the same series and time, and
  InfluxDB keeps it once: replays are harmless.

Answers: 2xx stored; 5xx, 429, 408 and transport errors "later" (``Retry-After``
honoured); 400, 413 and 422 mean some lines were bad: the batch is halved until the
bad readings are found (``_net.isolate``) and only those are rejected. 401, 403 and
404 (a wrong token or a missing bucket) are retried, and fatal: they are not the
data's fault, and no retry cures them, so the spool keeps the readings and stops
sending to this sink until a reload.
A reading that line protocol cannot express at all (a newline in a value, a tag
ending in a backslash) is rejected before anything is sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
from collections.abc import Sequence
from typing import ClassVar, Final, Literal

import httpx
from pydantic import Field, HttpUrl, SecretStr, model_validator

from poller.readings import Reading, ReadingBatch

from ._contract import Rejection, SinkContext, SinkSettings, WriteResult
from ._httpsink import HttpClientSink, HttpTargetSettings
from ._net import Attempt, basic_auth, isolate_chunks, redact_url, retry_after_seconds, scrub
from ._records import register_name

__all__ = ["InfluxSettings", "InfluxSink", "LineProtocolError", "line_for"]

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_UNITS: Final = {
    "s": dt.timedelta(seconds=1),
    "ms": dt.timedelta(milliseconds=1),
    "us": dt.timedelta(microseconds=1),
}
# InfluxDB 1.x names the precisions differently.
_V1_PRECISION: Final = {"s": "s", "ms": "ms", "us": "u", "ns": "n"}
_RETRY_STATUSES: Final = frozenset({401, 403, 404, 407, 408, 425, 429})
_FATAL_STATUSES: Final = frozenset({401, 403, 404, 407})


class InfluxSettings(HttpTargetSettings):
    """``type: influxdb``."""

    type: Literal["influxdb"] = "influxdb"
    url: HttpUrl = HttpUrl("http://127.0.0.1:8086")
    api: Literal["v2", "v1"] = "v2"
    # v2
    org: str | None = None
    bucket: str | None = None
    token: SecretStr | None = None
    """v2: ``Authorization: Token <token>``; v1 servers also take it (1.8 ``user:password``)."""
    # v1
    database: str | None = None
    retention_policy: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    """v1: HTTP basic authentication (never ``u=``/``p=`` in the URL, which logs show)."""
    measurement: str = "meter"
    precision: Literal["s", "ms", "us", "ns"] = "ms"
    max_batch: int = Field(default=5000, ge=1)
    """Points per request (InfluxDB advises 5000)."""

    @model_validator(mode="after")
    def _api_keys(self) -> InfluxSettings:
        if self.api == "v2" and not (self.org and self.bucket):
            raise ValueError("api v2 needs org and bucket")
        if self.api == "v1" and not self.database:
            raise ValueError("api v1 needs database")
        if self.url.username or self.url.password:
            raise ValueError("put credentials in token or username/password, not in the url")
        if self.token is not None and self.username is not None:
            raise ValueError("choose token or username/password")
        return self


class LineProtocolError(ValueError):
    """A reading line protocol cannot express."""


class InfluxSink(HttpClientSink[InfluxSettings]):
    """Line protocol over HTTP; idempotent because a point is its series and time."""

    settings_model: ClassVar[type[SinkSettings]] = InfluxSettings
    log_name = "poller.sinks.influxdb"
    content_type = "text/plain; charset=utf-8"
    peer = "server"

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        settings = self._settings
        self._endpoint, self._params = _endpoint(settings)
        self._shown = redact_url(self._endpoint)
        self._headers = _auth_headers(settings)
        self._secrets: list[str | None] = list(self._headers.values())
        for secret in (settings.token, settings.password):
            if secret is not None:
                self._secrets.append(secret.get_secret_value())

    def _describe(self) -> str:
        return f"url={self._shown!r}"

    def _auth_headers(self) -> dict[str, str]:
        return self._headers

    async def _send(self, batch: ReadingBatch) -> tuple[WriteResult, float | None]:
        rejected: list[Rejection] = []
        lines: dict[int, bytes] = {}
        sendable: list[Reading] = []
        for reading in batch.readings:
            try:
                line = line_for(reading, self._settings)
            except LineProtocolError as exc:
                rejected.append(Rejection(reading, str(exc)))
                continue
            lines[id(reading)] = line
            sendable.append(reading)

        async def send(part: Sequence[Reading]) -> Attempt:
            return await self._post(b"\n".join(lines[id(r)] for r in part))

        result, retry_after = await isolate_chunks(sendable, send, step=self._settings.max_batch)
        if rejected:
            result = dataclasses.replace(result, rejected=tuple(rejected) + result.rejected)
        return result, retry_after

    async def _post(self, body: bytes) -> Attempt:
        client = self._connected()
        try:
            response = await client.post(self._endpoint, params=self._params, content=body)
        except (httpx.TransportError, ssl.SSLError) as exc:
            # A TLS 1.3 alert after the handshake can surface as a bare SSLError.
            text = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            return Attempt("retry", f"{self._shown} unreachable ({text})")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt("ok")
        detail = scrub(response.text[:300].strip(), self._secrets)
        reason = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status in _FATAL_STATUSES:
            return Attempt("retry", reason, fatal=True)
        if status >= 500 or status in _RETRY_STATUSES:
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            return Attempt("retry", reason, delay)
        if status in (400, 413, 422):
            return Attempt("refused", reason)
        return Attempt("retry", reason)


def _endpoint(settings: InfluxSettings) -> tuple[str, dict[str, str]]:
    base = str(settings.url).rstrip("/")
    if settings.api == "v2":
        # The validator saw to both.
        assert settings.org is not None
        assert settings.bucket is not None
        params = {"org": settings.org, "bucket": settings.bucket, "precision": settings.precision}
        return f"{base}/api/v2/write", params
    assert settings.database is not None
    params = {"db": settings.database, "precision": _V1_PRECISION[settings.precision]}
    if settings.retention_policy:
        params["rp"] = settings.retention_policy
    return f"{base}/write", params


def _auth_headers(settings: InfluxSettings) -> dict[str, str]:
    if settings.token is not None:
        return {"Authorization": f"Token {settings.token.get_secret_value()}"}
    if settings.username is not None:
        return basic_auth(settings.username, settings.password)
    return {}


# Line protocol escaping (the InfluxDB line protocol reference): measurement names
# escape commas and spaces; tag keys, tag values and field keys also equals signs;
# string field values escape double quotes and backslashes. Nothing can escape a
# newline, nor a backslash at the end of a tag (it would escape the separator).
_MEASUREMENT: Final = str.maketrans({",": r"\,", " ": r"\ "})
_KEY: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING: Final = str.maketrans({'"': r"\"", "\\": "\\\\"})


def _name(text: str, table: dict[int, str], what: str) -> str:
    if "\n" in text or "\r" in text:
        raise LineProtocolError(f"{what} {text!r} holds a line break")
    if text.endswith("\\"):
        raise LineProtocolError(f"{what} {text!r} ends in a backslash")
    return text.translate(table)


def _string(text: str, what: str) -> str:
    if "\n" in text or "\r" in text:
        raise LineProtocolError(f"{what} {text!r} holds a line break")
    return '"' + text.translate(_STRING) + '"'


def line_for(reading: Reading, settings: InfluxSettings) -> bytes:
    """The reading's point in line protocol (no trailing newline)."""
    tags = {
        "bus": reading.bus,
        "meter": reading.meter,
        "meter_name": reading.meter_name,
        "name": register_name(reading, settings.names),
        "obis": None if reading.obis is None else str(reading.obis),
        "register": reading.address,
        "unit": reading.unit,
    }
    # Sorted tag keys: what InfluxDB would do anyway, done once here.
    tag_text = "".join(
        f",{_name(key, _KEY, 'tag key')}={_name(value, _KEY, f'tag {key}')}"
        for key, value in sorted(tags.items())
        if value
    )
    fields = []
    number = reading.decimal
    if number is not None:
        fields.append(f"value={format(number, 'f')}")
    fields.append(f"raw={_string(reading.value or '', 'value')}")
    fields.append(f"quality={_string(reading.quality.value, 'quality')}")
    when = reading.meter_time or reading.slot or reading.taken_at
    measurement = _name(settings.measurement, _MEASUREMENT, "measurement")
    line = f"{measurement}{tag_text} {','.join(fields)} {_timestamp(when, settings.precision)}"
    return line.encode("utf-8")


def _timestamp(when: dt.datetime, precision: str) -> int:
    delta = when - _EPOCH
    if precision == "ns":
        # timedelta stops at microseconds; integer arithmetic keeps it exact.
        return (delta // _UNITS["us"]) * 1000
    return delta // _UNITS[precision]
