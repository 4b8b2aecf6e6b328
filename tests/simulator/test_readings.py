"""Values evolve like a real meter's, as a pure function of (meter, moment)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from poller.simulator import MeterSpec, SimulatorConfigError, get_profile, profiles
from poller.simulator._readings import (
    find_register,
    logbook_lines,
    profile_lines,
    readout_lines,
    register_line,
)

from .helpers import EPOCH

LZQJ = get_profile("emh-lzqj")
ZMD = get_profile("lg-zmd")


def value(spec: MeterSpec, code: str, moment: datetime) -> str:
    register = find_register(spec, code)
    assert register is not None
    return register_line(spec, register, moment).values[0][0]


def test_energy_only_grows() -> None:
    readings = [float(value(ZMD, "1.8.0", EPOCH + timedelta(minutes=7 * i))) for i in range(300)]
    assert readings == sorted(readings)
    assert readings[-1] > readings[0]


def test_tariffs_add_up_to_the_total() -> None:
    for hours in (0, 5, 13, 23):
        when = EPOCH + timedelta(hours=hours)
        parts = float(value(ZMD, "1.8.1", when)) + float(value(ZMD, "1.8.2", when))
        assert parts == pytest.approx(float(value(ZMD, "1.8.0", when)), abs=0.002)


def test_load_profile_integrates_to_the_energy_register() -> None:
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    end = start + timedelta(days=1) - timedelta(minutes=15)
    lines = profile_lines(LZQJ, EPOCH, start, end)
    assert lines is not None
    kw = [float(re.findall(r"\(([^)]*)\)", line)[0]) for line in lines[1:]]
    assert len(kw) == 96
    # Each record is stamped at the end of the interval it averages.
    quarter = timedelta(minutes=15)
    energy = float(value(LZQJ, "1.8.0", end)) - float(value(LZQJ, "1.8.0", start - quarter))
    assert sum(kw) * 0.25 == pytest.approx(energy, abs=0.01)


def test_load_profile_has_a_record_for_every_interval_in_its_memory() -> None:
    lines = profile_lines(LZQJ, EPOCH, None, None)
    assert lines is not None
    depth = LZQJ.load_profile.depth_days  # type: ignore[union-attr]
    assert len(lines) - 1 == depth * 96 + 1
    # A meter installed an hour ago holds four records.
    young = dataclasses.replace(LZQJ, installed=EPOCH - timedelta(hours=1))
    lines = profile_lines(young, EPOCH, None, None)
    assert lines is not None
    assert len(lines) == 1 + 4


def test_clock_registers_follow_the_simulated_time() -> None:
    when = datetime(2026, 3, 2, 23, 59, 58, tzinfo=UTC)  # 00:59:58 on the 3rd, meter time
    assert value(ZMD, "0.9.1", when) == "005958"
    assert value(ZMD, "0.9.2", when) == "260303"


def test_demand_is_the_last_interval_mean() -> None:
    when = datetime(2026, 3, 2, 17, 7, tzinfo=UTC)
    start = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 18:00 meter time
    lines = profile_lines(LZQJ, when, start, start)
    assert lines is not None
    assert float(value(LZQJ, "1.5.0", when)) == pytest.approx(
        float(lines[1].split(")")[0][1:]), abs=0.001
    )


def test_values_are_deterministic_and_depend_on_the_seed() -> None:
    assert readout_lines(ZMD, EPOCH) == readout_lines(ZMD, EPOCH)
    other = dataclasses.replace(ZMD, seed=99)
    assert value(ZMD, "1.8.0", EPOCH) != value(other, "1.8.0", EPOCH)


def test_logbook_holds_billing_ends_and_outage_pairs() -> None:
    lines = logbook_lines(LZQJ, EPOCH, None, None)
    assert lines is not None
    statuses = [line.split(")(")[1] for line in lines]
    assert statuses.count("00000080") == statuses.count("00000040")
    assert "00000010" in statuses
    assert logbook_lines(LZQJ, EPOCH, EPOCH + timedelta(days=1), None) is None


def test_readout_lines_fit_the_standard() -> None:
    for profile in profiles():
        for line in readout_lines(profile.spec, EPOCH):
            text = line.address + "".join(f"({v}*{u})" for v, u in line.values)
            assert len(text) + 2 <= 78
            assert "/" not in text
            assert "!" not in text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reaction_time": 0.02}, "reaction_time"),  # uppercase LGZ: 200 ms at least
        ({"reaction_time": 1.6}, "reaction_time"),
        ({"inactivity_timeout": 30.0}, "inactivity_timeout"),
        ({"option_select_window": 1.5}, "option_select_window"),
        ({"baud_char": "E"}, "baud_char"),
        ({"manufacturer": "L/G"}, "manufacturer"),
    ],
)
def test_specs_are_validated(changes: dict[str, object], field: str) -> None:
    with pytest.raises(SimulatorConfigError) as info:
        dataclasses.replace(ZMD, **changes)  # type: ignore[arg-type]
    assert info.value.field == field


def test_every_profile_is_listed_with_a_unique_name() -> None:
    names = [p.name for p in profiles()]
    assert len(names) == len(set(names)) >= 4
    for profile in profiles():
        assert get_profile(profile.name) is profile.spec
