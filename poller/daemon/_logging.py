"""Logging for the daemon: structlog, JSON lines off a terminal, readable on one.

journald and Docker collect stderr; each line there is one JSON object so that
`journalctl -o cat | jq` and log shippers read it without a parser. On a terminal the
same events print as aligned, coloured text. Whatever the renderer, a last line of
defence masks the values of keys that hold secrets, should a caller ever bind one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Final, Literal, TextIO

import structlog

__all__ = ["LogFormat", "configure_logging", "mask_secrets"]

LogFormat = Literal["auto", "json", "console"]

_SECRET_KEYS: Final = ("password", "passwd", "secret", "token", "authorization", "api_key")
MASK: Final = "***"


def mask_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any key that names a secret."""
    for key in event:
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_KEYS) and event[key] is not None:
            event[key] = MASK
    return event


def configure_logging(
    level: str = "info", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog for the whole process (and route stdlib logging through it)."""
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()]
    json_lines = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_secrets,
    ]
    renderer: structlog.types.Processor
    if json_lines:
        shared += [structlog.processors.dict_tracebacks]
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (asyncio, aiomqtt) go to the
    # same stream, in the same format, at the same threshold.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                mask_secrets,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
