"""Meters described in YAML: the example file, overrides, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from poller.protocol import Mode
from poller.simulator import ConfigFileError, _schema, get_profile, load_config, parse_config

from .helpers import ScriptedClient

EXAMPLE = Path(__file__).parents[2] / "config" / "simulator.example.yaml"


def test_the_example_file_loads_and_every_meter_answers() -> None:
    config = load_config(EXAMPLE)
    assert [m.address for m in config.meters] == [
        "31002782",
        "60912205",
        "12345678",
        "1ESY1160337799",
    ]
    assert config.epoch is not None
    full = config.meters[2]
    assert (full.manufacturer, full.ident, full.mode, full.baud_char) == (
        "ABC",
        "SIM100-X",
        Mode.C,
        "5",
    )
    assert full.load_profile is not None
    assert len(full.load_profile.channels) == 2
    assert full.password is not None
    assert full.partial_block_lines == 48
    client = ScriptedClient.on(*config.meters)
    client.send(b"/?12345678!\r\n")
    assert client.expect().frame.message == full.identification


def test_example_documents_every_key() -> None:
    """Each key of the schema appears in the example, so the file is the reference."""
    text = EXAMPLE.read_text()
    models = [m for m in vars(_schema).values() if isinstance(m, type) and issubclass(m, BaseModel)]
    assert len(models) > 10
    missing = {
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if f"{name}:" not in text
    }
    assert missing == set()


def test_profile_with_overrides_merges_nested_sections() -> None:
    config = parse_config(
        """
seed: 9
meters:
  - profile: emh-lzqj
    address: "06417299"
    reaction_time: 1.0
    password: {password: "12345678"}
    faults: {nak_rate: 0.5}
    quirks: {ident_line_end: LF, junk_before_ident: "\\x00"}
"""
    )
    (spec,) = config.meters
    base = get_profile("emh-lzqj")
    assert spec.address == "06417299"
    assert spec.reaction_time == 1.0
    assert spec.seed == 9  # the bus's seed, as the entry sets none
    assert base.password is not None
    assert spec.password is not None
    assert spec.password.password == "12345678"
    assert spec.password.scheme == base.password.scheme
    assert spec.faults.nak_rate == 0.5
    assert spec.quirks.ident_line_end == b"\n"
    assert spec.quirks.junk_before_ident == b"\x00"
    assert spec.registers == base.registers
    assert spec.load_profile == base.load_profile


def test_max_baud_becomes_the_rate_character() -> None:
    text = 'meters: [{address: "1", manufacturer: ABC, ident: X, mode: "B", max_baud: 4800}]'
    assert parse_config(text).meters[0].baud_char == "D"  # A 600 ... D 4800
    push = 'meters: [{address: "1", manufacturer: EMH, ident: X, mode: "D"}]'
    assert parse_config(push).meters[0].baud_char == "3"


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("meters: []\n", "x.yaml:1: meters:", "at least 1 item"),
        ("meters:\n  - profile: nope\n", "x.yaml:2: meters[0].profile:", "lg-zmd"),
        (
            "meters:\n  - profile: lg-zmd\n    faults:\n      drop_rate: 2\n",
            "x.yaml:4: meters[0].faults.drop_rate:",
            "less than or equal to 1",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    colour: red\n",
            "x.yaml:3: meters[0].colour:",
            "Extra inputs",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    reaction_time: 0.05\n",
            "x.yaml:3: meters[0].reaction_time:",
            "0.2-1.5 s",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    registers:\n      - code: 0.0\n        fixed: a\n",
            "x.yaml:4: meters[0].registers[0].code:",
            "valid string",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    registers:\n"
            '      - code: "1.8.0"\n        energy: {channel: gas}\n',
            "x.yaml:4: meters[0].registers[0]:",
            "unknown channel 'gas'",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    registers:\n"
            '      - code: "1"\n        fixed: a\n        clock: time\n',
            "x.yaml:4: meters[0].registers[0]:",
            "exactly one value source",
        ),
        (
            'meters:\n  - address: "1"\n    manufacturer: ABC\n',
            "x.yaml:2: meters[0]:",
            "needs ident",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    max_baud: 1234\n",
            "x.yaml:3: meters[0].max_baud:",
            "one of 300",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    password: {scheme: rot13}\n",
            "x.yaml:3: meters[0].password.scheme:",
            "rot13",
        ),
        (
            "meters:\n  - profile: lg-zmd\n    channels:\n"
            "      - {name: import, mean_kw: 1, hourly: [1, 2]}\n",
            "x.yaml:4: meters[0].channels[0]:",
            "24 non-negative factors",
        ),
        ("meters: [\n", "x.yaml:2:", "not valid YAML"),
    ],
)
def test_errors_name_file_line_key_path_and_expectation(
    text: str, where: str, expected: str
) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_config(text, source="x.yaml")
    message = str(info.value)
    assert message.startswith(where), message
    assert expected in message


def test_every_shape_problem_is_reported_at_once() -> None:
    text = "meters:\n  - profile: lg-zmd\n    seed: x\n    faults: {silent: 3}\n"
    with pytest.raises(ConfigFileError) as info:
        parse_config(text, source="x.yaml")
    assert [(p.path, p.line) for p in info.value.problems] == [
        ("meters[0].seed", 3),
        ("meters[0].faults.silent", 4),
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
