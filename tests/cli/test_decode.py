"""``iec-poller decode`` end to end, in-process and as the installed console script."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from poller.cli import main
from poller.protocol import DataMessage, Identification, push_telegram

from ..corpus import CORPUS_DIR, require_corpus

READOUT = (
    b"/LGZ4ZMF100AC.M26\r\n"
    + DataMessage.readout(
        "F.F(00)\r\n1.8.1(042951.721*kWh)\r\n1.6.1(0.50262*kW)(2211120730)\r\n"
        "32.7(241*V)\r\nC.1.1(        )\r\n"
    ).to_bytes()
)


def run_decode(tmp_path: Path, data: bytes, *args: str) -> tuple[int, str, str, list[dict]]:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(["decode", str(capture), *args])
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines] if "json" in args else []
    return status, out.getvalue(), err.getvalue(), records


def test_json_lines_carry_the_documented_keys(tmp_path: Path) -> None:
    status, _, err, records = run_decode(tmp_path, READOUT, "--format", "json")
    assert status == 0
    assert err == ""
    assert [r["address"] for r in records] == ["F.F", "1.8.1", "1.6.1", "32.7", "C.1.1"]
    energy = records[1]
    assert energy["value"] == "042951.721"
    assert energy["unit"] == "kWh"
    assert energy["values"] == [{"value": "042951.721", "unit": "kWh"}]
    assert energy["ident"] == "/LGZ4ZMF100AC.M26"
    assert energy["bcc_ok"] is True
    demand = records[2]
    assert demand["values"] == [
        {"value": "0.50262", "unit": "kW"},
        {"value": "2211120730", "unit": None},
    ]
    assert records[4]["value"] == "        "
    assert records[4]["unit"] is None


def test_table_shows_every_data_set(tmp_path: Path) -> None:
    status, out, _, _ = run_decode(tmp_path, READOUT)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[1].split() == ["1.8.1", "042951.721", "kWh"]
    assert lines[2].split() == ["1.6.1", "0.50262", "kW", "(2211120730)"]


def test_bad_bcc_is_a_warning_and_bcc_ok_false(tmp_path: Path) -> None:
    corrupted = READOUT.replace(b"042951", b"042952")
    status, _, err, records = run_decode(tmp_path, corrupted, "--format", "json")
    assert status == 0
    assert "BCC mismatch" in err
    assert all(r["bcc_ok"] is False for r in records)
    assert records[1]["value"] == "042952.721"


def test_p1_crc_is_reported(tmp_path: Path) -> None:
    ident = Identification(manufacturer="KFM", baud_char="5", ident="KAIFA-METER")
    telegram = push_telegram(ident, "\r\n1-0:1.8.1(001581.123*kWh)\r\n", with_crc=True)
    status, _, err, records = run_decode(tmp_path, telegram, "--format", "json")
    assert status == 0
    assert err == ""
    assert records == [
        {
            "address": "1-0:1.8.1",
            "obis": records[0]["obis"],
            "value": "001581.123",
            "unit": "kWh",
            "values": [{"value": "001581.123", "unit": "kWh"}],
            "telegram": 1,
            "ident": "/KFM5KAIFA-METER",
            "bcc_ok": True,
        }
    ]


def test_no_telegram_is_exit_1(tmp_path: Path) -> None:
    status, out, err, _ = run_decode(tmp_path, b"\x7f\x00 nothing here \r\n")
    assert status == 1
    assert out == ""
    assert "no telegram" in err


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(tmp_path / "absent.bin")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_profile_records(tmp_path: Path) -> None:
    block = (
        "P.01(1220823161500)(00000000)(15)(2)(1.5)(kW)(2.5)(kW)\r\n"
        "(0.18374)(0.00078)\r\n(0.16832)(0.00000)\r\n"
    )
    status, _, _, records = run_decode(
        tmp_path, DataMessage(data=block).to_bytes(), "--profile", "--format", "json"
    )
    assert status == 0
    assert [r["time"][:16] for r in records] == ["2022-08-23T16:15", "2022-08-23T16:30"]
    assert records[0]["season"] == "summer"
    assert records[1]["channels"][0] == {"code": "1.5", "unit": "kW", "value": "0.16832"}


def test_console_script_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "poller", "decode", "-", "--format", "json"],
        input=READOUT,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5


def test_decodes_a_real_capture_with_a_bad_bcc(tmp_path: Path) -> None:
    require_corpus()
    data = (CORPUS_DIR / "siemens_2wr5_heat_readout.txt").read_bytes()
    status, _, err, records = run_decode(tmp_path, data, "--format", "json")
    assert status == 0
    assert "computed 0x6F, received 0x58" in err
    heat = next(r for r in records if r["address"] == "9.4")
    assert heat["values"][0]["parts"] == [
        {"value": "088", "unit": "C"},
        {"value": "082", "unit": "C"},
    ]
