"""Checks that travel with a settings field: written once, run by every copy of it.

A settings dataclass declares a field as ``field(default=..., metadata=checks(check))``
and calls ``check_fields(self)`` from ``__post_init__``, which runs each field's check
with the field's own name (so the message names the field the caller set). A
dataclass that offers another's field under its own name (the engine's
``MeterSettings.timeout`` is the session's ``reply_timeout``) declares it with
``same_field``, which carries the default and the check over together and remembers
where they came from, so that ``copied_fields`` can map the values back. A check that
is a range (``Limits``) can be read back with ``limits_of``: the configuration model
hands the same bounds to pydantic, so a bad value in YAML is reported at its key.

Checks that relate several fields (a password scheme needs a password) stay in the
dataclass's ``__post_init__``; these are per field only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FieldCheck",
    "Limits",
    "check_fields",
    "checks",
    "copied_fields",
    "limits_of",
    "same_field",
]

FieldCheck = Callable[[str, Any], None]
"""Called with the field's name and value; raises ``ValueError``/``TypeError``."""

_CHECK: Final = "poller.check"
_COPIED_FROM: Final = "poller.copied_from"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """A number's range; ``None`` values (an unset optional field) pass."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    unit: str = ""
    """``"s"`` for seconds; it only changes the message."""

    def __call__(self, name: str, value: Any) -> None:
        if value is None:
            return
        if (
            not math.isfinite(value)
            or (self.gt is not None and not value > self.gt)
            or (self.ge is not None and not value >= self.ge)
            or (self.le is not None and not value <= self.le)
        ):
            raise ValueError(f"{name} {self.expected()}")

    def expected(self) -> str:
        """The rule as the end of a sentence: ``cannot be negative``."""
        seconds = self.unit == "s"
        if self.ge is not None and self.le is not None and self.gt is None:
            return f"must be within {self.ge:g}-{self.le:g}{' ' + self.unit if self.unit else ''}"
        if self.gt == 0 and self.le is None:
            return "must be a positive number of seconds" if seconds else "must be positive"
        if self.ge == 0 and self.le is None:
            return "must be zero or more seconds" if seconds else "cannot be negative"
        parts = [
            f"{word} {bound:g}"
            for word, bound in (("more than", self.gt), ("at least", self.ge), ("at most", self.le))
            if bound is not None
        ]
        return f"must be {' and '.join(parts)}{' ' + self.unit if self.unit else ''}"


def checks(check: FieldCheck) -> Mapping[str, Any]:
    """A dataclass field's ``metadata`` that gives it ``check``."""
    return {_CHECK: check}


def check_fields(instance: Any) -> None:
    """Run the check of every field of the dataclass ``instance`` that has one."""
    for spec in dataclasses.fields(instance):
        check: FieldCheck | None = spec.metadata.get(_CHECK)
        if check is not None:
            check(spec.name, getattr(instance, spec.name))


def _field(cls: type[Any], name: str) -> dataclasses.Field[Any]:
    for spec in dataclasses.fields(cls):
        if spec.name == name:
            return spec
    raise AttributeError(f"{cls.__name__} has no field {name!r}")


def same_field(cls: type[Any], name: str, *, required: bool = False) -> Any:
    """``cls``'s field ``name`` (default and check) for another dataclass to declare.

    ``required`` drops the default: the other dataclass insists on a value.
    """
    spec = _field(cls, name)
    metadata = {**spec.metadata, _COPIED_FROM: (cls, name)}
    if required:
        return dataclasses.field(metadata=metadata)
    if spec.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=spec.default_factory, metadata=metadata)
    return dataclasses.field(default=spec.default, metadata=metadata)


def copied_fields(cls: type[Any], source: type[Any]) -> dict[str, str]:
    """``cls``'s fields declared with ``same_field(source, ...)``: its name -> ``source``'s."""
    copied: dict[str, str] = {}
    for spec in dataclasses.fields(cls):
        origin = spec.metadata.get(_COPIED_FROM)
        if origin is not None and origin[0] is source:
            copied[spec.name] = origin[1]
    return copied


def limits_of(cls: type[Any], name: str) -> Limits | None:
    """The range ``cls`` checks its field ``name`` against, if its check is one."""
    check = _field(cls, name).metadata.get(_CHECK)
    return check if isinstance(check, Limits) else None
