"""``mqtt`` against real brokers: the machine's Mosquitto, and a private one for faults.

Every test subscribes with its own aiomqtt client and counts every message it gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from poller.readings import Reading
from poller.sinks import SinkContext, SinkUnavailableError
from poller.sinks.mqtt import MqttSettings, MqttSink
from tests.quiet import mqtt_flushed
from tests.services import PrivateMosquitto, free_port

from .conftest import batch, many, typical


def sink(address: tuple[str, int], context: SinkContext, **options: Any) -> MqttSink:
    host, port = address
    settings = MqttSettings.model_validate({"type": "mqtt", "host": host, "port": port, **options})
    return MqttSink(settings, context)


class Collector:
    def __init__(self) -> None:
        self.messages: list[aiomqtt.Message] = []

    def payloads(self, prefix: str = "") -> list[Any]:
        return [
            json.loads(m.payload)
            if isinstance(m.payload, bytes) and m.payload[:1] == b"{"
            else m.payload
            for m in self.messages
            if str(m.topic).startswith(prefix)
        ]

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out; got {len(self.messages)} messages")
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def subscribed(address: tuple[str, int], *topics: str) -> AsyncIterator[Collector]:
    collector = Collector()
    async with aiomqtt.Client(
        address[0], address[1], identifier=f"test-{uuid.uuid4().hex[:8]}"
    ) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in client.messages:
                collector.messages.append(message)

        task = asyncio.create_task(collect())
        try:
            yield collector
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def clear_retained(address: tuple[str, int], *topics: str) -> None:
    """The machine's broker keeps retained messages on disk: leave none of a test run."""
    async with aiomqtt.Client(*address) as client:
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)


def unique() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


async def test_each_reading_is_published_with_its_record(
    mosquitto: tuple[str, int], context: SinkContext
) -> None:
    root = unique()
    readings = typical()

    async with subscribed(mosquitto, f"{root}/#") as got:
        s = sink(
            mosquitto, context, topic=root + "/{bus}/{meter}/{name_or_address}",
            availability_topic=root + "/status", names={"1.8.0": "import"},
        )  # fmt: skip
        try:
            await s.connect()
            await s.connect()  # idempotent
            result = await s.write(batch(readings))
            assert result.accepted == len(readings)
            assert not result.retry
        finally:
            await s.close()
        await got.until(lambda: len(got.messages) >= len(readings) + 2)
        await mqtt_flushed(mosquitto, f"{root}/quiet", got.messages)  # nothing more arrives
    states = [m for m in got.messages if not str(m.topic).endswith("/status")]
    assert len(states) == len(readings)
    by_topic = {str(m.topic): json.loads(m.payload) for m in states}  # type: ignore[arg-type]
    assert by_topic[f"{root}/b1/12345678/import"] == {
        **readings[0].to_record(),
        "name": "import",
    }
    assert f"{root}/b1/gas-1/7-0:3.0.0" in by_topic
    assert f"{root}/b1/12345678/1.8.0*12" in by_topic
    assert all(m.qos == 1 for m in states)
    status = [m.payload for m in got.messages if str(m.topic) == f"{root}/status"]
    assert status == [b"online", b"offline"]
    await clear_retained(mosquitto, f"{root}/status")


async def test_value_payload_and_retained_states(
    mosquitto: tuple[str, int], context: SinkContext
) -> None:
    root = unique()
    readings = typical()[:2]

    s = sink(
        mosquitto, context, topic=root + "/{meter}/{address}", payload="value", retain=True,
        availability_topic=root + "/status",
    )  # fmt: skip
    try:
        assert (await s.write(batch(readings))).accepted == 2
    finally:
        await s.close()
    # Subscribed only now: the broker hands over the retained states.
    async with subscribed(mosquitto, f"{root}/12345678/#") as got:
        await got.until(lambda: len(got.messages) == 2)
    values = {str(m.topic): m.payload for m in got.messages}
    assert values == {f"{root}/12345678/1.8.0": b"42951.721", f"{root}/12345678/2.8.0": b"17.5"}
    assert all(m.retain for m in got.messages)
    # Clean up the retained messages of this run.
    async with aiomqtt.Client(*mosquitto) as client:
        for topic in (*values, f"{root}/status"):
            await client.publish(topic, b"", qos=1, retain=True)


async def test_home_assistant_discovery(mosquitto: tuple[str, int], context: SinkContext) -> None:
    root = unique()
    prefix = f"{root}-ha"
    readings = typical()

    async with subscribed(mosquitto, f"{prefix}/#", f"{root}/#") as got:
        s = sink(
            mosquitto, context, topic=root + "/{meter}/{name_or_address}",
            availability_topic=root + "/status", discovery=True, discovery_prefix=prefix,
            names={"1.8.0": "Import total"},
        )  # fmt: skip
        try:
            assert (await s.write(batch(readings))).accepted == len(readings)
            assert (await s.write(batch(readings))).accepted == len(readings)  # announced once
        finally:
            await s.close()
        await got.until(lambda: len(got.messages) >= 9 + 2 * len(readings) + 2)
        await mqtt_flushed(mosquitto, f"{root}/quiet", got.messages)
    configs = {
        str(m.topic): json.loads(m.payload)  # type: ignore[arg-type]
        for m in got.messages
        if str(m.topic).startswith(prefix)
    }
    assert len([m for m in got.messages if str(m.topic).startswith(prefix)]) == 9
    # Load-profile intervals are history, not a sensor's state: not announced.
    assert not any("P_01" in topic for topic in configs)
    node = "iec_poller_12345678"
    energy = configs[f"{prefix}/sensor/{node}/1_8_0/config"]
    assert energy["name"] == "Import total"
    assert energy["device_class"] == "energy"
    assert energy["state_class"] == "total_increasing"
    assert energy["unit_of_measurement"] == "kWh"
    assert energy["state_topic"] == f"{root}/12345678/Import total"
    assert energy["availability_topic"] == f"{root}/status"
    assert energy["unique_id"] == f"{node}_1_8_0"
    assert energy["value_template"] == "{{ value_json.value | replace(',', '.') | float }}"
    assert energy["device"] == {
        "identifiers": [node],
        "name": "Meter 12345678",
        "serial_number": "12345678",
        "manufacturer": "Landis+Gyr",
        "model": "ZMD3104407.B32",
    }
    power = configs[f"{prefix}/sensor/{node}/1_7_0/config"]
    assert (power["device_class"], power["state_class"], power["unit_of_measurement"]) == (
        "power", "measurement", "kW",
    )  # fmt: skip
    voltage = configs[f"{prefix}/sensor/{node}/32_7/config"]
    assert (voltage["device_class"], voltage["unit_of_measurement"]) == ("voltage", "V")
    current = configs[f"{prefix}/sensor/{node}/31_7/config"]
    assert (current["device_class"], current["unit_of_measurement"]) == ("current", "A")
    gas = configs[f"{prefix}/sensor/iec_poller_gas-1/7-0_3_0_0/config"]
    assert (gas["device_class"], gas["state_class"], gas["unit_of_measurement"]) == (
        "gas", "total_increasing", "m³",
    )  # fmt: skip
    assert gas["device"]["manufacturer"] == "Elster"
    assert gas["device"]["model"] == "GAS200"
    status = configs[f"{prefix}/sensor/{node}/F_F/config"]
    assert "device_class" not in status
    assert "unit_of_measurement" not in status
    assert "state_class" not in status
    clock = configs[f"{prefix}/sensor/{node}/0_9_1/config"]  # text, not a number
    assert clock["value_template"] == "{{ value_json.value }}"
    history = configs[f"{prefix}/sensor/{node}/1_8_0_12/config"]
    assert history["device_class"] == "energy"
    assert "state_class" not in history  # a past total is not a running one
    # Retained: a Home Assistant started later still learns every sensor.
    async with subscribed(mosquitto, f"{prefix}/#") as later:
        await later.until(lambda: len(later.messages) == 9)
    assert all(m.retain for m in later.messages)
    async with aiomqtt.Client(*mosquitto) as client:  # remove this run's retained configs
        for topic in (*configs, f"{root}/status"):
            await client.publish(topic, b"", qos=1, retain=True)


def test_water_meter_by_obis_medium(mosquitto: tuple[str, int], context: SinkContext) -> None:
    from poller.sinks._discovery import discovery_config

    from .conftest import reading

    settings = MqttSettings(type="mqtt", discovery=True)
    water = reading("8-0:1.0.0", "00012.345", "m3", meter="w1")
    plain = reading("3.0.0", "00012.345", "m3", meter="w2")
    for item, expected in ((water, "water"), (plain, "gas")):
        found = discovery_config(item, item.to_record() | {"name": None}, "t", settings, "s")
        assert found is not None
        assert found[1]["device_class"] == expected
    water_settings = MqttSettings(type="mqtt", volume_class="water")
    found = discovery_config(plain, plain.to_record() | {"name": None}, "t", water_settings, "s")
    assert found is not None
    assert found[1]["device_class"] == "water"


async def test_broker_down_then_back_nothing_lost(
    private_broker: PrivateMosquitto, context: SinkContext
) -> None:
    address = ("127.0.0.1", private_broker.port)
    readings = many(90)
    delivered: set[str] = set()

    def keys(collector: Collector) -> set[str]:
        return {p["key"] for p in collector.payloads("data/")}

    async def body() -> None:
        s = sink(address, context, topic="data/{meter}/{address}", timeout=3.0)
        try:
            async with subscribed(address, "data/#") as got:
                assert (await s.write(batch(readings[:30]))).accepted == 30
                await got.until(lambda: len(keys(got)) == 30)
                delivered.update(keys(got))
                private_broker.stop()  # killed: no goodbye
                down = await s.write(batch(readings[30:60]))
                assert down.accepted + len(down.retry) == 30
                assert down.retry  # what was not acknowledged comes back for the spool
                with pytest.raises(SinkUnavailableError):
                    await s.connect()
                again = await s.write(batch(list(down.retry)))
                assert again.retry == down.retry
        except aiomqtt.MqttError:
            pass  # the subscriber saw the broker die
        private_broker.start()
        async with subscribed(address, "data/#") as got:
            backlog = await s.write(batch(list(down.retry) + readings[60:]))
            assert backlog.accepted == len(down.retry) + 30
            assert not backlog.retry
            await got.until(lambda: len(keys(got)) == backlog.accepted)
            delivered.update(keys(got))
        await s.close()

    await body()
    assert delivered == {r.key for r in readings}


async def test_last_will_says_offline_when_the_daemon_dies(
    private_broker: PrivateMosquitto, tmp_path: Path
) -> None:
    address = ("127.0.0.1", private_broker.port)
    script = tmp_path / "daemon.py"
    script.write_text(
        f"""
import asyncio, sys
from pathlib import Path
from poller.sinks._contract import SinkContext
from poller.sinks.mqtt import MqttSettings, MqttSink

async def main() -> None:
    s = MqttSink(MqttSettings(type="mqtt", port={address[1]}, keepalive=5,
                              availability_topic="dead/status"), SinkContext(Path(".")))
    await s.connect()
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    )

    async with subscribed(address, "dead/status") as got:
        process = subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = b""
            while line.strip() != b"ready":  # after the sink's own log lines
                line = await asyncio.to_thread(process.stdout.readline)
                assert line, "the daemon stopped before it was ready"
            await got.until(lambda: [m.payload for m in got.messages] == [b"online"])
            process.kill()  # SIGKILL: the socket closes without DISCONNECT
            await got.until(lambda: [m.payload for m in got.messages] == [b"online", b"offline"])
        finally:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


async def test_unreachable_broker_and_the_password_never_shown(context: SinkContext) -> None:
    address = ("127.0.0.1", free_port())

    s = sink(address, context, username="meter", password="m0sq-secret")
    with pytest.raises(SinkUnavailableError) as caught:
        await s.connect()
    assert "m0sq-secret" not in str(caught.value)
    result = await s.write(batch(many(3)))
    assert len(result.retry) == 3
    assert "m0sq-secret" not in (result.retry_reason or "")
    assert "m0sq-secret" not in repr(s) + repr(s.settings)
    await s.close()


async def test_publish_rate(mosquitto: tuple[str, int], context: SinkContext) -> None:
    root = unique()
    # Below mosquitto's default max_queued_messages (1000) for one subscriber: a
    # subscriber slowed by a loaded machine must not make the broker drop messages.
    # The sink's rate proper is measured by make bench.
    readings: list[Reading] = many(900)

    async def body() -> float:
        async with subscribed(mosquitto, f"{root}/#") as got:
            s = sink(
                mosquitto,
                context,
                topic=root + "/{meter}/{address}",
                availability_topic=root + "/status",
            )
            try:
                await s.connect()
                started = time.perf_counter()
                for start in range(0, len(readings), 300):
                    assert (await s.write(batch(readings[start : start + 300]))).accepted == 300
                elapsed = time.perf_counter() - started
            finally:
                await s.close()
            await got.until(lambda: len(got.messages) >= len(readings) + 2, timeout=20)
        await clear_retained(mosquitto, f"{root}/status")
        keys = {p["key"] for p in got.payloads(f"{root}/12345678")}
        assert keys == {r.key for r in readings}
        return elapsed

    elapsed = await body()
    print(f"mqtt: {len(readings) / elapsed:,.0f} readings/s acknowledged at QoS 1")
