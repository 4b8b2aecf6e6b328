"""The ``spool:`` section: sizes with units, durations, and clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from poller.config import ConfigError, parse_config

BASE = """
buses:
  - name: a
    port: sim://lg-zmd
    schedule: {every: 15m}
    meters: [{address: "31002781"}]
sinks: [{type: console}]
"""


def test_defaults_and_units() -> None:
    default = parse_config(BASE).spool
    assert int(default.max_size) == 256 * 1024 * 1024
    assert default.max_age == dt.timedelta(days=30)
    custom = parse_config(BASE + "spool: {max_size: 2GB, max_age: 36h, warn_ratio: 0.5}").spool
    assert int(custom.max_size) == 2_000_000_000
    assert custom.max_age == dt.timedelta(hours=36)
    assert custom.warn_ratio == 0.5


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("spool: {max_size: lots}", "x.yaml:8:19: spool.max_size: could not parse"),
        ("spool: {max_size: 0}", "spool.max_size: must be more than 0 bytes"),
        ("spool: {max_age: 0s}", "spool.max_age: must be a positive duration"),
        ("spool: {warn_ratio: 1.5}", "spool.warn_ratio: "),
        ("spool: {max_sise: 1GB}", "did you mean 'max_size'?"),
    ],
)
def test_errors_name_the_line_and_the_key(section: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + section, filename="x.yaml")
    assert expected in str(caught.value)
