"""Sink entries: ``{type: NAME, ...}``, each validated against its type's model.

The models come from ``poller.sinks.sink_config_models()`` (the entry points of every
installed sink) unless the caller passes its own mapping; without the sinks package
any mapping with a ``type`` is taken as it is. Looking the models up only when a
configuration is loaded keeps this package importable without the sinks'.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["AnySink", "SinkModels", "default_sink_models"]

SinkModels = Mapping[str, type[BaseModel]]


class AnySink(BaseModel):
    """A sink entry taken as written, when no sink models are known."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str


class _InstalledSinks(Mapping[str, type[BaseModel]]):
    """The installed sink types; a type's model is imported only when it is looked up."""

    def __init__(self, names: list[str], load: Any) -> None:
        self._names = names
        self._load = load

    def __getitem__(self, name: str) -> type[BaseModel]:
        if name not in self._names:
            raise KeyError(name)
        model: type[BaseModel] = self._load(name)
        return model

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def default_sink_models() -> SinkModels | None:
    """The installed sinks' models, or None when the sinks package cannot say."""
    try:
        module = importlib.import_module("poller.sinks")
    except ImportError:
        return None
    names: Any = getattr(module, "sink_type_names", None)
    load: Any = getattr(module, "sink_config_model", None)
    if not callable(names) or not callable(load):
        return None
    return _InstalledSinks(list(names()), load)
