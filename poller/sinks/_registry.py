"""Finding sinks: every type, built in or not, is an entry point in ``iec_poller.sinks``.

An entry point names a class with a ``settings_model`` (a ``SinkSettings`` subclass
whose ``type`` is the entry point's name) that is built as ``cls(settings, context)``.
One that does not import or does not fit is logged and left out, with its error kept
for ``sink_load_errors``: a broken plug-in must not take the other sinks down.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final

import structlog

from ._contract import Sink, SinkContext, SinkSettings, settings_as

__all__ = [
    "ENTRY_POINT_GROUP",
    "UnknownSinkError",
    "build_sink",
    "sink_classes",
    "sink_config_model",
    "sink_config_models",
    "sink_load_errors",
    "sink_type_names",
]

ENTRY_POINT_GROUP: Final = "iec_poller.sinks"

_log = structlog.get_logger("poller.sinks")


class UnknownSinkError(LookupError):
    """No sink of this type is installed, or its plug-in failed to load."""

    def __init__(self, type_name: str, reason: str | None) -> None:
        super().__init__(type_name, reason)
        self.type_name = type_name
        self.reason = reason

    def __str__(self) -> str:
        if self.reason is None:
            return f"no sink of type {self.type_name!r} is installed"
        return f"sink type {self.type_name!r} could not be loaded: {self.reason}"


@dataclass(slots=True)
class _Registry:
    points: dict[str, EntryPoint] = field(default_factory=dict)
    classes: dict[str, type[Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def load(self, name: str) -> type[Any] | None:
        """The class of sink type ``name``, imported on first use (None: not available).

        Only the types a configuration uses are imported: each network sink's client
        library costs megabytes that a gateway with one SQLite sink should not pay.
        """
        if name in self.classes or name in self.errors:
            return self.classes.get(name)
        point = self.points.get(name)
        if point is None:
            return None
        try:
            self.classes[name] = _load(point)
        except Exception as exc:  # noqa: BLE001 - a plug-in may fail in any way; the others go on
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            _log.error("sink plug-in not loaded", type=name, target=point.value, error=str(exc))
            return None
        return self.classes[name]

    def load_all(self) -> None:
        for name in self.points:
            self.load(name)


@functools.cache
def _registry() -> _Registry:
    registry = _Registry()
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in registry.points:
            registry.errors[point.name] = f"registered twice (also by {point.value})"
            continue
        registry.points[point.name] = point
    return registry


def _load(point: EntryPoint) -> type[Any]:
    cls = point.load()
    model = getattr(cls, "settings_model", None)
    if not isinstance(cls, type) or not (
        isinstance(model, type) and issubclass(model, SinkSettings)
    ):
        raise TypeError(f"{point.value} is not a sink class with a SinkSettings settings_model")
    declared = model.model_fields["type"].default
    if declared != point.name:
        raise TypeError(f"{point.value} declares type {declared!r}, registered as {point.name!r}")
    return cls


def sink_classes() -> dict[str, type[Any]]:
    """Type name -> sink class, for every sink that loaded."""
    registry = _registry()
    registry.load_all()
    return dict(registry.classes)


def sink_type_names() -> list[str]:
    """Every registered type name, without importing any sink."""
    return sorted(_registry().points)


def sink_config_model(name: str) -> type[SinkSettings]:
    """The settings model of type ``name``, importing only that sink."""
    registry = _registry()
    cls = registry.load(name)
    if cls is None:
        raise UnknownSinkError(name, registry.errors.get(name))
    model: type[SinkSettings] = cls.settings_model
    return model


def sink_config_models() -> dict[str, type[SinkSettings]]:
    """Type name -> settings model of every sink (imports them all: the JSON Schema)."""
    return {name: cls.settings_model for name, cls in sink_classes().items()}


def sink_load_errors() -> dict[str, str]:
    """Type name -> why its plug-in was left out (of those tried so far)."""
    registry = _registry()
    registry.load_all()
    return dict(registry.errors)


def build_sink(settings: SinkSettings, context: SinkContext) -> Sink:
    """The sink for ``settings`` (validated against its type's model if it is not one)."""
    registry = _registry()
    cls = registry.load(settings.type)
    if cls is None:
        raise UnknownSinkError(settings.type, registry.errors.get(settings.type))
    model: type[SinkSettings] = cls.settings_model
    settings = settings_as(settings, model)
    sink = cls(settings, context)
    if not isinstance(sink, Sink):
        raise TypeError(f"{cls.__qualname__} does not implement the Sink protocol")
    return sink


def _reset() -> None:
    """Forget what was loaded (tests that install entry points)."""
    _registry.cache_clear()
