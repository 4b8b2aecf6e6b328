"""Manufacturers by the FLAG ID that opens an identification (``/LGZ4ZMD...``).

The three letters are assigned by the FLAG Association (DLMS UA keeps the list);
this is the part of it the project meets most. A lower-case third letter announces a
meter that answers within 20 ms (IEC 62056-21 6.3.14), not another manufacturer,
so the lookup ignores case.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Final

__all__ = ["MANUFACTURERS", "manufacturer_name"]

MANUFACTURERS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "ABB": "ABB",
        "ACE": "Itron (Actaris)",
        "AEG": "AEG",
        "APA": "Apator",
        "EBZ": "eBZ",
        "ELS": "Elster",
        "EMH": "EMH metering",
        "ESY": "EasyMeter",
        "HAG": "Hager",
        "ISK": "Iskra",
        "ITF": "Itron",
        "KAM": "Kamstrup",
        "KFM": "Kaifa",
        "LGZ": "Landis+Gyr",
        "SAG": "Sagemcom",
        "SIE": "Siemens",
        "ZPA": "ZPA Smart Energy",
    }
)
"""FLAG ID (upper case) -> the manufacturer's name."""


def manufacturer_name(flag: str) -> str | None:
    """The manufacturer a FLAG ID names (any case); None for one not in the table."""
    return MANUFACTURERS.get(flag.upper())
