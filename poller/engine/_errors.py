"""Why a conversation ended that the protocol core cannot know about.

They subclass ``ProtocolError`` so that a session ended by the engine is still an
ordinary ``Failed(error, result)``: callers handle one outcome type. Each carries its
data as attributes; no message holds a secret (a port URL is already stripped).
"""

from __future__ import annotations

from poller.protocol import ProtocolError

__all__ = ["LinkLostError", "SessionDeadlineError"]


class LinkLostError(ProtocolError):
    """The port failed under the session (adapter unplugged, converter rebooted)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"port {url} lost: {reason}")


class SessionDeadlineError(ProtocolError):
    """The whole conversation outlived its deadline and was aborted."""

    def __init__(self, *, seconds: float, state: str) -> None:
        self.seconds = seconds
        self.state = state
        super().__init__(f"session exceeded its {seconds:.1f} s deadline in state {state}")
