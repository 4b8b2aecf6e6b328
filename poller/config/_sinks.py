"""Sink entries: ``{type: NAME, ...}``, each validated against its type's model.

The models come from ``poller.sinks.sink_config_models()`` (the entry points of every
installed sink) unless the caller passes its own mapping; without the sinks package
any mapping with a ``type`` is taken as it is. Looking the models up only when a
configuration is loaded keeps this package importable without the sinks'.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["AnySink", "SinkModels", "default_sink_models"]

SinkModels = Mapping[str, type[BaseModel]]


class AnySink(BaseModel):
    """A sink entry taken as written, when no sink models are known."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str


def default_sink_models() -> SinkModels | None:
    """The installed sinks' models, or None when the sinks package cannot say."""
    try:
        module = importlib.import_module("poller.sinks")
    except ImportError:
        return None
    factory: Any = getattr(module, "sink_config_models", None)
    if not callable(factory):
        return None
    models: SinkModels = factory()
    return models
