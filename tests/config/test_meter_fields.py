"""The meter keys take what they allow from the engine's and the protocol's descriptions."""

from __future__ import annotations

import dataclasses
import typing

import annotated_types
import pytest

from poller.config import BusConfig, MeterConfig, MeterOptions
from poller.config._types import BaudRate, like_field, one_of
from poller.engine import EngineOptions, MeterSettings
from poller.protocol import MODE_C_RATES, LineFraming, Mode, SessionMode
from poller.util import limits_of


def choices(name: str) -> set[object]:
    hint = typing.get_type_hints(MeterOptions)[name]
    [literal] = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return set(typing.get_args(literal))


def test_one_of_is_a_literal():
    assert one_of(["a", "b"]) == typing.Literal["a", "b"]


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("mode", {m.value for m in SessionMode}),
        ("framing", {f.value for f in LineFraming}),
        ("force_mode", {m.value for m in Mode}),
        ("max_baud", set(MODE_C_RATES.values())),
        ("fallback_baud", set(MODE_C_RATES.values())),
    ],
)
def test_spellings_come_from_the_enums_and_the_rate_table(key, values):
    assert choices(key) == values
    assert set(typing.get_args(BaudRate)) == set(MODE_C_RATES.values())


def test_lower_limits_come_from_meter_settings():
    engine_fields = {f.name for f in dataclasses.fields(MeterSettings)}
    bounded = 0
    for name, info in MeterOptions.model_fields.items():
        if name not in engine_fields:
            continue
        limits = limits_of(MeterSettings, name)
        given = {type(m): m for m in info.metadata}
        if limits is None:
            assert annotated_types.Gt not in given
            assert annotated_types.Ge not in given
            continue
        bounded += 1
        assert getattr(given.get(annotated_types.Gt), "gt", None) == limits.gt, name
        assert getattr(given.get(annotated_types.Ge), "ge", None) == limits.ge, name
    assert bounded == 8  # timeout ... push_timeout: every numeric engine or session field


@pytest.mark.parametrize(
    ("key", "bound"),
    [("unreachable_after", ("ge", 1)), ("probe_interval", ("gt", 0)), ("stop_timeout", ("gt", 0))],
)
def test_bus_keys_take_default_and_limit_from_engine_options(key, bound):
    info = BusConfig.model_fields[key]
    assert info.default == getattr(EngineOptions(), key)
    [limit] = [m for m in info.metadata if isinstance(m, annotated_types.Gt | annotated_types.Ge)]
    assert getattr(limit, bound[0]) == bound[1]


def test_like_field_inherits_or_takes_the_default():
    assert like_field(EngineOptions, "stop_timeout").default == EngineOptions().stop_timeout
    inherited = like_field(MeterSettings, "timeout", inherit=True)
    assert inherited.default is None
    assert like_field(MeterSettings, "wake_up").default is False  # no limit: none given
    assert not like_field(MeterSettings, "wake_up").metadata


def test_every_meter_key_is_a_meter_settings_field():
    engine = {f.name for f in dataclasses.fields(MeterSettings)}
    keys = set(MeterConfig.model_fields)
    assert keys - engine == {"password_file", "schedule", "profile_schedule"}
    # Set from the bus's profile_schedule, not by a key of its own.
    assert engine - keys == {"profiles_with_registers"}
