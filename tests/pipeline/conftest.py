"""The real destinations of the end-to-end tests, from ``tests.services``.

A service that cannot be reached makes its tests skip with a notice (fail under
``CI=true``); fault tests use private brokers and proxies, never the machine's own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import structlog

from tests import services


@pytest.fixture(autouse=True)
def default_structlog() -> Iterator[None]:
    """Start from structlog's defaults (other tests configure a level filter)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
async def pg_schema(postgres_dsn: str) -> AsyncIterator[str]:
    """A schema of the test's own, dropped after it."""
    schema = f"iec_pipe_{uuid.uuid4().hex[:10]}"
    yield schema
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Influxd]:
    with services.influxd(tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[services.RecordingServer]:
    with services.recording_server() as server:
        yield server
