"""Sinks: where readings go. The contract, the base classes, the record helpers, the registry.

Every sink type, the built-in ones included, is found through the entry-point group
``iec_poller.sinks``; ``sink_config_models`` gives the configuration loader each
type's settings model and ``build_sink`` makes a sink from validated settings.
"""

from ._base import BaseSink, ThreadedSink
from ._contract import (
    Rejection,
    Sink,
    SinkContext,
    SinkFatalError,
    SinkSettings,
    SinkUnavailableError,
    WriteResult,
)
from ._records import RECORD_KEYS, record_for, register_name, select_readings, wants
from ._registry import (
    ENTRY_POINT_GROUP,
    UnknownSinkError,
    build_sink,
    sink_classes,
    sink_config_model,
    sink_config_models,
    sink_load_errors,
    sink_type_names,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "RECORD_KEYS",
    "BaseSink",
    "Rejection",
    "Sink",
    "SinkContext",
    "SinkFatalError",
    "SinkSettings",
    "SinkUnavailableError",
    "ThreadedSink",
    "UnknownSinkError",
    "WriteResult",
    "build_sink",
    "record_for",
    "register_name",
    "select_readings",
    "sink_classes",
    "sink_config_model",
    "sink_config_models",
    "sink_load_errors",
    "sink_type_names",
    "wants",
]
