"""Coverage-guided fuzzing of the stream decoder and the parsers with atheris (libFuzzer).

Run by ``fuzz/run.py``; by hand::

    .venv/bin/python -m fuzz.atheris_decoder WORKDIR [SEED_DIR ...] -max_total_time=60

The input's last byte chooses the decoder's role, its ``max_frame`` and the chunk size;
the rest is the stream. Each input goes through ``check_decoder`` and ``check_pipeline``
from ``tests/protocol/test_fuzz.py``, the same targets as the hypothesis runs: an
exception outside the ProtocolError family or a broken invariant (AssertionError) is
a crash, saved by libFuzzer under ``-artifact_prefix``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["poller.protocol"]):
    from poller.protocol import ProtocolError, Role

from tests.protocol.test_fuzz import DEFAULT_MAX_FRAME, check_decoder, check_pipeline

MAX_FRAMES = (128, 1024, 4096, DEFAULT_MAX_FRAME)
CHUNK_SIZES = (1, 2, 3, 5, 7, 13, 64, 1 << 20)


def parameters(tail: int) -> tuple[Role, int, int]:
    """Role, max_frame and chunk size from the input's last byte."""
    role = Role.CLIENT if tail & 1 == 0 else Role.METER
    max_frame = MAX_FRAMES[(tail >> 1) & 3]
    chunk = CHUNK_SIZES[(tail >> 3) & 7]
    return role, max_frame, chunk


def test_one_input(data: bytes) -> None:
    if not data:
        return
    role, max_frame, chunk = parameters(data[-1])
    raw = data[:-1]
    try:
        check_decoder(raw, range(chunk, len(raw), chunk), role=role, max_frame=max_frame)
        check_pipeline(raw)
    except ProtocolError:
        pass  # the contract allows the family; the decoder raises none today


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
