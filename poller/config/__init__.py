"""The daemon's YAML configuration, validated with pydantic.

``load_config(path)`` returns a ``Config`` or raises ``ConfigError`` listing every
problem as ``file:line:column: key.path: what was expected``. A ``BusConfig`` builds
the engine's objects (``port_options()``, ``engine_options()``,
``meter_settings()``); ``Config.scheduled_reads()`` gives the scheduler its work;
``config_json_schema()`` describes the file for editors.
"""

from ._buses import BusConfig, RS485Config, check_port_url
from ._errors import ConfigError, ConfigProblem, format_path
from ._loader import load_config, parse_config
from ._meters import BackoffConfig, MeterConfig, MeterOptions, build_meter_settings
from ._model import DEFAULT_LISTEN, DEFAULT_STATE_DIR, Config, HttpConfig, LogConfig, SpoolConfig
from ._schedules import ScheduleConfig, ScheduleRef
from ._schema import config_json_schema
from ._secrets import SecretFile, is_secret_key
from ._sinks import AnySink, SinkModels, default_sink_models

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_STATE_DIR",
    "AnySink",
    "BackoffConfig",
    "BusConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "HttpConfig",
    "LogConfig",
    "MeterConfig",
    "MeterOptions",
    "RS485Config",
    "ScheduleConfig",
    "ScheduleRef",
    "SecretFile",
    "SinkModels",
    "SpoolConfig",
    "build_meter_settings",
    "check_port_url",
    "config_json_schema",
    "default_sink_models",
    "format_path",
    "is_secret_key",
    "load_config",
    "parse_config",
]
