"""Loading configurations into the engine's objects, schedules and sinks."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from poller.config import (
    AnySink,
    ConfigError,
    config_json_schema,
    load_config,
    parse_config,
)
from poller.engine import EngineOptions, ReadKind
from poller.protocol import LineFraming, Mode, Password, SessionMode
from poller.schedule import CronSchedule, DailySchedule, EverySchedule, get_zone
from poller.transport import PortOptions, PortUnavailableError, RS485Options, register_scheme
from poller.util import Backoff

REPO = Path(__file__).resolve().parents[2]

SIMPLEST = """\
state_dir: /var/lib/iec-poller
buses:
  - name: cabinet-1
    port: /dev/ttyUSB0          # or socket://host:port, rfc2217://host:port, sim://PROFILE
    meters:
      - address: "12345678"
        name: flat-1
    schedule: {every: 15m}      # or {cron: "*/15 * * * *"}
sinks:
  - type: jsonl
    path: /var/lib/iec-poller/readings.jsonl
"""


class JsonlModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["jsonl"]
    path: str


class MqttModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = 1883
    password: SecretStr | None = None


SINKS = {"jsonl": JsonlModel, "mqtt": MqttModel}


def parse(text, **kwargs):
    kwargs.setdefault("sink_models", SINKS)
    return parse_config(text, filename="test.yaml", **kwargs)


def problems(text, **kwargs):
    with pytest.raises(ConfigError) as caught:
        parse(text, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_the_simplest_configuration():
    config = parse(SIMPLEST)
    assert config.state_dir == "/var/lib/iec-poller"
    assert (config.log.level, config.log.format) == ("info", "auto")
    assert (config.http.enabled, config.http.host, config.http.port) == (True, "127.0.0.1", 9462)
    bus = config.buses[0]
    [meter] = bus.meter_settings()
    assert (meter.address, meter.name, meter.mode) == ("12345678", "flat-1", SessionMode.READOUT)
    assert bus.port_options() == PortOptions()
    assert bus.engine_options().unreachable_after == EngineOptions().unreachable_after
    assert config.sinks == [JsonlModel(type="jsonl", path="/var/lib/iec-poller/readings.jsonl")]
    [read] = config.scheduled_reads()
    assert (read.bus, read.address, read.kind, read.meter) == (
        "cabinet-1",
        "12345678",
        None,
        "flat-1",
    )
    assert isinstance(read.schedule, EverySchedule)
    assert read.schedule.interval == dt.timedelta(minutes=15)


def test_every_meter_setting_maps_onto_meter_settings(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    config = parse(
        """\
timezone: Europe/Berlin
buses:
  - name: b
    port: socket://10.0.0.5:4001
    echo: true
    rs485: {delay_before_send_ms: 2}
    exclusive: false
    inter_byte_read: 20ms
    unreachable_after: 3
    probe_interval: 10m
    reopen_backoff: {initial: 2s, maximum: 1m}
    stop_timeout: 5
    recorder_size: 16
    schedule: {cron: "*/5 * * * *"}
    meter_defaults:
      mode: programming
      password_file: pw
      retries: 4
      timezone: Europe/Berlin
    meters:
      - address: "06417290"
        name: main
        password_scheme: elster-a1140
        registers: ["1.8.0", "2.8.0"]
        profiles: [P.01]
        profile_backfill: 2d
        profile_max_span: 6h
        max_baud: 4800
        framing: 8N1
        wake_up: true
        timeout: 1500ms
        session_timeout: 2m
        max_repeats: 1
        backoff: {initial: 1s, factor: 3}
        switch_delay: 0.05
        client_reaction_time: 300ms
        force_mode: C
        fallback_after: 0
        fallback_baud: 2400
        push_timeout: 10s
        profile_schedule: {daily: "00:05"}
      - address: "2"
        mode: readout
        retries: 0
        password: inline
sinks: [{type: mqtt}]
""",
        base_dir=tmp_path,
    )
    bus = config.buses[0]
    assert bus.port_options() == PortOptions(
        echo=True,
        rs485=RS485Options(delay_before_send_ms=2),
        exclusive=False,
        inter_byte_read=0.02,
    )
    options = bus.engine_options()
    assert (options.unreachable_after, options.probe_interval, options.stop_timeout) == (3, 600, 5)
    assert options.recorder_size == 16
    assert options.reopen_backoff == Backoff(initial=2.0, maximum=60.0, factor=2.0, jitter=0.1)
    main, second = bus.meter_settings()
    assert main.mode is SessionMode.PROGRAMMING
    assert main.password == Password("s3cret")
    assert main.password_scheme == "elster-a1140"
    assert (main.registers, main.profiles) == (("1.8.0", "2.8.0"), ("P.01",))
    assert main.profile_backfill == dt.timedelta(days=2)
    assert main.profile_max_span == dt.timedelta(hours=6)
    assert (main.max_baud, main.framing, main.wake_up) == (4800, LineFraming.BITS_8N1, True)
    assert (main.timeout, main.session_timeout, main.max_repeats, main.retries) == (1.5, 120, 1, 4)
    assert main.backoff == Backoff(initial=1.0, maximum=300.0, factor=3.0, jitter=0.0)
    assert (main.switch_delay, main.client_reaction_time, main.force_mode) == (0.05, 0.3, Mode.C)
    assert (main.fallback_after, main.fallback_baud, main.push_timeout) == (0, 2400, 10)
    assert main.timezone == get_zone("Europe/Berlin")
    # The meter's own settings win over the bus's defaults, secrets included.
    assert (second.mode, second.retries, second.password) == (
        SessionMode.READOUT,
        0,
        Password("inline"),
    )
    reads = config.scheduled_reads()
    assert [(r.address, r.kind, type(r.schedule)) for r in reads] == [
        ("06417290", None, CronSchedule),
        ("06417290", ReadKind.PROFILE, DailySchedule),
        ("2", None, CronSchedule),
    ]
    assert reads[0].schedule.timezone == get_zone("Europe/Berlin")
    assert "s3cret" not in repr(config)
    assert "inline" not in repr(config)


def test_named_schedules_and_per_meter_overrides():
    config = parse(
        """\
timezone: UTC
schedules:
  quarter: {every: 15m}
  hourly: {every: 1h, offset: 5m, timezone: Europe/Berlin}
buses:
  - name: b
    port: sim://lg-zmd?count=2
    schedule: quarter
    meters:
      - {address: "31002781"}
      - {address: "31002782", schedule: hourly}
sinks: [{type: jsonl, path: x}]
"""
    )
    first, second = config.scheduled_reads()
    assert first.schedule == EverySchedule(dt.timedelta(minutes=15), get_zone("UTC"))
    assert second.schedule == EverySchedule(
        dt.timedelta(hours=1), get_zone("Europe/Berlin"), dt.timedelta(minutes=5)
    )


def test_environment_interpolation():
    config = parse(
        SIMPLEST.replace("/dev/ttyUSB0", "${PORT}")
        .replace("name: flat-1", "name: ${NAME:-flat-9}")
        .replace("state_dir: /var/lib/iec-poller", "state_dir: $${literal}"),
        environ={"PORT": "/dev/ttyUSB3"},
    )
    assert config.buses[0].port == "/dev/ttyUSB3"
    assert config.buses[0].meters[0].name == "flat-9"
    assert config.state_dir == "${literal}"


def test_interpolated_numbers_are_numbers():
    text = SIMPLEST.replace("    meters:", "    unreachable_after: ${N}\n    meters:")
    assert parse(text, environ={"N": "7"}).buses[0].unreachable_after == 7


def test_undefined_variable_names_the_path_not_a_value():
    text = SIMPLEST.replace('"12345678"', '"${SERIAL}"')
    assert problems(text, environ={}) == [
        "test.yaml:6:18: buses[0].meters[0].address: environment variable SERIAL is not set"
        " (and has no default)"
    ]


def test_password_values_never_appear_in_errors():
    text = SIMPLEST.replace(
        "        name: flat-1",
        "        name: flat-1\n        password: ${PW}\n        password_file: x",
    )
    found = problems(text, environ={"PW": "topsecret"})
    assert all("topsecret" not in p for p in found)


def test_sink_validation_is_pluggable_and_located():
    text = SIMPLEST.replace("    path: /var", "    pth: /var").replace("type: jsonl", "type: jsonl")
    assert problems(text) == [
        "test.yaml:10:5: sinks[0].path: missing required key 'path'",
        "test.yaml:11:5: sinks[0].pth: unknown key 'pth'; did you mean 'path'?",
    ]
    text = SIMPLEST.replace("type: jsonl", "type: jsnl")
    assert problems(text) == [
        "test.yaml:10:11: sinks[0].type: unknown sink type 'jsnl' (did you mean 'jsonl'?);"
        " known: jsonl, mqtt"
    ]
    text = SIMPLEST + "  - type: mqtt\n    password: 12345\n"
    [problem] = problems(text)
    assert problem.startswith("test.yaml:13:15: sinks[1].password: expected a valid string")
    assert "12345" not in problem


def test_without_sink_models_any_typed_mapping_is_accepted():
    config = parse(SIMPLEST, sink_models={"jsonl": AnySink})
    assert config.sinks[0].model_dump() == {
        "type": "jsonl",
        "path": "/var/lib/iec-poller/readings.jsonl",
    }


def test_engine_checks_surface_as_problems():
    text = SIMPLEST.replace(
        "        name: flat-1", "        name: flat-1\n        registers: [1.8.0]"
    )
    assert problems(text) == [
        "test.yaml:6:9: buses[0].meters[0]: registers and profiles are read in mode 'programming'"
    ]


def test_profile_schedule_needs_profiles():
    text = SIMPLEST.replace(
        "        name: flat-1", '        name: flat-1\n        profile_schedule: {daily: "00:05"}'
    )
    assert problems(text) == [
        "test.yaml:8:27: buses[0].meters[0].profile_schedule: profile_schedule needs mode:"
        " programming and profiles to collect"
    ]


def test_merge_keys_and_anchors_keep_positions():
    config = parse(
        """\
buses:
  - name: b
    port: /dev/ttyUSB0
    schedule: {every: 15m}
    meters:
      - &meter {mode: readout, retries: 1, address: "1"}
      - {<<: *meter, address: "2"}
sinks: [{type: jsonl, path: x}]
"""
    )
    assert [m.retries for m in config.buses[0].meter_settings()] == [1, 1]
    found = problems(
        """\
buses:
  - name: b
    port: /dev/ttyUSB0
    schedule: {every: 15m}
    meter_defaults: &d {retries: 1}
    meters:
      - {<<: *d, address: "1", retrys: 2}
sinks: [{type: jsonl, path: x}]
"""
    )
    assert found == [
        "test.yaml:7:32: buses[0].meters[0].retrys: unknown key 'retrys'; did you mean 'retries'?"
    ]


def test_empty_and_non_mapping_documents():
    assert problems("") == [
        "test.yaml: (top level): the file is empty;"
        " expected a mapping with at least buses and sinks"
    ]
    assert problems("- a\n")[0].startswith(
        "test.yaml:1:1: (top level): the top level is not a mapping"
    )


@pytest.mark.parametrize("name", ["example.yaml", "demo.yaml"])
def test_shipped_configurations_load(name, tmp_path, monkeypatch):
    source = REPO / "config" / name
    # The example's password file is relative to the configuration's directory.
    copy = tmp_path / name
    copy.write_text(source.read_text())
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "house-main.pw").write_text("00000000\n")
    monkeypatch.delenv("MQTT_HOST", raising=False)
    config = load_config(copy)
    assert config.scheduled_reads()
    for bus in config.buses:
        assert bus.meter_settings()
        bus.port_options()
        bus.engine_options()


def test_demo_runs_on_the_simulator_within_seconds():
    config = load_config(REPO / "config" / "demo.yaml")
    assert all(bus.port.startswith("sim://") for bus in config.buses)
    for read in config.scheduled_reads():
        first, second = read.schedule.upcoming(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 2)
        assert second - first <= dt.timedelta(minutes=1)
    assert {getattr(s, "type", None) for s in config.sinks} == {"console", "sqlite"}


def test_json_schema_lists_sink_types():
    schema = config_json_schema(SINKS)
    choices = schema["properties"]["sinks"]["items"]["oneOf"]
    assert choices == [{"$ref": "#/$defs/sink-jsonl"}, {"$ref": "#/$defs/sink-mqtt"}]
    assert schema["$defs"]["sink-mqtt"]["properties"]["type"] == {"const": "mqtt"}
    meter = schema["$defs"]["MeterConfig"]
    assert meter["additionalProperties"] is False
    assert "address" in meter["required"]
    assert "password_file" in meter["properties"]


def test_load_config_reports_an_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read: No such file"):
        load_config(tmp_path / "nope.yaml")


def test_secret_file_relative_to_the_configuration(tmp_path):
    (tmp_path / "meter.pw").write_text("")
    text = SIMPLEST.replace(
        "        name: flat-1", "        name: flat-1\n        password_file: meter.pw"
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, sink_models=SINKS)
    assert str(caught.value) == (
        f"{path}:8:24: buses[0].meters[0].password_file: the secret file {tmp_path / 'meter.pw'}"
        " is empty"
    )
    assert os.environ.get("IEC_POLLER_NEVER_SET") is None


def test_a_port_scheme_a_plugin_registers_is_accepted_and_checked():
    built: list[str] = []

    def factory(url: str, options: PortOptions) -> object:
        built.append(url)
        if "bad" in url:
            raise PortUnavailableError(url, "no such gateway")
        return object()

    text = SIMPLEST.replace("/dev/ttyUSB0", "lora://gw-1")
    with pytest.raises(ConfigError, match="unknown port scheme lora://"):
        parse_config(text)
    unregister = register_scheme("lora", factory)  # type: ignore[arg-type]
    try:
        config = parse_config(text)
        assert config.buses[0].port == "lora://gw-1"
        assert built == ["lora://gw-1"]
        with pytest.raises(ConfigError, match="not a usable lora:// URL: no such gateway"):
            parse_config(text.replace("gw-1", "bad"))
    finally:
        unregister()
