"""``iec-poller demo`` reads its built-in simulated bus completely."""

from __future__ import annotations

import re

import pytest

from poller.cli import main


def test_demo_reads_every_meter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # Each meter: addressed request, its identification, and its data.
    assert len(re.findall(r"> +request /\?\d+!", out)) == 3
    assert out.count("read at ") == 3
    assert "failed" not in out
    assert "P1(***)" in out  # the password is masked in the exchange log
    assert re.search(r"> +B0", out)
    assert re.search(r"2026-03-01T11:15:00 +00 +1\.5=\d+\.\d+ kW", out)
    assert re.search(r"Whole bus read in \d+\.\d\d s", out)
