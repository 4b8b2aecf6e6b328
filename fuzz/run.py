"""``make fuzz``: the protocol core's fuzz targets, time-boxed (issue 7).

Runs every target of ``tests/protocol/test_fuzz.py`` with hypothesis at high example
counts, round after round, for its share of ``--seconds``; and, where atheris is
installed (the ``fuzz`` extra), the coverage-guided decoder target
``fuzz/atheris_decoder.py`` for a third of the time, seeded with the real corpus.

Prints the inputs tried and the crashes per target. A crashing input is saved under
``fuzz/crashes/`` (git-ignored): the stream as ``.bin``, a session's configuration and
meter moves as ``.txt``, each with the traceback and hypothesis's falsifying example.
Exits 1 on any finding::

    .venv/bin/python -m fuzz.run --seconds 600 --target session
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.corpus import CORPUS_DIR
from tests.protocol import test_fuzz

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "fuzz" / "crashes"
ROUND = 400
"""Examples per hypothesis round; rounds repeat, each with fresh randomness, until time is up."""
NEEDS_CORPUS = {"decoder-telegrams", "pipeline"}


@dataclass
class Outcome:
    target: str
    engine: str
    inputs: int = 0
    crashes: int = 0
    seconds: float = 0.0
    note: str = ""


def _save(name: str, inputs: dict[str, object], exc: BaseException) -> Path:
    CRASHES.mkdir(parents=True, exist_ok=True)
    report = "".join(traceback.format_exception(exc))
    stream = inputs.get("stream")
    if isinstance(stream, bytes):
        digest = hashlib.sha1(stream).hexdigest()[:12]  # noqa: S324 - a file name, not security
        path = CRASHES / f"{name}-{digest}.bin"
        path.write_bytes(stream)
        path.with_suffix(".txt").write_text(report, encoding="utf-8")
        return path
    text = f"{inputs!r}\n\n{report}"
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]  # noqa: S324 - a file name
    path = CRASHES / f"{name}-{digest}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def run_hypothesis(name: str, target: Callable[[st.DataObject], None], seconds: float) -> Outcome:
    outcome = Outcome(target=name, engine="hypothesis")
    failing: dict[str, object] = {}

    def body(data: st.DataObject) -> None:
        outcome.inputs += 1
        test_fuzz.INPUTS.clear()
        try:
            target(data)
        except BaseException:
            # Shrinking replays failures; the last one recorded is the smallest.
            failing.clear()
            failing.update(test_fuzz.INPUTS)
            raise

    test = settings(
        max_examples=ROUND,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )(given(st.data())(body))
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            test()
        except Exception as exc:  # noqa: BLE001 - every finding is reported, not raised
            outcome.crashes += 1
            path = _save(name, failing, exc)
            outcome.note = f"saved {path.relative_to(ROOT)}"
            print(f"\n*** {name}: {type(exc).__name__}: {exc}\n    {outcome.note}", flush=True)
            break
    outcome.seconds = time.monotonic() - began
    return outcome


def run_atheris(seconds: float) -> Outcome:
    outcome = Outcome(target="decoder+parsers", engine="atheris")
    began = time.monotonic()
    CRASHES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iec-fuzz-") as work:
        # libFuzzer writes new inputs to its first folder: a scratch copy, seeded with
        # every capture (and a parameter byte, see atheris_decoder.parameters).
        seeds = Path(work) / "corpus"
        seeds.mkdir()
        for i, capture in enumerate(test_fuzz.CAPTURES):
            for tail in (0x00, 0x0B, 0x3E):
                (seeds / f"seed-{i}-{tail:02x}").write_bytes(capture + bytes([tail]))
        command = [
            sys.executable,
            "-m",
            "fuzz.atheris_decoder",
            str(seeds),
            f"-max_total_time={max(1, int(seconds))}",
            f"-artifact_prefix={CRASHES}/atheris-",
            "-max_len=16384",
            "-timeout=20",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ]
        result = subprocess.run(  # noqa: S603 - our own interpreter and script
            command, cwd=ROOT, capture_output=True, text=True, check=False
        )
    output = result.stdout + result.stderr
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", output) or re.search(
        r"Done (\d+) runs", output
    )
    outcome.inputs = int(runs[1]) if runs else 0
    if result.returncode != 0:
        outcome.crashes = 1
        saved = re.findall(r"Test unit written to (\S+)", output)
        outcome.note = f"saved {saved[-1]}" if saved else f"exit status {result.returncode}"
        print(f"\n*** atheris finding:\n{output[-6000:]}", flush=True)
    outcome.seconds = time.monotonic() - began
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fuzz.run", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="total budget (120)")
    parser.add_argument(
        "--target",
        action="append",
        choices=[*test_fuzz.TARGETS, "atheris"],
        help="run only these (repeatable); default: all",
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    wanted = args.target or [*test_fuzz.TARGETS, "atheris"]
    have_corpus = (CORPUS_DIR / "README.md").is_file()
    have_atheris = importlib.util.find_spec("atheris") is not None
    outcomes: list[Outcome] = []
    if not have_corpus:
        print(f"corpus not found at {CORPUS_DIR}: random inputs only", flush=True)
        wanted = [t for t in wanted if t not in NEEDS_CORPUS]
    if "atheris" in wanted and not have_atheris:
        print("atheris is not installed (pip install -e '.[fuzz]'): hypothesis only", flush=True)
        wanted.remove("atheris")
    hypothesis_targets = [t for t in wanted if t != "atheris"]
    atheris_share = args.seconds / 3 if "atheris" in wanted and hypothesis_targets else 0.0
    if "atheris" in wanted and not hypothesis_targets:
        atheris_share = args.seconds
    share = (args.seconds - atheris_share) / max(1, len(hypothesis_targets))
    for name in hypothesis_targets:
        print(f"fuzzing {name} with hypothesis for {share:.0f} s", flush=True)
        outcomes.append(run_hypothesis(name, test_fuzz.TARGETS[name], share))
    if atheris_share:
        print(f"fuzzing the decoder with atheris for {atheris_share:.0f} s", flush=True)
        outcomes.append(run_atheris(atheris_share))

    print(f"\n{'target':<20}{'engine':<12}{'inputs':>10}{'crashes':>9}{'seconds':>9}")
    for o in outcomes:
        print(f"{o.target:<20}{o.engine:<12}{o.inputs:>10}{o.crashes:>9}{o.seconds:>9.1f} {o.note}")
    total = sum(o.crashes for o in outcomes)
    print(f"{sum(o.inputs for o in outcomes)} inputs, {total} crash(es)")
    if total and CRASHES.is_dir():
        print(f"crashing inputs in {CRASHES.relative_to(ROOT)}/")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
