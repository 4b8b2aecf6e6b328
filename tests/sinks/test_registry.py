"""Sinks are found through entry points; a broken plug-in is reported, not fatal."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from poller.sinks import (
    ENTRY_POINT_GROUP,
    SinkContext,
    SinkSettings,
    UnknownSinkError,
    _registry,
    build_sink,
    sink_config_models,
    sink_load_errors,
)
from poller.sinks.jsonl import JsonlSettings, JsonlSink
from poller.sinks.sqlite import SqliteSink


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    # Other tests may have configured structlog for the process; capture_logs needs defaults.
    structlog.reset_defaults()
    _registry._reset()
    yield
    _registry._reset()
    structlog.reset_defaults()


def test_the_built_in_sinks_register_through_entry_points() -> None:
    models = sink_config_models()
    for name in ("console", "jsonl", "csv", "sqlite"):
        assert models[name].model_fields["type"].default == name
        assert issubclass(models[name], SinkSettings)
    assert models["jsonl"] is JsonlSettings
    assert "jsonl" not in sink_load_errors()


def test_a_broken_plug_in_is_reported_and_the_others_load(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _registry.entry_points(group=ENTRY_POINT_GROUP)
    extra = [
        EntryPoint("broken", "no_such_module_here:Sink", ENTRY_POINT_GROUP),
        EntryPoint("notasink", "pathlib:Path", ENTRY_POINT_GROUP),
        EntryPoint("misnamed", "poller.sinks.jsonl:JsonlSink", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(_registry, "entry_points", lambda group: [*real, *extra])

    with capture_logs() as logs:
        models = sink_config_models()
    assert {"console", "jsonl", "csv", "sqlite"} <= set(models)
    errors = sink_load_errors()
    assert set(errors) >= {"broken", "notasink", "misnamed"}
    assert "No module named" in errors["broken"]
    assert "not a sink class" in errors["notasink"]
    assert "declares type 'jsonl'" in errors["misnamed"]
    reported = {e["type"] for e in logs if e["event"] == "sink plug-in not loaded"}
    assert reported >= {p.name for p in extra}
    with pytest.raises(UnknownSinkError, match="could not be loaded: ModuleNotFoundError"):
        build_sink(SinkSettings(type="broken"), SinkContext(Path(".")))


def test_build_sink_makes_the_registered_class(tmp_path: Path) -> None:
    context = SinkContext(tmp_path)
    sink = build_sink(SinkSettings.model_validate({"type": "sqlite"}), context)
    assert isinstance(sink, SqliteSink)
    assert sink.path == tmp_path / "readings.sqlite"
    typed = build_sink(JsonlSettings(path=Path("/var/x.jsonl"), name="archive"), context)
    assert isinstance(typed, JsonlSink)
    assert typed.settings.sink_id == "archive"
    with pytest.raises(UnknownSinkError, match="no sink of type 'nope' is installed"):
        build_sink(SinkSettings(type="nope"), context)


def test_a_configuration_imports_only_the_sinks_it_uses() -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from poller.config import parse_config\n"
        'parse_config(\'buses: [{name: a, port: "sim://lg-zmd", meters: [{address: "1"}],'
        " schedule: {every: 15m}}]\\nsinks: [{type: sqlite}]\\n')\n"
        "print(sorted(m for m in ('asyncpg', 'aiomqtt', 'httpx') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
