"""Field checks: written once on a dataclass field, run by every dataclass that copies it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from poller.protocol import SessionConfig
from poller.util import Limits, check_fields, checks, copied_fields, limits_of, same_field


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    delay: float = field(default=1.0, metadata=checks(Limits(gt=0, unit="s")))
    count: int = field(default=3, metadata=checks(Limits(ge=0)))
    plain: str = "x"

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    wait: float = same_field(Source, "delay")
    count: int = same_field(Source, "count", required=True)
    own: int = 0

    def __post_init__(self) -> None:
        check_fields(self)


@pytest.mark.parametrize(
    ("limits", "good", "bad", "message"),
    [
        (Limits(gt=0, unit="s"), 0.1, 0, "x must be a positive number of seconds"),
        (Limits(gt=0), 1, 0, "x must be positive"),
        (Limits(ge=0, unit="s"), 0, -0.1, "x must be zero or more seconds"),
        (Limits(ge=0), 0, -1, "x cannot be negative"),
        (Limits(ge=0, le=1.5, unit="s"), 1.5, 1.6, "x must be within 0-1.5 s"),
        (Limits(gt=1, le=5), 5, 1, "x must be more than 1 and at most 5"),
        (Limits(ge=0), 0, float("nan"), "x cannot be negative"),
    ],
)
def test_limits_name_the_field_and_the_rule(limits, good, bad, message):
    limits("x", good)
    limits("x", None)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        limits("x", bad)


def test_a_copied_field_keeps_default_and_check_under_its_own_name():
    assert Copy(count=1).wait == 1.0
    with pytest.raises(ValueError, match=r"^wait must be a positive number of seconds$"):
        Copy(wait=0, count=1)
    with pytest.raises(ValueError, match=r"^count cannot be negative$"):
        Copy(count=-1)
    with pytest.raises(TypeError):
        Copy()
    assert copied_fields(Copy, Source) == {"wait": "delay", "count": "count"}
    assert copied_fields(Copy, SessionConfig) == {}


def test_limits_of_reads_the_range_back():
    assert limits_of(Source, "delay") == Limits(gt=0, unit="s")
    assert limits_of(Copy, "wait") == Limits(gt=0, unit="s")
    assert limits_of(Source, "plain") is None
    assert limits_of(SessionConfig, "address") is None  # a check, not a range
    assert limits_of(SessionConfig, "max_repeats") == Limits(ge=0)
    with pytest.raises(AttributeError, match="no field 'nope'"):
        limits_of(Source, "nope")
