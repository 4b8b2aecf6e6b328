"""One quirk entry: a meter model or family that departs from IEC 62056-21, as data.

An entry says which meters it is (by the identification they send, or only by name
in the configuration), what a meter of it needs (``settings``: keys of a meter's
configuration block, as a user would write them, applied under the user's own
keys), which sign-on variants ``iec-poller probe`` should try once it has seen such
an identification, where the behaviour was reported (``sources``, public and cited
by name), and which simulated meter behaves as those sources say (``simulated``,
a ``sim://`` profile name), so that every entry is exercised by the test suite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from poller.protocol import Identification

__all__ = ["Match", "Quirk", "Source"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A public report of the behaviour: an issue, a datasheet, a peer's code."""

    title: str
    """What it is, by name: ``volkszaehler/vzlogger issue #412``."""
    reference: str
    """Where it is: a URL, or ``owner/repo: path`` for a file of a public repository."""
    says: str
    """What it reports, in our own words."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """Identifications of the entry: FLAG letters and a pattern of the ident after them."""

    manufacturers: tuple[str, ...]
    """Three letters each, compared without case (the third letter's case is tr's)."""
    ident: str = ""
    """A regular expression searched in the ident (escapes not included); empty is any."""

    def __post_init__(self) -> None:
        if not self.manufacturers or any(len(m) != 3 for m in self.manufacturers):
            raise ValueError("a match names one or more three-letter manufacturer IDs")
        re.compile(self.ident)

    def matches(self, identification: Identification) -> bool:
        letters = identification.manufacturer.upper()
        if letters not in {m.upper() for m in self.manufacturers}:
            return False
        return re.search(self.ident, identification.ident) is not None


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Quirk:
    """One entry of the table; see the module docstring."""

    name: str
    """How a configuration names it: ``quirks: NAME``; lowercase, digits and dashes."""
    title: str
    """The meters it covers and what is odd about them, in one line."""
    match: Match | None
    """None: the entry is used only where a meter's configuration names it."""
    sources: tuple[Source, ...]
    simulated: str
    """The simulator profile that behaves as the sources say (``sim://NAME``)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Meter configuration keys the entry sets; a meter's own keys win."""
    sign_on: tuple[Mapping[str, Any], ...] = ()
    """Variants (settings to apply) that ``probe`` tries first for a matching meter."""
    disagreement: str = ""
    """Where the sources disagree, and what the entry chose."""
    notes: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", self.name):
            raise ValueError(f"quirk name {self.name!r}: lowercase letters, digits and dashes")
        if not self.sources:
            raise ValueError(f"quirk {self.name}: every entry cites at least one public source")
        object.__setattr__(self, "settings", _frozen(self.settings))
        object.__setattr__(self, "sign_on", tuple(_frozen(v) for v in self.sign_on))
