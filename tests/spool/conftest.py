from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def default_structlog() -> Iterator[None]:
    """Tests elsewhere configure structlog for the process (a level filter that hides
    warnings from ``capture_logs``); these tests assert on warnings, so start clean."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
