"""Log output: JSON lines off a terminal, secrets masked whatever the caller binds."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from poller.daemon import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging is process-wide: leave the next test the defaults."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_with_level_time_and_bound_context() -> None:
    out = io.StringIO()
    configure_logging("info", "auto", stream=out)  # a StringIO is not a terminal
    log = structlog.get_logger("t").bind(bus="cabinet-1", meter="12345678")
    log.info("session done", readings=12)
    log.debug("hidden")
    line = json.loads(out.getvalue().splitlines()[0])
    assert line["event"] == "session done"
    assert line["bus"] == "cabinet-1"
    assert line["meter"] == "12345678"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert len(out.getvalue().splitlines()) == 1


def test_secrets_are_masked_in_every_format() -> None:
    for fmt in ("json", "console"):
        out = io.StringIO()
        configure_logging("debug", fmt, stream=out)  # type: ignore[arg-type]
        structlog.get_logger().warning("oops", password="hunter2", api_token="abc123")
        logging.getLogger("aiomqtt").warning("lib says %s", "hi")
        text = out.getvalue()
        assert "hunter2" not in text
        assert "abc123" not in text
        assert "***" in text
        assert "lib says hi" in text


def test_level_threshold() -> None:
    out = io.StringIO()
    configure_logging("warning", "json", stream=out)
    structlog.get_logger().info("no")
    structlog.get_logger().error("yes")
    assert [json.loads(x)["event"] for x in out.getvalue().splitlines()] == ["yes"]
