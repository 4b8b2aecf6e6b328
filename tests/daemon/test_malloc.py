"""glibc's mmap threshold is fixed by the daemon, so a freed large block does not move
blocks of its size into the heap (see ``poller/daemon/_malloc.py``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from poller.daemon._malloc import _is_glibc

pytestmark = pytest.mark.skipif(
    not _is_glibc(), reason="glibc's malloc only (nothing to set elsewhere)"
)

# Frees a 4 MiB block (mmapped at any threshold), then asks for 1 MiB and prints how
# many more blocks glibc holds mmapped: 0 when the freed block raised the threshold
# (the 1 MiB came from the heap), 1 when the threshold stayed at 128 KiB.
PROBE = """
import ctypes, sys
from poller.daemon import fix_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else None
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
print(fixed, libc.mallinfo2().hblks - before)
"""


def probe(mode: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_without_the_fix_a_freed_large_block_moves_its_size_into_the_heap() -> None:
    assert probe("none") == "None 0"


def test_the_fixed_threshold_keeps_large_blocks_out_of_the_heap() -> None:
    assert probe("fix") == "True 1"


def test_a_threshold_the_environment_sets_is_left_alone() -> None:
    assert probe("fix", MALLOC_MMAP_THRESHOLD_="8388608") == "False 0"
    assert probe("fix", GLIBC_TUNABLES="glibc.malloc.mmap_threshold=8388608") == "False 0"
