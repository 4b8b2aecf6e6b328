"""The YAML shape of a simulated bus, as pydantic models (``extra="forbid"``).

These models only check shapes and ranges that are the file's own business (a
probability between 0 and 1, one value source per register, ...). The rules of the
standard (reaction times, rate characters, the identification's characters) stay in
``MeterSpec`` and its parts, which ``_config.py`` builds from these models; that
way a built-in profile and a YAML meter are checked by the same code.

Every field of a meter entry is optional here: an entry either starts from a
built-in ``profile`` and overrides some of its fields, or describes a meter in full,
and the model only insists on the fields a full description cannot do without.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BusModel",
    "ChannelModel",
    "FaultsModel",
    "LoadProfileModel",
    "LogbookModel",
    "MeterModel",
    "PasswordModel",
    "ProfileChannelModel",
    "QuirksModel",
    "RegisterModel",
]

Probability = Field(default=None, ge=0.0, le=1.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnergyModel(_Strict):
    channel: str
    tariff: Literal[1, 2] | None = None
    initial: float = Field(default=0.0, ge=0.0)
    digits: int = Field(default=6, ge=1, le=12)
    decimals: int = Field(default=3, ge=0, le=6)
    unit: str = "kWh"


class DemandModel(_Strict):
    channel: str
    decimals: int = Field(default=3, ge=0, le=6)
    unit: str = "kW"


class InstantModel(_Strict):
    quantity: Literal["voltage", "current", "frequency"]
    channel: str = "import"
    phase: Literal[1, 2, 3] = 1
    decimals: int = Field(default=1, ge=0, le=6)
    unit: str = "V"


class FixedModel(_Strict):
    value: str
    unit: str | None = None


class RegisterModel(_Strict):
    """A data set with exactly one value source, named by its key."""

    code: str = Field(min_length=1, max_length=32)
    readout: bool = True
    energy: EnergyModel | None = None
    demand: DemandModel | None = None
    max_demand: DemandModel | None = None
    instant: InstantModel | None = None
    clock: Literal["time", "date"] | None = None
    fixed: str | FixedModel | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [k for k in _SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one value source of {', '.join(_SOURCES)}; got {given}")
        return self


_SOURCES = ("energy", "demand", "max_demand", "instant", "clock", "fixed")


class ChannelModel(_Strict):
    name: str
    mean_kw: float = Field(ge=0.0)
    hourly: Literal["residential", "solar"] | list[float] = "residential"
    day_jitter: float = Field(default=0.2, ge=0.0, lt=1.0)
    slot_jitter: float = Field(default=0.3, ge=0.0, lt=1.0)


class ProfileChannelModel(_Strict):
    code: str
    unit: str
    channel: str
    decimals: int = Field(default=5, ge=0, le=8)


class LoadProfileModel(_Strict):
    code: str = "P.01"
    interval_minutes: int = 15
    channels: list[ProfileChannelModel] = Field(default_factory=list)
    status: str = "00"
    depth_days: int = Field(default=40, ge=1, le=3660)


class LogbookModel(_Strict):
    code: str = "P.98"
    outages_per_month: float = Field(default=2.0, ge=0.0)
    depth_days: int = Field(default=90, ge=1, le=3660)


class PasswordModel(_Strict):
    scheme: str | None = None
    password: str | None = None
    operand: str | None = None
    lockout_after: int | None = Field(default=None, ge=1)
    lockout_seconds: float | None = Field(default=None, ge=0.0)
    wrong_reply: Literal["nak", "error", "break"] | None = None


class QuirksModel(_Strict):
    echo: bool | None = None
    junk_before_ident: str | None = None
    """Characters sent before ``/``; written as text, ``\\x00`` escapes allowed."""
    ident_line_end: Literal["CRLF", "LF"] | None = None
    announced_baud_char: str | None = Field(default=None, min_length=1, max_length=1)
    framing: Literal["7E1", "8N1"] | None = None
    break_on_timeout: bool | None = None


class FaultsModel(_Strict):
    silent: bool | None = None
    reaction_time: float | None = Field(default=None, gt=0.0, le=1.5)
    bcc_error_rate: float | None = Probability
    drop_rate: float | None = Probability
    flip_rate: float | None = Probability
    answer_baud: int | None = Field(default=None, gt=0)
    reset_after_bytes: int | None = Field(default=None, ge=0)
    nak_rate: float | None = Probability
    r1_error: str | None = None


class MeterModel(_Strict):
    """One meter: a ``profile`` with overrides, or a full description."""

    profile: str | None = None
    address: str | None = Field(default=None, min_length=1, max_length=32)
    manufacturer: str | None = None
    ident: str | None = None
    escapes: list[str] | None = None
    mode: Literal["A", "B", "C", "D"] | None = None
    baud_char: str | None = Field(default=None, min_length=1, max_length=1)
    max_baud: int | None = None
    reaction_time: float | None = None
    option_select_window: float | None = None
    inactivity_timeout: float | None = None
    push_interval: float | None = Field(default=None, gt=0.0)
    installed: datetime | None = None
    utc_offset_minutes: int | None = Field(default=None, ge=-720, le=840)
    tariff_hours: tuple[int, int] | None = None
    channels: list[ChannelModel] | None = None
    registers: list[RegisterModel] | None = None
    load_profile: LoadProfileModel | None = None
    logbook: LogbookModel | None = None
    password: PasswordModel | None = None
    partial_block_lines: int | None = Field(default=None, ge=1)
    seed: int | None = None
    quirks: QuirksModel | None = None
    faults: FaultsModel | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.baud_char is not None and self.max_baud is not None:
            raise ValueError("give baud_char or max_baud, not both")
        if self.profile is None:
            missing = [k for k in ("address", "manufacturer", "ident") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"without a profile, a meter needs {', '.join(missing)}")
        return self


class BusModel(_Strict):
    """The whole file: the meters on one line."""

    seed: int | None = None
    """Seed of every meter that does not set its own."""
    epoch: datetime | None = None
    """The wall-clock moment simulated time 0 stands for; default: when the bus starts."""
    meters: list[MeterModel] = Field(min_length=1)
