"""iec-poller: reads meters over IEC 62056-21 and delivers every reading without loss."""

__version__ = "0.1.0"

__all__ = ["__version__"]
