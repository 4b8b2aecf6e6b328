"""Meter configuration: one entry under a bus's ``meters``, and the bus's ``meter_defaults``.

Every field of ``poller.engine.MeterSettings`` a user sets is here, under the same
name and meaning; durations may be written as ``500ms``/``3s``/``2m`` as well as in
seconds. A meter's own value wins over the bus's ``meter_defaults``, which win over
the engine's defaults. ``build_meter_settings`` makes the engine's object.

What a key allows is not written here but read from the engine's description: a
number's range from the ``Limits`` its ``MeterSettings`` field is checked against (so
pydantic reports it at the key), a name's spellings from the enum or rate table, the
defaults from ``MeterSettings`` itself (every key here defaults to None: "inherit"),
and how a value becomes the field's type from the field's annotation.
The checks pydantic cannot express run when ``MeterSettings`` is built, and the
loader reports them at the meter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Self

from pydantic import Field, SecretStr, model_validator

from poller.engine import MeterSettings
from poller.protocol import (
    MAX_ADDRESS_LEN,
    LineFraming,
    Mode,
    SessionMode,
    UnknownSchemeError,
    get_scheme,
)
from poller.schedule import get_zone
from poller.util import Backoff

from ._schedules import ScheduleRef
from ._secrets import SecretFileRef, to_password
from ._types import BaudRate, ConfigModel, Interval, Seconds, ZoneName, like_field, one_of

__all__ = ["BackoffConfig", "MeterConfig", "MeterOptions", "build_meter_settings"]


class BackoffConfig(ConfigModel):
    """Waits of ``initial * factor**(n-1)`` seconds after n failures, capped at ``maximum``."""

    initial: Seconds | None = Field(default=None, ge=0)
    maximum: Seconds | None = Field(default=None, ge=0)
    factor: float | None = Field(default=None, ge=1)
    jitter: float | None = Field(default=None, ge=0, lt=1)
    """Fraction of each wait drawn at random either way."""

    def apply(self, base: Backoff) -> Backoff:
        return replace(base, **{k: v for k, v in self.model_dump().items() if v is not None})


def _check_scheme(name: str | None) -> str | None:
    if name is not None:
        try:
            get_scheme(name)
        except UnknownSchemeError as exc:
            known = ", ".join(exc.known) or "none"
            raise ValueError(f"unknown password scheme {name!r}; known: {known}") from None
    return name


def _inherited(name: str) -> Any:
    """A key unset unless given (so it inherits), within ``MeterSettings``'s lower limit."""
    return like_field(MeterSettings, name, inherit=True)


if TYPE_CHECKING:
    ModeName = str
    FramingName = str
    ProtocolMode = str
else:
    ModeName = one_of(mode.value for mode in SessionMode)
    FramingName = one_of(framing.value for framing in LineFraming)
    ProtocolMode = one_of(mode.value for mode in Mode)


class MeterOptions(ConfigModel):
    """Settings a meter takes from its bus's ``meter_defaults`` unless it sets them."""

    mode: ModeName | None = None
    """readout: data readout (modes A/B/C); programming: R1 registers and R5 profiles; push:
    listen for mode D telegrams."""
    password: SecretStr | None = None
    """Programming-mode password (P1, or the P2 scheme's input); prefer password_file."""
    password_file: SecretFileRef | None = None
    """File holding the password, read when the configuration loads."""
    password_scheme: str | None = None
    """Registered P2 scheme (e.g. elster-a1140); unset sends P1."""
    registers: list[str] | None = None
    """Programming mode: registers read with R1 (1.8.0, 1-0:1.8.0*255)."""
    profiles: list[str] | None = None
    """Programming mode: load profiles and logbooks read incrementally with R5 (P.01, P.98)."""
    profile_backfill: Interval | None = None
    """How far back the first profile read reaches (default 1d)."""
    profile_max_span: Interval | None = None
    """Longest range asked for in one read; a longer backlog takes several reads."""
    max_baud: BaudRate | None = None
    """Cap on the mode C rate."""
    framing: FramingName | None = None
    """Character format: 7E1 (the standard) or 8N1."""
    wake_up: bool | None = None
    """Send the NUL wake-up sequence before signing on (battery meters)."""
    timeout: Seconds | None = _inherited("timeout")
    """Reply timeout of each message."""
    session_timeout: Seconds | None = _inherited("session_timeout")
    """Deadline of the whole conversation."""
    max_repeats: int | None = _inherited("max_repeats")
    """Repeats of one message inside a session."""
    retries: int | None = _inherited("retries")
    """Further sessions after a failed one, requeued behind the other meters."""
    backoff: BackoffConfig | None = None
    """Pause before a retry after failures in a row."""
    switch_delay: Seconds | None = _inherited("switch_delay")
    """Extra wait before switching baud after the option select."""
    client_reaction_time: Seconds | None = _inherited("client_reaction_time")
    """Our reaction time before answering the identification."""
    force_mode: ProtocolMode | None = None
    """Treat the meter as this protocol mode whatever its identification says."""
    fallback_after: int | None = _inherited("fallback_after")
    """Failed sessions at one rate after which the rate cap is lowered (0: never)."""
    fallback_baud: BaudRate | None = None
    """The cap to fall back to; unset steps down one rate at a time."""
    timezone: ZoneName | None = None
    """The meter clock's zone, for profile timestamps (default UTC)."""
    push_timeout: Seconds | None = _inherited("push_timeout")
    """How long a push session listens for a telegram."""

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set password or password_file, not both")
        _check_scheme(self.password_scheme)
        return self


class MeterConfig(MeterOptions):
    """One meter on a bus."""

    address: str = Field(min_length=1, max_length=MAX_ADDRESS_LEN)
    """The meter's address (serial number) used in /?address!; quote it: "06417290"."""
    name: str | None = Field(default=None, min_length=1, max_length=64)
    """A name for logs, metrics and sinks; default the address."""
    schedule: ScheduleRef | None = None
    """When to read it; default the bus's schedule."""
    profile_schedule: ScheduleRef | None = None
    """When to collect its profiles (programming mode), e.g. {daily: "00:05"}."""


# An explicit null keeps the engine's None ("no cap") rather than inheriting.
_NULLABLE: Final = frozenset(f.name for f in dataclasses.fields(MeterSettings) if f.default is None)
_SECRET_FIELDS: Final = ("password", "password_file")
_FIELDS: Final = tuple(f for f in MeterOptions.model_fields if f not in _SECRET_FIELDS)


def _pick(meter: MeterConfig, defaults: MeterOptions) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for name in _FIELDS:
        for source in (meter, defaults):
            if name in source.model_fields_set:
                value = getattr(source, name)
                if value is not None or name in _NULLABLE:
                    chosen[name] = value
                    break
    return chosen


def _has_secret(options: MeterOptions) -> bool:
    return any(f in options.model_fields_set for f in _SECRET_FIELDS)


def build_meter_settings(meter: MeterConfig, defaults: MeterOptions) -> MeterSettings:
    """The engine's settings; ``ValueError``/``TypeError`` from ``MeterSettings`` pass on."""
    values = _pick(meter, defaults)
    secrets = meter if _has_secret(meter) else defaults
    kwargs: dict[str, Any] = {
        "address": meter.address,
        "name": meter.name,
        "password": to_password(secrets.password, secrets.password_file),
    }
    for name, value in values.items():
        if name == "backoff":
            kwargs[name] = value.apply(_engine_default_backoff())
        elif value is not None and name in _CONVERTERS:
            kwargs[name] = _CONVERTERS[name](value)
        else:
            kwargs[name] = value
    return MeterSettings(**kwargs)


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """How a key's value becomes a ``MeterSettings`` field of type ``hint`` (None: as is)."""
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    [kind] = [k for k in kinds if k is not type(None)]
    if typing.get_origin(kind) is tuple:
        return tuple
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind  # the key spells one of its values (one_of above)
    if kind is dt.tzinfo:
        return get_zone
    return None


# From MeterSettings' annotations, so that a field's type is written there only.
_CONVERTERS: Final = {
    name: convert
    for name, hint in typing.get_type_hints(MeterSettings).items()
    if (convert := _converter(hint)) is not None
}


def _engine_default_backoff() -> Backoff:
    for spec in dataclasses.fields(MeterSettings):
        if spec.name == "backoff" and callable(spec.default_factory):
            value = spec.default_factory()
            assert isinstance(value, Backoff)
            return value
    raise AssertionError("MeterSettings has no default backoff")  # pragma: no cover
