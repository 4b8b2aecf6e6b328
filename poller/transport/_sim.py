"""``sim://`` ports: the in-process simulator, imported only when such a URL is opened."""

from __future__ import annotations

from ._options import PortOptions
from ._port import Port

__all__ = ["sim_port"]


def sim_port(url: str, options: PortOptions) -> Port:
    """The simulated bus ``url`` names; raises ``PortUnavailableError`` for a bad URL."""
    # Imported here: the simulator imports this package (for the errors).
    from poller.simulator._url import open_simulated_port

    return open_simulated_port(url)
