"""Access to the real-meter corpus in ``../shared/corpus`` beside the checkout.

The corpus is never copied into the project (its sources' licences forbid it). Where
it is absent (a user's clone) its tests skip with a notice; in CI (``CI=true``) they
fail instead, so that a missing corpus can never pass for a green run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import strategies as st

CORPUS_DIR = Path(
    os.environ.get("IEC_POLLER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)


def require_corpus() -> Path:
    """The corpus folder, or skip (fail in CI) when it is not there."""
    if (CORPUS_DIR / "README.md").is_file():
        return CORPUS_DIR
    message = f"real-meter corpus not found at {CORPUS_DIR} (set IEC_POLLER_CORPUS)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def corpus_paths(pattern: str) -> list[Path]:
    """Files of the corpus matching ``pattern``; empty when the corpus is absent."""
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(CORPUS_DIR.glob(pattern))


def corpus_ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CORPUS_DIR)) for p in paths]


def draw_mutated_capture(data: st.DataObject, paths: list[Path], *, max_flips: int) -> bytes:
    """A corpus capture with up to ``max_flips`` random bits flipped."""
    require_corpus()
    if not paths:
        pytest.fail("corpus folder has no captures")
    raw = bytearray(data.draw(st.sampled_from(paths)).read_bytes())
    for _ in range(data.draw(st.integers(min_value=1, max_value=max_flips))):
        index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[index] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    return bytes(raw)
