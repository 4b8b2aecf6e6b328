"""Access to the real-meter corpus in ``../shared/corpus`` beside the checkout.

The corpus is never copied into the project (its sources' licences forbid it). Where
it is absent (a user's clone) its tests skip with a notice; in CI (``CI=true``) they
fail instead, so that a missing corpus can never pass for a green run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
