"""``iec-poller check-config`` on broken configurations: every message checked."""

from __future__ import annotations

import argparse

import pytest

from poller.cli import _check_config, _config_schema

BASE = [
    "state_dir: /tmp/iec-poller-test",  # 1
    "buses:",  # 2
    "  - name: cabinet-1",  # 3
    "    port: /dev/ttyUSB0",  # 4
    "    meters:",  # 5
    '      - address: "12345678"',  # 6
    "        name: flat-1",  # 7
    "    schedule: {every: 15m}",  # 8
    "sinks:",  # 9
    "  - type: jsonl",  # 10
    "    path: /tmp/iec-poller-test/readings.jsonl",  # 11
]


def text(replace=None, insert=None, delete=()):
    """BASE with lines replaced (1-based), lines inserted after a line, lines deleted."""
    lines = list(BASE)
    for number, line in (replace or {}).items():
        lines[number - 1] = line
    for number, added in sorted((insert or {}).items(), reverse=True):
        lines[number:number] = added
    for number in sorted(delete, reverse=True):
        del lines[number - 1]
    return "\n".join(lines) + "\n"


def check(tmp_path, capsys, content, *, name="config.yaml"):
    path = tmp_path / name
    path.write_text(content)
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    _check_config.add_parser(commands)
    args = parser.parse_args(["check-config", str(path)])
    status = args.run(args)
    out, err = capsys.readouterr()
    return status, out, err, str(path)


# (id, config text, [(line, column, key path, fragments of the message)])
BROKEN = [
    (
        "misspelt key",
        text(replace={6: '      - adress: "12345678"'}),
        [
            (6, 9, "buses[0].meters[0].address", ["missing required key 'address'"]),
            (6, 9, "buses[0].meters[0].adress", ["unknown key 'adress'; did you mean 'address'?"]),
        ],
    ),
    (
        "address as a number",
        text(replace={6: "      - address: 12345678"}),
        [(6, 18, "buses[0].meters[0].address", ["expected a valid string", "quote it"])],
    ),
    (
        "interval that does not divide the hour",
        text(replace={8: "    schedule: {every: 7m}"}),
        [(8, 23, "buses[0].schedule.every", ["7m does not divide the hour evenly"])],
    ),
    (
        "zero interval",
        text(replace={8: "    schedule: {every: 0m}"}),
        [(8, 23, "buses[0].schedule.every", ["the interval must be positive"])],
    ),
    (
        "bad cron",
        text(replace={8: '    schedule: {cron: "61 * * * *"}'}),
        [(8, 22, "buses[0].schedule.cron", ["not a valid cron expression", "out of range"])],
    ),
    (
        "two kinds in one schedule",
        text(replace={8: '    schedule: {every: 15m, daily: "00:05"}'}),
        [(8, 15, "buses[0].schedule", ["exactly one of every, cron and daily"])],
    ),
    (
        "duplicate meter address",
        text(insert={7: ['      - address: "12345678"', "        name: flat-2"]}),
        [
            (
                8,
                18,
                "buses[0].meters[1].address",
                ["duplicate meter address '12345678' on bus 'cabinet-1' (also meters[0])"],
            )
        ],
    ),
    (
        "duplicate bus name",
        text(
            insert={
                8: [
                    "  - name: cabinet-1",
                    "    port: /dev/ttyUSB1",
                    '    meters: [{address: "1"}]',
                    "    schedule: {every: 15m}",
                ]
            }
        ),
        [(9, 11, "buses[1].name", ["duplicate bus name 'cabinet-1' (also buses[0])"])],
    ),
    (
        "missing secret file",
        text(replace={7: "        password_file: /nonexistent/meter.pw"}),
        [
            (
                7,
                24,
                "buses[0].meters[0].password_file",
                ["cannot read the secret file /nonexistent/meter.pw: No such file or directory"],
            )
        ],
    ),
    (
        "misspelt top-level key",
        text(replace={9: "sink:"}),
        [
            (1, 1, "sinks", ["missing required key 'sinks'"]),
            (9, 1, "sink", ["unknown key 'sink'; did you mean 'sinks'?"]),
        ],
    ),
    (
        "misspelt mode",
        text(insert={7: ["        mode: readuot"]}),
        [
            (
                8,
                15,
                "buses[0].meters[0].mode",
                ["expected 'readout', 'programming' or 'push'", "did you mean 'readout'?"],
            )
        ],
    ),
    (
        "undefined environment variable",
        text(replace={4: "    port: ${IEC_POLLER_TEST_UNSET_PORT}"}),
        [
            (
                4,
                11,
                "buses[0].port",
                ["environment variable IEC_POLLER_TEST_UNSET_PORT is not set"],
            )
        ],
    ),
    (
        "unknown schedule name",
        text(
            replace={8: "    schedule: quartr"},
            insert={1: ["schedules:", "  quarter: {every: 15m}"]},
        ),
        [(10, 15, "buses[0].schedule", ["no schedule named 'quartr'", "did you mean 'quarter'?"])],
    ),
    (
        "misspelt port scheme",
        text(replace={4: "    port: sokcet://10.0.0.5:4001"}),
        [(4, 11, "buses[0].port", ["unknown port scheme sokcet://", "did you mean 'socket'?"])],
    ),
    (
        "meter without a schedule",
        text(delete=[8]),
        [(6, 9, "buses[0].meters[0]", ["meter flat-1 has no schedule"])],
    ),
    (
        "duplicate YAML key",
        text(insert={3: ["    name: cabinet-2"]}),
        [(4, 5, "buses[0].name", ["duplicate key"])],
    ),
    (
        "wrong type for a number",
        text(insert={4: ["    unreachable_after: often"]}),
        [(5, 24, "buses[0].unreachable_after", ["expected a valid integer", "got 'often'"])],
    ),
    (
        "timeout not positive",
        text(insert={7: ["        timeout: 0"]}),
        [(8, 18, "buses[0].meters[0].timeout", ["expected greater than 0"])],
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_configurations(tmp_path, capsys, monkeypatch, content, expected):
    monkeypatch.delenv("IEC_POLLER_TEST_UNSET_PORT", raising=False)
    status, out, err, path = check(tmp_path, capsys, content)
    assert status == _check_config.EXIT_INVALID == 2
    assert out == ""
    lines = err.splitlines()
    assert lines[-1] == f"{path}: {len(expected)} problem{'s' * (len(expected) != 1)}"
    assert len(lines) == len(expected) + 1, err
    for line, (row, column, key, fragments) in zip(lines, expected, strict=False):
        prefix = f"{path}:{row}:{column}: {key}: "
        assert line.startswith(prefix), (line, prefix)
        for fragment in fragments:
            assert fragment in line, (fragment, line)


def test_yaml_syntax_error_names_the_place(tmp_path, capsys):
    status, _, err, path = check(tmp_path, capsys, text(replace={5: "    meters: [", 6: ""}))
    assert status == 2
    assert err.startswith(f"{path}:")
    assert "not valid YAML" in err


def test_secrets_are_never_echoed(tmp_path, capsys):
    content = text(insert={7: ["        password: 987654321", "        passwrd: hunter2"]})
    status, _, err, path = check(tmp_path, capsys, content)
    assert status == 2
    assert f"{path}:8:19: buses[0].meters[0].password: expected a valid string" in err
    assert "did you mean 'password'?" in err
    assert "987654321" not in err
    assert "hunter2" not in err


def test_a_missing_file(tmp_path, capsys):
    path = tmp_path / "absent.yaml"
    parser = argparse.ArgumentParser()
    _check_config.add_parser(parser.add_subparsers())
    args = parser.parse_args(["check-config", str(path)])
    assert args.run(args) == 2
    assert capsys.readouterr().err.startswith(f"{path}: (top level): cannot read: No such file")


def test_valid_configuration_summary(tmp_path, capsys):
    content = text(insert={7: ["        mode: programming", '        registers: ["1.8.0"]']})
    status, out, err, path = check(tmp_path, capsys, "timezone: Europe/Berlin\n" + content)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{path}: valid"
    assert "bus cabinet-1 on /dev/ttyUSB0: 1 meter" in lines
    assert any(
        line.split() == ["12345678", "flat-1", "programming", "every", "15m", "(Europe/Berlin)"]
        for line in lines
    )
    next_line = next(line for line in lines if line.strip().startswith("next:"))
    runs = next_line.split("next:")[1].split(",")
    assert len(runs) == 3
    assert all(r.strip()[14:16] in {"00", "15", "30", "45"} for r in runs)
    assert lines[-3:] == ["sinks:", "  jsonl", "http: http://127.0.0.1:9462"]


def test_config_schema_prints_json_schema(capsys):
    import json

    parser = argparse.ArgumentParser()
    _config_schema.add_parser(parser.add_subparsers())
    args = parser.parse_args(["config-schema"])
    assert args.run(args) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "iec-poller configuration"
    assert schema["additionalProperties"] is False
    assert {"buses", "sinks", "schedules", "state_dir", "log", "http"} <= set(schema["properties"])
