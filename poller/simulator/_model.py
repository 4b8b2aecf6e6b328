"""A simulated meter described as data: identity, timing, values, access and quirks.

Everything here is a frozen, keyword-only dataclass of plain fields (strings, numbers,
tuples, nested specs), so that a YAML file can describe a meter field by field and a
built-in profile is just an instance. Behaviour lives elsewhere: ``_readings.py``
turns a spec and a moment into values, ``_meter.py`` speaks the protocol.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from poller.protocol import (
    METER_INACTIVITY_MAX,
    METER_INACTIVITY_MIN,
    MODE_B_RATES,
    MODE_C_RATES,
    OPTION_SELECT_WINDOW_MAX,
    OPTION_SELECT_WINDOW_MIN,
    REACTION_TIME_FAST_MIN,
    REACTION_TIME_MAX,
    REACTION_TIME_MIN,
    Identification,
    InvalidMessageError,
    Mode,
    UnknownSchemeError,
    get_scheme,
)

from ._line import FRAMING_7E1, Framing

__all__ = [
    "Channel",
    "Demand",
    "Energy",
    "Faults",
    "Fixed",
    "Instant",
    "LoadCurve",
    "LoadProfileSpec",
    "LogbookSpec",
    "MaxDemand",
    "MeterClock",
    "MeterSpec",
    "PasswordSpec",
    "ProfileChannel",
    "Quirks",
    "Register",
    "SimulatorConfigError",
    "Source",
]


class SimulatorConfigError(ValueError):
    """A meter description breaks the standard or the simulator's own rules."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# A household: low at night, a morning bump, the evening peak. Mean 1.0.
RESIDENTIAL_CURVE = (
    0.45, 0.4, 0.38, 0.37, 0.38, 0.5, 0.9, 1.25, 1.1, 0.95, 0.9, 1.0,
    1.15, 1.05, 0.95, 0.9, 1.0, 1.3, 1.75, 1.9, 1.7, 1.4, 1.0, 0.67,
)  # fmt: skip
# Rooftop PV feeding in: zero at night, a midday peak. Mean 1.0.
SOLAR_CURVE = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 1.3, 2.2, 2.9, 3.3,
    3.4, 3.2, 2.8, 2.1, 1.3, 0.6, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadCurve:
    """Mean power of one channel through the day, varied per day and per quarter hour."""

    mean_kw: float
    hourly: tuple[float, ...] = RESIDENTIAL_CURVE
    day_jitter: float = 0.2
    slot_jitter: float = 0.3

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or min(self.hourly) < 0:
            raise SimulatorConfigError("hourly", "24 non-negative factors, one per hour")
        if self.mean_kw < 0 or not 0 <= self.day_jitter < 1 or not 0 <= self.slot_jitter < 1:
            raise SimulatorConfigError("curve", "power >= 0, jitters in [0, 1)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """A named power flow (``import``, ``export``, ``reactive`` ...) registers refer to."""

    name: str
    curve: LoadCurve


@dataclass(frozen=True, slots=True, kw_only=True)
class Energy:
    """An energy register: grows with its channel's power; ``tariff`` 1 = day, 2 = night."""

    channel: str
    tariff: int | None = None
    initial: float = 0.0
    digits: int = 6
    decimals: int = 3
    unit: str = "kWh"


@dataclass(frozen=True, slots=True, kw_only=True)
class Demand:
    """Mean power of the last complete load-profile interval."""

    channel: str
    decimals: int = 3
    unit: str = "kW"


@dataclass(frozen=True, slots=True, kw_only=True)
class MaxDemand:
    """Highest interval demand since the month began, with its time stamp."""

    channel: str
    decimals: int = 3
    unit: str = "kW"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instant:
    """An instantaneous quantity around a nominal value (voltage, current, frequency)."""

    quantity: Literal["voltage", "current", "frequency"]
    channel: str = "import"
    phase: int = 1
    decimals: int = 1
    unit: str = "V"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterClock:
    """The meter's clock: ``time`` as hhmmss (0.9.1) or ``date`` as YYMMDD (0.9.2)."""

    part: Literal["time", "date"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixed:
    """A value that never changes: serial numbers, firmware, status words."""

    value: str
    unit: str | None = None


Source = Energy | Demand | MaxDemand | Instant | MeterClock | Fixed


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """One data set: its address as the meter writes it and where its value comes from."""

    code: str
    source: Source
    readout: bool = True
    """Whether the data set is part of the readout (it is readable with R1/R5 anyway)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChannel:
    """A column of the load profile: the mean power of ``channel`` per interval."""

    code: str
    unit: str
    channel: str
    decimals: int = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadProfileSpec:
    """The VDEW load profile (``P.01``): one record per interval since installation."""

    code: str = "P.01"
    interval_minutes: int = 15
    channels: tuple[ProfileChannel, ...] = ()
    status: str = "00"
    depth_days: int = 40
    """How far back the meter's memory reaches; older records are gone, as in a meter."""

    def __post_init__(self) -> None:
        if self.interval_minutes <= 0 or self.interval_minutes % 15 or 1440 % self.interval_minutes:
            raise SimulatorConfigError("interval_minutes", "a multiple of 15 that divides a day")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogbookSpec:
    """The VDEW logbook (``P.98``): power failures and billing-period ends."""

    code: str = "P.98"
    outages_per_month: float = 2.0
    depth_days: int = 90


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordSpec:
    """Programming-mode access: the P0 operand, the password and how it is checked."""

    scheme: str = "plain"
    """``plain`` (P1 with the password), ``elster-a1140`` (P2) or ``none`` (no check)."""
    password: str = "00000000"  # noqa: S105 - a simulated meter's factory default
    operand: str = ""
    lockout_after: int = 3
    """Wrong passwords in a row after which the meter breaks and locks programming."""
    lockout_seconds: float = 600.0
    wrong_reply: Literal["nak", "error", "break"] = "nak"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quirks:
    """Deviations of real meters from the standard (PROTOCOL.md section 9)."""

    echo: bool = False
    """The head or adapter echoes every byte the client sends."""
    junk_before_ident: bytes = b""
    ident_line_end: bytes = b"\r\n"
    announced_baud_char: str | None = None
    """Z written in the identification when it differs from what the meter does."""
    framing: Framing = FRAMING_7E1
    """A meter that needs ``8N1`` hears a 7E1 client with parity errors."""
    break_on_timeout: bool = False
    """Sends B0 when programming mode times out, as RN reports of some meters."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """Injected failures; every probability is drawn from the meter's seeded generator."""

    silent: bool = False
    reaction_time: float | None = None
    """Overrides the reaction time, e.g. 1.45 s for a slow meter."""
    bcc_error_rate: float = 0.0
    drop_rate: float = 0.0
    flip_rate: float = 0.0
    answer_baud: int | None = None
    """After a baud switch the meter sends at this rate instead of the agreed one."""
    reset_after_bytes: int | None = None
    """The meter resets (back to idle at 300 Bd) after sending this many data bytes."""
    nak_rate: float = 0.0
    """Probability of answering a programming command with NAK."""
    r1_error: str | None = None
    """Every R1 gets this error text."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSpec:
    """One simulated meter. Times are seconds; see the field comments for the clauses."""

    address: str
    manufacturer: str
    ident: str
    escapes: tuple[str, ...] = ()
    mode: Mode = Mode.C
    baud_char: str = "5"
    """Z: the highest rate the meter offers (mode B letter, mode C digit)."""
    reaction_time: float = REACTION_TIME_MIN
    option_select_window: float = 2.0
    """tt: how long the meter waits for an option select (1.5 < tt <= 2.2 s)."""
    inactivity_timeout: float = 90.0
    push_interval: float = 1.0
    """Mode D: seconds between telegrams."""
    installed: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    utc_offset_minutes: int = 60
    """The meter keeps standard time all year; season digit z is always 0."""
    tariff_hours: tuple[int, int] = (6, 22)
    """Tariff 1 runs from the first hour to the second, tariff 2 the rest of the day."""
    channels: tuple[Channel, ...] = ()
    registers: tuple[Register, ...] = ()
    load_profile: LoadProfileSpec | None = None
    logbook: LogbookSpec | None = None
    password: PasswordSpec | None = None
    """None: the meter has no programming mode and answers Y=1 with a readout."""
    partial_block_lines: int | None = None
    """R5/R6 replies longer than this many lines go out in partial blocks."""
    seed: int = 0
    quirks: Quirks = field(default_factory=Quirks)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        try:
            self.identification  # noqa: B018 - builds and so validates the fields
        except InvalidMessageError as exc:
            raise SimulatorConfigError(exc.field, exc.reason) from exc
        if self.mode is Mode.E:
            raise SimulatorConfigError("mode", "mode E (HDLC) is not simulated")
        rates = MODE_B_RATES if self.mode is Mode.B else MODE_C_RATES
        if self.mode in (Mode.B, Mode.C) and self.baud_char not in rates:
            raise SimulatorConfigError("baud_char", f"not a mode {self.mode.value} rate character")
        if self.mode is Mode.D and self.baud_char != "3":
            raise SimulatorConfigError("baud_char", "mode D meters announce 3 (2400 Bd)")
        fast = self.manufacturer[2].islower()
        floor = REACTION_TIME_FAST_MIN if fast else REACTION_TIME_MIN
        if not floor <= self.reaction_time <= REACTION_TIME_MAX:
            raise SimulatorConfigError(
                "reaction_time",
                f"{floor}-{REACTION_TIME_MAX} s for manufacturer {self.manufacturer}",
            )
        if not OPTION_SELECT_WINDOW_MIN < self.option_select_window <= OPTION_SELECT_WINDOW_MAX:
            raise SimulatorConfigError("option_select_window", "1.5 < tt <= 2.2 s")
        if not METER_INACTIVITY_MIN <= self.inactivity_timeout <= METER_INACTIVITY_MAX:
            raise SimulatorConfigError("inactivity_timeout", "60-120 s")
        if self.installed.tzinfo is None:
            raise SimulatorConfigError("installed", "needs a time zone")
        if self.password is not None and self.password.scheme not in ("plain", "none"):
            try:
                get_scheme(self.password.scheme)
            except UnknownSchemeError as exc:
                raise SimulatorConfigError("password.scheme", str(exc)) from exc
        names = {c.name for c in self.channels}
        for register in self.registers:
            channel = getattr(register.source, "channel", None)
            if channel is not None and channel not in names:
                raise SimulatorConfigError(register.code, f"unknown channel {channel!r}")

    @property
    def identification(self) -> Identification:
        """The identification as the meter sends it (with a wrongly announced Z if any)."""
        return Identification(
            manufacturer=self.manufacturer,
            baud_char=self.quirks.announced_baud_char or self.baud_char,
            ident=self.ident,
            escapes=self.escapes,
        )

    @property
    def effective_reaction_time(self) -> float:
        return self.faults.reaction_time or self.reaction_time

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def with_address(self, address: str, *, seed: int | None = None) -> MeterSpec:
        """The same meter model with another serial number (``--count N``)."""
        return dataclasses.replace(self, address=address, seed=self.seed if seed is None else seed)
