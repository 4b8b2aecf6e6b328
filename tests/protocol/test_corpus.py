"""Every telegram captured from a real meter decodes, and its checksum verdict matches
what the corpus README says of it (the README is read, never copied)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.protocol import (
    Check,
    Framing,
    ProtocolError,
    Telegram,
    decode_capture,
    parse_data_block,
    parse_profile,
)

from ..corpus import (
    CORPUS_DIR,
    corpus_ids,
    corpus_paths,
    draw_mutated_capture,
    require_corpus,
)

COMPLETE = [p for p in corpus_paths("*.txt") if p.name != "README.md"] + corpus_paths(
    "transcripts/*.bin"
)
PARTIAL = corpus_paths("partial/*")


def readme_checks() -> dict[str, str]:
    """File name -> the 'BCC / CRC' cell of the README's summary table."""
    cells: dict[str, str] = {}
    for line in (CORPUS_DIR / "README.md").read_text(encoding="utf-8").splitlines():
        columns = [c.strip() for c in line.split("|")]
        if len(columns) > 6 and columns[1].startswith("`"):
            cells[columns[1].strip("`")] = columns[5]
    return cells


def checked(telegrams: list[Telegram]) -> list[Telegram]:
    return [t for t in telegrams if t.check in (Check.OK, Check.BAD)]


@pytest.mark.parametrize("path", COMPLETE, ids=corpus_ids(COMPLETE))
def test_every_complete_telegram_decodes(path: Path) -> None:
    require_corpus()
    telegrams = decode_capture(path.read_bytes())
    assert telegrams, "no telegram found"
    datasets = [d for t in telegrams for d in parse_data_block(t.block)]
    assert datasets, "no data set found"
    # Every data set has its values; an address-less one is a continuation line.
    assert all(d.values for d in datasets)


@pytest.mark.parametrize("path", COMPLETE, ids=corpus_ids(COMPLETE))
def test_checksum_verdict_matches_the_readme(path: Path) -> None:
    require_corpus()
    verdict = readme_checks().get(str(path.relative_to(CORPUS_DIR)))
    assert verdict is not None, "file missing from the README's summary table"
    telegrams = checked(decode_capture(path.read_bytes()))
    if verdict.startswith(("none in data", "no BCC")):
        assert telegrams == []
        return
    if crc := re.fullmatch(r"CRC16 ok (\d+)/(\d+).*", verdict):
        ok, total = int(crc.group(1)), int(crc.group(2))
        assert len(telegrams) == total
        assert sum(t.check is Check.OK for t in telegrams) == ok
        assert all(t.checksum == "CRC16" for t in telegrams)
        return
    expected = verdict.split("; ")
    assert len(telegrams) == len(expected)
    for telegram, cell in zip(telegrams, expected, strict=True):
        assert telegram.checksum == "BCC"
        if good := re.fullmatch(r"BCC ok \(0x([0-9A-F]{2})\)", cell):
            assert telegram.check is Check.OK
            assert telegram.received == int(good.group(1), 16)
        else:
            bad = re.fullmatch(r"BCC MISMATCH \(computed 0x(\w\w), received 0x(\w\w)\)", cell)
            assert bad is not None, f"unknown README verdict {cell!r}"
            assert telegram.check is Check.BAD
            assert telegram.computed == int(bad.group(1), 16)
            assert telegram.received == int(bad.group(2), 16)


@pytest.mark.parametrize("path", PARTIAL, ids=corpus_ids(PARTIAL))
def test_fragments_give_their_data_sets(path: Path) -> None:
    """Fragments do not form a whole telegram, but their complete lines still decode."""
    require_corpus()
    telegrams = decode_capture(path.read_bytes())
    assert telegrams
    datasets = [d for t in telegrams for d in parse_data_block(t.block)]
    assert len(datasets) >= 1


def test_p1_stream_yields_every_telegram() -> None:
    require_corpus()
    telegrams = decode_capture((CORPUS_DIR / "ziv_5cta3_dsmr5_stream.txt").read_bytes())
    assert [t.framing for t in telegrams] == [Framing.UNFRAMED] * 6
    assert all(t.identification is not None for t in telegrams)


def test_readme_table_covers_the_corpus() -> None:
    require_corpus()
    listed = set(readme_checks())
    on_disk = {str(p.relative_to(CORPUS_DIR)) for p in COMPLETE + PARTIAL}
    assert on_disk <= listed


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_whole_pipeline_survives_bit_flips(data: st.DataObject) -> None:
    """Mutated real telegrams: only the ProtocolError family, and no hang (deadline)."""
    raw = draw_mutated_capture(data, COMPLETE, max_flips=16)
    try:
        for telegram in decode_capture(raw):
            for dataset in parse_data_block(telegram.block):
                _ = [(v.decimal, v.timestamp) for v in dataset.values], dataset.obis
            parse_profile(telegram.block)
    except ProtocolError:
        pass


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_the_whole_pipeline_survives_random_bytes(raw: bytes) -> None:
    try:
        for telegram in decode_capture(raw):
            parse_data_block(telegram.block)
            parse_profile(telegram.block)
    except ProtocolError:
        pass
