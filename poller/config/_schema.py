"""The configuration's JSON Schema, for editors (YAML language servers read it)."""

from __future__ import annotations

from typing import Any

from ._model import Config
from ._sinks import SinkModels, default_sink_models

__all__ = ["config_json_schema"]

_DEFS = "$defs"


def config_json_schema(sink_models: SinkModels | None = None) -> dict[str, Any]:
    """Pydantic's schema of ``Config``, with each installed sink type's settings.

    ``sink_models`` None looks the installed sinks up; without any, a sink entry is
    described as a mapping with a ``type``.
    """
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iec-poller configuration"
    models = sink_models if sink_models is not None else default_sink_models()
    if not models:
        return schema
    defs: dict[str, Any] = schema.setdefault(_DEFS, {})
    choices: list[dict[str, Any]] = []
    for type_name, model in sorted(models.items()):
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop(_DEFS, {}))
        key = f"sink-{type_name}"
        # The discriminating key is fixed to the type's name, so an editor can tell
        # which set of keys applies as soon as `type:` is written.
        sub.setdefault("properties", {})["type"] = {"const": type_name}
        sub["required"] = sorted({*sub.get("required", []), "type"})
        defs[key] = sub
        choices.append({"$ref": f"#/$defs/{key}"})
    schema["properties"]["sinks"]["items"] = {"oneOf": choices}
    return schema
