"""Fixtures every test folder may use: the real services the sinks talk to, and the
check that a test leaves nothing running or open behind it.

A service that cannot be reached is started with the machine's command; if it still
cannot be reached, its tests skip with a notice, or fail under ``CI=true``.

Leaks. A task still pending when an async test's body returns would be cancelled
silently by the loop's teardown, and a file descriptor left open would only show as
the process running out of them hundreds of tests later; both fail the test that
left them, naming what leaked:

- tasks: after the body of an ``async def`` test, the loop gets a few turns (a task
  the test cancelled needs one to finish), then every task still pending on it is a
  leak. Checked in ``pytest_runtest_call``, between the body and the fixtures'
  teardown, because the loop's own teardown cancels whatever is left.
- file descriptors: ``/proc/self/fd`` before the test's function-scoped fixtures are
  set up and after they are torn down; a descriptor that is new afterwards is a leak.
  Objects that close on collection are given one ``gc.collect()`` first, and only
  when something is new, so the clean run pays a few ``readlink`` calls.

``@pytest.mark.leaks(reason)`` exempts a test whose leak is outside its control.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from pytest_asyncio import is_async_test

from tests import services

_FD_DIR = Path("/proc/self/fd")
# Turns of the loop a cancelled (or just finishing) task gets before it counts.
_SETTLE_TURNS = 5


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leaks(reason): the test leaves a task or descriptor behind, for `reason`"
    )


def _open_fds() -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in os.listdir(_FD_DIR):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            found[int(entry)] = os.readlink(_FD_DIR / entry)
    return found


def _new_fds(before: dict[int, str]) -> dict[int, str]:
    return {fd: target for fd, target in _open_fds().items() if before.get(fd) != target}


def _exempt(item: pytest.Item) -> bool:
    return item.get_closest_marker("leaks") is not None


@pytest.fixture(autouse=True)
def _no_leaked_descriptors(request: pytest.FixtureRequest) -> Iterator[None]:
    if _exempt(request.node):
        yield
        return
    before = _open_fds()
    yield
    if not _new_fds(before):
        return
    gc.collect()
    leaked = _new_fds(before)
    if leaked:
        named = ", ".join(f"{fd} -> {target}" for fd, target in sorted(leaked.items()))
        pytest.fail(f"file descriptors left open: {named}", pytrace=False)


def _test_loop(item: pytest.Item) -> asyncio.AbstractEventLoop | None:
    # pytest-asyncio runs the body through an asyncio.Runner fixture; find it by
    # type rather than by the plugin's private fixture name.
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, asyncio.Runner):
            return value.get_loop()
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield
    if not is_async_test(item) or _exempt(item):
        return
    loop = _test_loop(item)
    if loop is None or loop.is_closed():
        return

    async def settle() -> None:
        for _ in range(_SETTLE_TURNS):
            await asyncio.sleep(0)

    loop.run_until_complete(settle())
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if pending:
        named = "; ".join(f"{task.get_name()} {task.get_coro()!r}" for task in pending)
        pytest.fail(f"tasks left pending: {named}", pytrace=False)


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
