"""Buses from what a user names: N copies of a profile, or a meters file."""

from __future__ import annotations

import pytest

from poller.simulator import Fixed, get_profile
from poller.simulator._setup import build_bus, nth_address, select_meters


@pytest.mark.parametrize(
    ("address", "offset", "expected"),
    [
        ("06417290", 1, "06417291"),
        ("31002789", 2, "31002791"),
        ("1ESY99", 1, "1ESY100"),
        ("X", 3, "X3"),
    ],
)
def test_nth_address_counts_the_trailing_number(address: str, offset: int, expected: str) -> None:
    assert nth_address(address, offset) == expected


def test_copies_get_their_own_address_seed_and_serial_registers() -> None:
    meters = select_meters(profile="lg-zmd", count=3).meters
    base = get_profile("lg-zmd")
    assert [m.address for m in meters] == ["31002781", "31002782", "31002783"]
    assert [m.seed for m in meters] == [base.seed, base.seed + 1, base.seed + 2]
    serials = {r.code: r.source for r in meters[2].registers if isinstance(r.source, Fixed)}
    assert serials["C.1.0"] == Fixed(value="31002783")
    assert serials["0.0"] == Fixed(value="        31002783")
    assert serials["F.F"] == Fixed(value="00")


def test_seed_overrides_and_arguments_are_checked() -> None:
    assert [m.seed for m in select_meters(profile="metcom", count=2, seed=10).meters] == [10, 11]
    with pytest.raises(ValueError, match="either"):
        select_meters()
    with pytest.raises(ValueError, match="count"):
        select_meters(profile="lg-zmd", count=0)
    with pytest.raises(KeyError):
        select_meters(profile="nope")


def test_build_bus_puts_every_meter_on_one_line() -> None:
    bus = build_bus(select_meters(profile="iskra-mt174", count=4))
    assert len(bus.meters) == 4
    assert len({m.epoch for m in bus.meters}) == 1
