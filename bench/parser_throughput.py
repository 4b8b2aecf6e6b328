"""Item 3: data sets per second, raw bytes in, data sets out: ours against two PyPI parsers.

Parsers, each given the raw bytes of a capture:

* ours: ``decode_capture`` (the incremental ``FrameDecoder``: frames, checksums,
  telegrams) then ``parse_data_block`` of every telegram;
* ``iec62056`` (a lark grammar for IEC 62056-21 readouts and DSMR P1 telegrams): the
  bytes decoded as Latin-1 and ``Parser().parse``; the grammar is compiled once,
  outside the timing;
* ``iec62056-21`` (pwitab's client library), which has no frame finder: the
  adapter (timed with it) cuts ``STX .. ETX BCC`` and hands it to
  ``ReadoutDataMessage`` (a block ending in ``!``) or ``AnswerDataMessage``.

Inputs: (a) every complete corpus capture (the top-level files and
``transcripts/*.bin``, as ``tests/protocol/test_corpus.py`` takes them; ``partial/``
is left out because it holds fragments), each parser timed on the files it parses
(an exception or no data set is a failure, counted with its reason), and each peer
compared with ours on exactly the files both parse; (b) a synthetic mode C readout of
``SYNTHETIC_DATASETS`` data sets written with our codec, using OBIS codes the
``iec62056`` grammar knows, so that all three parse it.

Timing is ``timeit``-like: the garbage collector off, enough calls per run to last
``MIN_RUN`` seconds, the median of ``repeats`` runs (min and max kept); ratios come
from the same process and run.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from poller.protocol import (
    DataMessage,
    DataSet,
    Identification,
    Value,
    bcc,
    decode_capture,
    format_data_block,
    parse_data_block,
)

from .common import spread

SYNTHETIC_DATASETS = 5000
MIN_RUN = 0.2
TARGET = 3.0
CORPUS_DIR = Path(
    os.environ.get("IEC_POLLER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)

Parse = Callable[[bytes], int]


def ours(data: bytes) -> int:
    return sum(len(parse_data_block(t.block)) for t in decode_capture(data))


def _lark_parser() -> Parse:
    from iec62056.parser import Parser

    parser = Parser()

    def parse(data: bytes) -> int:
        return len(parser.parse(data.decode("latin-1")).objects)

    return parse


def _pwitab_parser() -> Parse:
    from iec62056_21.messages import (
        AnswerDataMessage,
        ReadoutDataMessage,
    )

    def parse(data: bytes) -> int:
        start = data.find(b"\x02")
        end = data.find(b"\x03", start + 1)
        if start < 0 or end < 0 or end + 1 >= len(data):
            raise ValueError("no STX .. ETX BCC frame")
        frame = data[start : end + 2]
        kind = ReadoutDataMessage if frame[-5:-2] == b"!\r\n" else AnswerDataMessage
        message = kind.from_bytes(frame)
        return sum(len(line.data_sets) for line in message.data_block.data_lines)

    return parse


def parsers() -> dict[str, Parse]:
    return {"iec-poller": ours, "iec62056": _lark_parser(), "iec62056-21": _pwitab_parser()}


def corpus_files() -> list[Path]:
    if not (CORPUS_DIR / "README.md").is_file():
        return []
    top = [p for p in sorted(CORPUS_DIR.glob("*.txt")) if p.name != "README.md"]
    return top + sorted(CORPUS_DIR.glob("transcripts/*.bin"))


# OBIS codes with float values that the iec62056 grammar and object table accept.
_CODES = (
    ("1.8.1", "kWh"),
    ("1.8.2", "kWh"),
    ("2.8.1", "kWh"),
    ("2.8.2", "kWh"),
    ("1.7.0", "kW"),
    ("2.7.0", "kW"),
    ("21.7.0", "kW"),
    ("41.7.0", "kW"),
    ("61.7.0", "kW"),
    ("31.7.0", "A"),
    ("51.7.0", "A"),
    ("71.7.0", "A"),
    ("32.7.0", "V"),
    ("52.7.0", "V"),
    ("72.7.0", "V"),
)


def synthetic_readout(count: int = SYNTHETIC_DATASETS) -> bytes:
    """Identification + one readout message of ``count`` data sets, by our codec."""
    ident = Identification(manufacturer="ISk", baud_char="5", ident="MT174-0001")
    for salt in range(100):
        datasets = []
        for i in range(count):
            code, unit = _CODES[i % len(_CODES)]
            value = f"{(i * 7919 + salt) % 1_000_000:06d}.{i % 1000:03d}"
            datasets.append(DataSet(address=f"1-0:{code}", values=(Value(text=value, unit=unit),)))
        message = DataMessage.readout(format_data_block(datasets)).to_bytes()
        # The lark grammar takes any BCC character but CR and LF; vary a value until so.
        if bcc(message[1:-1]) not in (0x0A, 0x0D):
            return ident.to_bytes() + message
    raise RuntimeError("no synthetic readout with a printable BCC")


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Seconds per call: the median-ready list of ``repeats`` runs (GC off, as timeit)."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(MIN_RUN / once)) if once > 0 else 1000
    if once > 2.0:
        repeats = min(repeats, 3)  # a slow peer: three runs are enough for a median
    times: list[float] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return times


def _try(parse: Parse, data: bytes) -> tuple[int, str]:
    try:
        count = parse(data)
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a result here
        return 0, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:90]
    return count, "" if count else "no data set"


def _over(parse: Parse, inputs: list[bytes]) -> Callable[[], None]:
    def go() -> None:
        for data in inputs:
            parse(data)

    return go


def corpus(repeats: int) -> dict[str, Any]:
    files = corpus_files()
    if not files:
        return {"skipped": f"corpus not found at {CORPUS_DIR} (set IEC_POLLER_CORPUS)"}
    raw = {p.name: p.read_bytes() for p in files}
    table = parsers()
    parsed: dict[str, dict[str, int]] = {}
    failures: dict[str, dict[str, str]] = {}
    for name, parse in table.items():
        parsed[name], failures[name] = {}, {}
        for file, data in raw.items():
            count, error = _try(parse, data)
            if error:
                failures[name][file] = error
            else:
                parsed[name][file] = count
    out: dict[str, Any] = {"files": len(raw), "parsers": {}}
    for name, parse in table.items():
        mine = [raw[f] for f in parsed[name]]
        datasets = sum(parsed[name].values())
        times = timed(_over(parse, mine), repeats) if mine else []
        out["parsers"][name] = {
            "parsed": len(mine),
            "failed": len(failures[name]),
            "failures": failures[name],
            "datasets": datasets,
            "seconds": spread(times),
            "datasets_per_s": datasets / spread(times)["median"] if times else None,
        }
    for name in table:
        if name == "iec-poller":
            continue
        common = [f for f in parsed[name] if f in parsed["iec-poller"]]
        inputs = [raw[f] for f in common]
        if not inputs:
            out["parsers"][name]["vs_ours"] = None
            continue
        # Interleaved, in one run: ours, the peer, ours, the peer ...
        our_times, peer_times = [], []
        for _ in range(max(1, repeats)):
            our_times += timed(_over(ours, inputs), 1)
            peer_times += timed(_over(table[name], inputs), 1)
        our_count = sum(parsed["iec-poller"][f] for f in common)
        ratio = spread(peer_times)["median"] / spread(our_times)["median"]
        out["parsers"][name]["vs_ours"] = {
            "common_files": len(common),
            "our_datasets": our_count,
            "peer_datasets": sum(parsed[name][f] for f in common),
            "our_datasets_per_s": our_count / spread(our_times)["median"],
            "peer_datasets_per_s": our_count / spread(peer_times)["median"],
            "speedup": ratio,
        }
    return out


def synthetic(repeats: int) -> dict[str, Any]:
    data = synthetic_readout()
    out: dict[str, Any] = {"bytes": len(data), "parsers": {}}
    for name, parse in parsers().items():
        count, error = _try(parse, data)
        entry: dict[str, Any] = {"datasets": count, "error": error or None}
        if not error:
            times = timed(lambda parse=parse: parse(data), repeats)  # type: ignore[misc]
            entry["seconds"] = spread(times)
            entry["datasets_per_s"] = count / spread(times)["median"]
        out["parsers"][name] = entry
    ours_rate = out["parsers"]["iec-poller"].get("datasets_per_s")
    for name, entry in out["parsers"].items():
        rate = entry.get("datasets_per_s")
        entry["speedup"] = ours_rate / rate if rate and ours_rate and name != "iec-poller" else None
    return out


def run(repeats: int = 7) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": "parser_throughput",
        "target": TARGET,
        "corpus": corpus(repeats),
        "synthetic": synthetic(repeats),
    }
    result["speedup_vs_fastest"] = _verdict(result)
    return result


def _verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Our speed-up over the fastest peer, per input (the target is >= 3x on each)."""
    verdict: dict[str, Any] = {}
    peers = result["corpus"].get("parsers", {})
    corpus_ratios = [p["vs_ours"]["speedup"] for n, p in peers.items() if p.get("vs_ours")]
    verdict["corpus"] = min(corpus_ratios) if corpus_ratios else None
    synthetic_ratios = [
        p["speedup"] for p in result["synthetic"]["parsers"].values() if p.get("speedup")
    ]
    verdict["synthetic"] = min(synthetic_ratios) if synthetic_ratios else None
    return verdict


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(result: dict[str, Any]) -> list[str]:
    lines = ["3. Parser throughput (raw bytes -> data sets; median of runs, GC off)"]
    corpus_result = result["corpus"]
    if "skipped" in corpus_result:
        lines.append(f"   corpus: skipped, {corpus_result['skipped']}")
    else:
        lines.append(
            f"   (a) corpus, {corpus_result['files']} complete captures: "
            "parser  parsed/failed  data sets/s (own files)  | on files both parse: "
            "ours/s  peer/s  speed-up"
        )
        for name, p in corpus_result["parsers"].items():
            row = (
                f"       {name:<12} {p['parsed']:>3}/{p['failed']:<3} "
                f"{_rate(p['datasets_per_s']):>12}"
            )
            vs = p.get("vs_ours")
            if vs:
                row += (
                    f"   | {vs['common_files']:>2} files: {_rate(vs['our_datasets_per_s']):>9} "
                    f"{_rate(vs['peer_datasets_per_s']):>9}  {vs['speedup']:.1f}x"
                )
            lines.append(row)
    synth = result["synthetic"]
    lines.append(
        f"   (b) synthetic readout, {SYNTHETIC_DATASETS} data sets, {synth['bytes']} bytes: "
        "parser  data sets/s  our speed-up"
    )
    for name, p in synth["parsers"].items():
        speed = f"{p['speedup']:.1f}x" if p.get("speedup") else ""
        shown = _rate(p.get("datasets_per_s")) if not p.get("error") else f"failed: {p['error']}"
        lines.append(f"       {name:<12} {shown:>12}  {speed}")
    verdict = result["speedup_vs_fastest"]
    lines.append(
        f"   speed-up over the fastest peer: corpus {_ratio(verdict['corpus'])}, "
        f"synthetic {_ratio(verdict['synthetic'])}  (target >= {result['target']:.0f}x)"
    )
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"
