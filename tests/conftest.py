"""Fixtures every test folder may use: the real services the sinks talk to.

A service that cannot be reached is started with the machine's command; if it still
cannot be reached, its tests skip with a notice, or fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services


@pytest.fixture(scope="session")
def mosquitto() -> tuple[str, int]:
    return services.require_service("Mosquitto", services.MOSQUITTO, services.START_MOSQUITTO)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[services.PrivateMosquitto]:
    broker = services.PrivateMosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    host, port = services.require_service("PostgreSQL", services.POSTGRES, services.START_POSTGRES)
    return f"postgresql://postgres@{host}:{port}/test"
