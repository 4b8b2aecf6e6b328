"""The leak check of ``tests/conftest.py``, run on tests made to leak."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

LEAKY = """
import asyncio
import os

import pytest

async def test_leaves_a_task():
    asyncio.create_task(asyncio.sleep(30), name="forgotten")

async def test_cancels_without_awaiting():
    task = asyncio.create_task(asyncio.sleep(30))
    await asyncio.sleep(0)
    task.cancel()  # done a turn later: not a leak

def test_leaves_a_file_open():
    global kept
    kept = open(os.devnull)

@pytest.mark.leaks("the test's own reason")
def test_exempt():
    global exempt
    exempt = open(os.devnull)

async def test_clean():
    await asyncio.sleep(0)
"""


def test_a_leaked_task_and_descriptor_fail_their_test_by_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the child imports tests.conftest
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(
        "from tests.conftest import _no_leaked_descriptors, pytest_configure, pytest_runtest_call\n"
    )
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_file_open*",
            "file descriptors left open: * -> /dev/null",
            "*_ test_leaves_a_task _*",
            "tasks left pending: forgotten <coroutine object sleep*",
        ]
    )
