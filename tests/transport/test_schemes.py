"""Schemes from the ``iec_poller.transports`` entry points, found when first used."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from poller.transport import (
    ENTRY_POINT_GROUP,
    PortOptions,
    PortUnavailableError,
    load_scheme,
    port_for_url,
    port_schemes,
)
from poller.transport import _url as url_registry

from .test_units import ManualPort

NOT_A_FACTORY = 42


def fake_factory(url: str, options: PortOptions) -> ManualPort:
    return ManualPort(url)


def point(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)


def test_a_scheme_from_an_entry_point_is_found() -> None:
    points = [point("other", "os:getcwd"), point("Fake", f"{__name__}:fake_factory")]
    assert load_scheme("fake", points) is fake_factory
    assert load_scheme("FAKE://", points) is fake_factory
    assert load_scheme("nope", points) is None


def test_an_entry_point_that_is_no_factory_or_twice_is_refused() -> None:
    with pytest.raises(TypeError, match="not a port factory"):
        load_scheme("bad", [point("bad", f"{__name__}:NOT_A_FACTORY")])
    twice = [point("dup", f"{__name__}:fake_factory"), point("dup", "os:getcwd")]
    with pytest.raises(TypeError, match="more than once"):
        load_scheme("dup", twice)


def test_sim_registers_itself_as_any_plug_in_does() -> None:
    from poller.simulator._url import sim_port

    assert load_scheme("sim") is sim_port
    assert "sim" in port_schemes()
    assert {"socket", "rfc2217"} <= set(port_schemes())


def test_an_unknown_scheme_is_looked_up_and_a_broken_plug_in_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = (
        point("fake", f"{__name__}:fake_factory"),
        point("broken", "no.such.module:factory"),
    )
    monkeypatch.setattr(url_registry, "_installed", lambda: installed)
    monkeypatch.setattr(url_registry, "_SCHEMES", dict(url_registry._SCHEMES))
    port = port_for_url("fake://x", options=PortOptions(echo=True))
    assert isinstance(port.inner, ManualPort)
    assert port.options == PortOptions(echo=True)
    assert "fake" in url_registry._SCHEMES  # loaded once, then registered
    with pytest.raises(PortUnavailableError, match="broken:// not loaded: ModuleNotFound") as e:
        port_for_url("broken://user:pw@host:1")
    assert "pw" not in str(e.value)


def test_importing_the_transport_imports_no_simulator() -> None:
    check = (
        "import sys, poller.transport as t\n"
        "assert not [m for m in sys.modules if m.startswith('poller.simulator')]\n"
        "t.port_for_url('sim://lg-zmd?clock=manual')\n"
        "assert 'poller.simulator._url' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)
