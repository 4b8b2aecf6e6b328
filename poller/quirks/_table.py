"""The table: every entry, looked up by name or matched by identification."""

from __future__ import annotations

from typing import Final

from poller.protocol import Identification

from ._model import Quirk

__all__ = ["QUIRKS", "UnknownQuirkError", "get_quirk", "match_quirk"]

# Entries are added here, grouped by the modules that define them.
QUIRKS: Final[tuple[Quirk, ...]] = ()


class UnknownQuirkError(KeyError):
    """A configuration names an entry the table does not have."""

    def __init__(self, name: str) -> None:
        known = ", ".join(q.name for q in QUIRKS) or "none"
        super().__init__(f"unknown quirk profile {name!r}; known: {known}")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


def get_quirk(name: str) -> Quirk:
    for quirk in QUIRKS:
        if quirk.name == name:
            return quirk
    raise UnknownQuirkError(name)


def match_quirk(identification: Identification) -> Quirk | None:
    """The first entry whose match takes this identification; None if none does."""
    for quirk in QUIRKS:
        if quirk.match is not None and quirk.match.matches(identification):
            return quirk
    return None
