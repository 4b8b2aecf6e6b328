"""Small helpers that several layers share and that belong to none of them.

``Backoff`` is the retry schedule of ports, meters and sinks alike; the redaction
helpers keep credentials out of every URL, error and repr that a port or a sink shows;
the field checks let a settings field carry its default and its check to every
dataclass and configuration model that offers it.
Nothing here imports another ``poller`` package, so any layer may import this one.
"""

from ._backoff import Backoff
from ._field_checks import (
    FieldCheck,
    Limits,
    check_fields,
    checks,
    copied_fields,
    limits_of,
    same_field,
)
from ._redact import network_target, redact_url, scrub, secrets_of

__all__ = [
    "Backoff",
    "FieldCheck",
    "Limits",
    "check_fields",
    "checks",
    "copied_fields",
    "limits_of",
    "network_target",
    "redact_url",
    "same_field",
    "scrub",
    "secrets_of",
]
