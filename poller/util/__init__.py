"""Small helpers that several layers share and that belong to none of them.

``Backoff`` is the retry schedule of ports, meters and sinks alike; the redaction
helpers keep credentials out of every URL, error and repr that a port or a sink shows.
Nothing here imports another ``poller`` package, so any layer may import this one.
"""

from ._backoff import Backoff
from ._redact import network_target, redact_url, scrub, secrets_of

__all__ = ["Backoff", "network_target", "redact_url", "scrub", "secrets_of"]
