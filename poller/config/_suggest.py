"""'did you mean' for misspelt keys and names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["close_match", "did_you_mean"]


def close_match(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'address'?)"``, or ``""`` when nothing is close."""
    match = close_match(word, candidates)
    return f" (did you mean {match!r}?)" if match else ""
