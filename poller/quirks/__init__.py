"""Meters that depart from the standard, as a table of data with cited public sources.

Nothing here talks to a meter: the configuration applies an entry's ``settings`` to
the meters that name it, ``iec-poller probe`` tries an entry's ``sign_on`` variants
once a meter has identified itself, and the test suite reads every entry's
``simulated`` meter with the entry's settings.
"""

from ._model import Match, Quirk, Source
from ._table import QUIRKS, UnknownQuirkError, get_quirk, match_quirk

__all__ = ["QUIRKS", "Match", "Quirk", "Source", "UnknownQuirkError", "get_quirk", "match_quirk"]
