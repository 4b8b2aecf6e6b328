"""``mqtt``: each reading published to its own topic at QoS 1 (aiomqtt).

Theory of operation
-------------------
A reading counts as accepted only when the broker acknowledged it (PUBACK at QoS 1,
PUBCOMP at 2); at QoS 0 when it left the socket. A batch is published concurrently
(the broker and paho keep the order, ``max_inflight`` at a time) while a watcher
waits for the connection to drop: when it does, every publish not yet confirmed is
abandoned at once and its reading retried, instead of each waiting out its timeout.
A reading confirmed twice (sent, the ack lost, sent again) reaches subscribers
twice: MQTT is at-least-once, and the record's ``key`` lets them deduplicate.

The connection is rebuilt on the next ``connect`` or ``write`` after a loss; a write
that cannot connect answers "retry" for the whole batch. On connect the sink
publishes ``online`` to its retained availability topic, and the broker publishes
the last will ``offline`` there if the sink vanishes; ``close`` publishes
``offline`` itself.

Home Assistant discovery (``discovery: true``): before the first state of a
(meter, register) the sink publishes, retained, the sensor's config that
``_discovery.discovery_config`` makes (described there).

A login the broker refuses (bad credentials, not authorised) is fatal
(``SinkFatalError``): the spool keeps the readings and stops sending here until a
reload. The password is a ``SecretStr``: never in the repr, the logs or an error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import aiomqtt
from pydantic import Field, SecretStr, field_validator

from poller.readings import Reading, ReadingBatch

from ._base import BaseSink
from ._contract import (
    SinkContext,
    SinkFatalError,
    SinkSettings,
    SinkUnavailableError,
    WriteResult,
)
from ._discovery import discovery_config, slug
from ._net import scrub, ssl_context
from ._records import record_for

__all__ = ["MqttSettings", "MqttSink"]

_TOPIC_FIELDS: Final = frozenset(
    {
        "bus", "meter", "meter_name", "ident", "address", "obis", "name", "register",
        "name_or_address", "unit", "quality", "sink",
    }
)  # fmt: skip
_FORMATTER: Final = string.Formatter()
# CONNACK codes of a refused login: MQTT 3.1.1 (4 bad user name or password, 5 not
# authorised) and MQTT 5 (134, 135), as paho reports either.
_LOGIN_REFUSED: Final = frozenset({4, 5, 134, 135})


class MqttSettings(SinkSettings):
    """``type: mqtt``."""

    type: Literal["mqtt"] = "mqtt"
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = None
    """None: ``iec-poller-<sink>-<random>`` (a clean session each time)."""
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    """Accept any server certificate: only for test brokers."""
    topic: str = "iec-poller/{bus}/{meter}/{name_or_address}"
    """Per reading; fields: ``bus meter meter_name ident address obis name register
    (= name_or_address) unit quality sink``. ``/ + #`` in a value become ``_``."""
    payload: Literal["record", "value"] = "record"
    """``record``: the JSON reading record; ``value``: the number (or text) alone."""
    qos: Literal[0, 1, 2] = 1
    retain: bool = False
    availability_topic: str = "iec-poller/{sink}/status"
    keepalive: int = Field(default=60, ge=5)
    timeout: float = Field(default=10.0, gt=0)
    max_inflight: int = Field(default=100, ge=1)
    discovery: bool = False
    discovery_prefix: str = "homeassistant"
    volume_class: Literal["gas", "water"] = "gas"
    """HA device class of an m3 register whose OBIS code names no medium."""

    @field_validator("topic", "availability_topic")
    @classmethod
    def _template(cls, value: str) -> str:
        fields = {name for _, name, _, _ in _FORMATTER.parse(value) if name is not None}
        unknown = fields - _TOPIC_FIELDS
        if unknown:
            raise ValueError(f"unknown topic fields {sorted(unknown)}")
        if "+" in value or "#" in value or not value:
            raise ValueError("a topic to publish to has no wildcards")
        return value


class MqttSink(BaseSink[MqttSettings]):
    """Publishes readings, availability and (optionally) Home Assistant discovery."""

    settings_model: ClassVar[type[SinkSettings]] = MqttSettings
    log_name = "poller.sinks.mqtt"
    log_outcomes = True

    def __init__(self, settings: SinkSettings, context: SinkContext) -> None:
        super().__init__(settings, context)
        settings = self._settings
        self._client: aiomqtt.Client | None = None
        self._lost: asyncio.Task[None] | None = None
        self._announced: set[str] = set()
        self._client_id = settings.client_id or f"iec-poller-{slug(settings.sink_id)}-" + (
            secrets.token_hex(3)
        )
        self.availability_topic = settings.availability_topic.format(sink=settings.sink_id)
        self._secrets = [settings.password.get_secret_value() if settings.password else None]

    def _describe(self) -> str:
        s = self._settings
        return f"{s.host}:{s.port}, user={s.username!r}"

    @property
    def connected(self) -> bool:
        return self._client is not None and self._lost is not None and not self._lost.done()

    async def _open(self) -> None:
        await self._connect()

    async def _close(self) -> None:
        if self.connected:
            assert self._client is not None
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.publish(
                    self.availability_topic, b"offline", qos=1, retain=True, timeout=2.0
                )
        await self._teardown()

    async def _write(self, batch: ReadingBatch) -> WriteResult:
        try:
            await self._connect()
        except SinkUnavailableError as exc:
            return WriteResult.all_retry(batch.readings, str(exc), fatal=exc.fatal)
        return await self._publish_batch(batch.readings)

    async def _publish_batch(self, readings: Sequence[Reading]) -> WriteResult:
        s = self._settings
        configs: dict[str, bytes] = {}
        messages: list[tuple[str, bytes]] = []
        for reading in readings:
            record = record_for(reading, s)
            topic = self._topic(record)
            if s.discovery:
                announced = discovery_config(reading, record, topic, s, self.availability_topic)
                if announced is not None and announced[0] not in self._announced:
                    configs[announced[0]] = json.dumps(announced[1]).encode()
            messages.append((topic, self._payload(reading, record)))
        if configs:
            # Before the states, so Home Assistant knows the sensor when its value comes.
            errors = await self._publish_many([(t, p, True) for t, p in configs.items()])
            failed = [e for e in errors if e is not None]
            if failed:
                return WriteResult.all_retry(readings, f"discovery not published: {failed[0]}")
            self._announced.update(configs)
        errors = await self._publish_many([(t, p, s.retain) for t, p in messages])
        retry = tuple(r for r, e in zip(readings, errors, strict=True) if e is not None)
        reason = next((str(e) for e in errors if e is not None), None)
        return WriteResult(accepted=len(readings) - len(retry), retry=retry, retry_reason=reason)

    async def _publish_many(self, messages: Sequence[tuple[str, bytes, bool]]) -> list[str | None]:
        """Publish all, at most ``max_inflight`` unconfirmed; per message None or why not."""
        client, lost = self._client, self._lost
        assert client is not None
        assert lost is not None
        outcome: list[str | None] = ["not sent: connection lost"] * len(messages)
        window = self._settings.max_inflight
        for start in range(0, len(messages), window):
            if lost.done():
                break
            tasks = [
                asyncio.create_task(
                    client.publish(
                        topic, payload, qos=self._settings.qos, retain=retain,
                        timeout=self._settings.timeout,
                    )
                )
                for topic, payload, retain in messages[start : start + window]
            ]  # fmt: skip
            everything: asyncio.Future[Any] = asyncio.gather(*tasks, return_exceptions=True)
            waiters: list[asyncio.Future[Any]] = [everything, lost]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if not everything.done():
                # The connection dropped: what is unconfirmed now will never be.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(everything, return_exceptions=True)
            for index, task in enumerate(tasks, start=start):
                if task.cancelled():
                    continue
                error = task.exception()
                outcome[index] = None if error is None else self._text(error)
            if any(outcome[start : start + len(tasks)]):
                await self._teardown()
                break
        return outcome

    def _topic(self, record: dict[str, Any]) -> str:
        register = record["name"] or record["address"] or record["obis"] or "_"
        fields = {key: _segment(record.get(key)) for key in _TOPIC_FIELDS}
        fields["register"] = fields["name_or_address"] = _segment(register)
        fields["sink"] = _segment(self._settings.sink_id)
        return self._settings.topic.format(**fields)

    def _payload(self, reading: Reading, record: dict[str, Any]) -> bytes:
        if self._settings.payload == "record":
            return json.dumps(record, ensure_ascii=False).encode()
        number = reading.decimal
        return (format(number, "f") if number is not None else reading.value or "").encode()

    def _text(self, exc: BaseException) -> str:
        return scrub(f"{type(exc).__name__}: {exc}", self._secrets)

    async def _connect(self) -> None:
        if self.connected:
            return
        await self._teardown()
        s = self._settings
        tls = None
        if s.tls or s.insecure or s.ca_file or s.cert_file:
            tls = ssl_context(
                ca_file=s.ca_file, cert_file=s.cert_file, key_file=s.key_file, insecure=s.insecure
            )
        client = aiomqtt.Client(
            s.host,
            s.port,
            identifier=self._client_id,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            will=aiomqtt.Will(self.availability_topic, b"offline", qos=1, retain=True),
            keepalive=s.keepalive,
            timeout=s.timeout,
            tls_context=tls,
            tls_insecure=s.insecure if tls is not None else None,
            max_inflight_messages=s.max_inflight,
        )
        # aiomqtt warns above this many unconfirmed publishes; a window of them is normal.
        client.pending_calls_threshold = 2 * s.max_inflight + 10
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            error = SinkFatalError if _refused_login(exc) else SinkUnavailableError
            raise error(f"cannot connect to mqtt://{s.host}:{s.port}: {self._text(exc)}") from None
        self._client = client
        self._lost = asyncio.create_task(_until_lost(client))
        try:
            await client.publish(
                self.availability_topic, b"online", qos=1, retain=True, timeout=s.timeout
            )
        except aiomqtt.MqttError as exc:
            await self._teardown()
            raise SinkUnavailableError(
                f"mqtt://{s.host}:{s.port} took no availability message: {self._text(exc)}"
            ) from None
        self._log.info("mqtt_connected", broker=f"{s.host}:{s.port}", client_id=self._client_id)

    async def _teardown(self) -> None:
        client, lost = self._client, self._lost
        self._client = self._lost = None
        if lost is not None and not lost.done():
            lost.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lost
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), timeout=5.0)


def _refused_login(exc: aiomqtt.MqttError) -> bool:
    """Whether the broker refused the credentials: no retry cures that (fatal)."""
    code = getattr(exc, "rc", None)
    value = getattr(code, "value", code)
    return isinstance(exc, aiomqtt.MqttCodeError) and value in _LOGIN_REFUSED


async def _until_lost(client: aiomqtt.Client) -> None:
    """Returns when the connection drops: the message iterator ends with an error then."""
    with contextlib.suppress(aiomqtt.MqttError):
        async for _ in client.messages:
            pass  # nothing is subscribed; the loop only waits


def _segment(value: object) -> str:
    if value is None or value == "":
        return "_"
    return re.sub(r"[/+#\x00]", "_", str(value))
