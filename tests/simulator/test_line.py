"""What a UART makes of characters at the wrong rate or framing; push meters on a bus."""

from __future__ import annotations

import dataclasses

import pytest

from poller.simulator import (
    LineSettings,
    PasswordSpec,
    SimulatorConfigError,
    get_profile,
    hear,
)

from .helpers import ScriptedClient

REQUEST = b"/?123!\r\n"


def test_same_settings_hear_the_bytes() -> None:
    assert hear(REQUEST, LineSettings(300), LineSettings(300)) == REQUEST


def test_other_rate_hears_junk_that_never_starts_a_frame() -> None:
    heard = hear(REQUEST, LineSettings(9600), LineSettings(300))
    assert len(heard) == len(REQUEST)
    assert not {b & 0x7F for b in heard} & {0x01, 0x02, 0x06, 0x15, ord("/")}


def test_7e1_read_at_8n1_carries_parity_and_8n1_read_at_7e1_loses_characters() -> None:
    as_8n1 = hear(b"/", LineSettings(300, "7E1"), LineSettings(300, "8N1"))
    assert as_8n1 == b"\xaf"
    # '/' (five one bits) arrives with bit 7 clear: a parity error, dropped.
    assert hear(b"/?", LineSettings(300, "8N1"), LineSettings(300, "7E1")) == b"?"


def test_push_meter_keeps_pushing_while_the_client_talks() -> None:
    spec = get_profile("emh-ehz")
    client = ScriptedClient.on(spec)
    client.set_line(2400)
    client.wait_until(2.05)  # the first telegram has begun
    client.send(b"\x00" * 10)
    client.wait_until(3.5)
    log = [e for e in client.bus.log if e.source == spec.address]
    assert len(log) == 1
    assert not log[0].note
    assert client.meters[0].next_deadline() == pytest.approx(4.0)


def test_unknown_password_scheme_is_refused() -> None:
    spec = get_profile("emh-lzqj")
    with pytest.raises(SimulatorConfigError) as info:
        dataclasses.replace(spec, password=PasswordSpec(scheme="nope"))
    assert info.value.field == "password.scheme"
