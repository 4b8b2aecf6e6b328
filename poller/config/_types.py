"""The building blocks of the configuration models: the base model and value types.

Validation is lax about representation, because ``${VAR}`` interpolation makes every
interpolated value a string: ``unreachable_after: ${N}`` must read as the number.
It is strict about shape: no model accepts a key it does not know.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from poller.protocol import MODE_C_RATES
from poller.schedule import get_zone, parse_duration
from poller.util import limits_of

__all__ = [
    "NAME_PATTERN",
    "BaudRate",
    "ConfigModel",
    "Interval",
    "Name",
    "Seconds",
    "ZoneName",
    "like_field",
    "one_of",
]

NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
"""Bus, schedule and meter names: they end up in metric labels and file names."""

# pydantic 2.7+: field docstrings become the JSON Schema's descriptions.
_CONFIG: Final = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ConfigModel(BaseModel):
    """Every configuration mapping: unknown keys are errors, values immutable."""

    model_config = _CONFIG


_DURATION_SCHEMA: Final = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"},
    ]
}


def _seconds(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\s*[\d.]+\s*", value):
        return parse_duration(value).total_seconds()
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    return value


def _timedelta(value: Any) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"\s*[\d.]+\s*", value):
            return dt.timedelta(seconds=float(value))
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    return value


def _zone(value: str) -> str:
    get_zone(value)
    return value


Seconds = Annotated[
    float,
    BeforeValidator(_seconds),
    AfterValidator(_finite),
    WithJsonSchema(_DURATION_SCHEMA),
]
"""A time in seconds: a number (``2.5``) or a duration (``500ms``, ``3s``, ``2m``)."""

Interval = Annotated[dt.timedelta, BeforeValidator(_timedelta), WithJsonSchema(_DURATION_SCHEMA)]
"""A span of time: a duration (``1d``, ``6h``) or a number of seconds."""

ZoneName = Annotated[
    str,
    AfterValidator(_zone),
    WithJsonSchema({"type": "string", "examples": ["Europe/Berlin", "UTC"]}),
]
"""An IANA time zone name."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


def one_of(values: Iterable[object]) -> Any:
    """A ``Literal`` of ``values``: a key's spellings, taken from what defines them."""
    return Literal[tuple(values)]


def like_field(cls: type[Any], name: str, *, inherit: bool = False) -> Any:
    """A key described by the dataclass ``cls``'s field ``name``: its default and lower limit.

    ``inherit`` makes the default None instead, for a key whose value otherwise comes
    from elsewhere (a meter's from its bus's ``meter_defaults``). An upper limit is left
    to ``cls``'s own check when the object is built: its message names the unit and
    the standard's range ("within 0-1.5 s"), where pydantic's would only say "less than
    or equal to 1.5".
    """
    [spec] = [f for f in dataclasses.fields(cls) if f.name == name]
    limits = limits_of(cls, name)
    return Field(
        default=None if inherit else spec.default,
        gt=limits.gt if limits else None,
        ge=limits.ge if limits else None,
    )


if TYPE_CHECKING:
    BaudRate = int
else:
    BaudRate = one_of(MODE_C_RATES.values())
    """The mode C rates of clause 6.3.14, as the protocol lists them."""
