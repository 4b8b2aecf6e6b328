"""MeterSettings: the session's fields with the session's defaults and checks, plus the engine's."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from poller.engine import EngineOptions, MeterSettings
from poller.protocol import Mode, Password, SessionConfig, SessionMode
from poller.util import copied_fields


def test_the_session_fields_keep_the_session_defaults():
    meter, session = MeterSettings(address="1"), SessionConfig()
    for ours, theirs in copied_fields(MeterSettings, SessionConfig).items():
        if ours != "address":
            assert getattr(meter, ours) == getattr(session, theirs), ours
    assert copied_fields(MeterSettings, SessionConfig)["timeout"] == "reply_timeout"


def test_the_address_is_required():
    with pytest.raises(TypeError):
        MeterSettings()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timeout": 0}, "^timeout must be a positive number of seconds$"),
        ({"session_timeout": float("inf")}, "^session_timeout must be a positive number"),
        ({"switch_delay": -1}, "^switch_delay must be zero or more seconds$"),
        ({"client_reaction_time": 2}, "^client_reaction_time must be within 0-1.5 s$"),
        ({"max_repeats": -1}, "^max_repeats cannot be negative$"),
        ({"retries": -1}, "^retries cannot be negative$"),
        ({"fallback_after": -1}, "^fallback_after cannot be negative$"),
        ({"max_baud": 1000}, "^max_baud must be a mode C rate: 300, "),
        ({"fallback_baud": 1000}, "^fallback_baud must be a mode C rate: 300, "),
        ({"password_scheme": "no-such"}, "unknown password scheme 'no-such'"),
        ({"profile_backfill": dt.timedelta(0)}, "^profile_backfill must be positive$"),
        ({"profile_max_span": dt.timedelta(-1)}, "^profile_max_span must be positive$"),
        ({"registers": ("1.8.0",)}, "read in mode 'programming'"),
        (
            {"mode": SessionMode.PROGRAMMING, "registers": ("1.8.0",), "force_mode": Mode.A},
            "programming needs mode C",
        ),
    ],
)
def test_checks_name_the_engine_field(changes, message):
    with pytest.raises(ValueError, match=message):
        MeterSettings(address="1", **changes)


def test_the_address_is_checked_by_the_protocol():
    with pytest.raises(ValueError, match="invalid address: only 0-9"):
        MeterSettings(address="bad!")


def test_a_password_must_be_a_password():
    with pytest.raises(TypeError, match=r"^password must be a Password"):
        MeterSettings(address="1", password="secret")  # type: ignore[arg-type]


def test_session_config_copies_the_session_fields():
    meter = MeterSettings(
        address="42",
        mode=SessionMode.PROGRAMMING,
        password=Password("00000000"),
        registers=("1.8.0",),
        timeout=2.5,
        max_repeats=1,
        switch_delay=0.05,
        client_reaction_time=0.3,
        push_timeout=9.0,
        max_baud=4800,
        wake_up=True,
    )
    config = meter.session_config(commands=meter.register_requests(), max_baud=2400)
    assert config.mode is SessionMode.PROGRAMMING
    assert (config.address, config.reply_timeout, config.max_repeats) == ("42", 2.5, 1)
    assert (config.switch_delay, config.client_reaction_time, config.push_timeout) == (
        0.05,
        0.3,
        9.0,
    )
    assert (config.max_baud, config.wake_up, config.password) == (2400, True, meter.password)
    readout = meter.session_config()
    assert (readout.mode, readout.password, readout.max_baud) == (SessionMode.READOUT, None, 4800)
    assert meter.session_config(push=True).mode is SessionMode.PUSH
    assert dataclasses.replace(
        meter, mode=SessionMode.PUSH, registers=()
    ).session_config().mode is (SessionMode.PUSH)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unreachable_after": 0}, "^unreachable_after must be at least 1$"),
        ({"probe_interval": 0}, "^probe_interval must be a positive number of seconds$"),
        ({"stop_timeout": float("nan")}, "^stop_timeout must be a positive number of seconds$"),
    ],
)
def test_engine_options_check_their_fields(changes, message):
    with pytest.raises(ValueError, match=message):
        EngineOptions(**changes)
