"""Meters described in YAML: load, validate, and build ``MeterSpec`` objects.

A file is checked in two passes, and both report where the problem is as
``file:line: key.path: what was expected``:

1. its shape, by the pydantic models of ``_schema.py`` (unknown keys, wrong types,
   ranges); the line comes from the YAML node the key path leads to, since PyYAML's
   nodes keep their position and pydantic's error locations are key paths;
2. the rules of the standard and of the simulator, by ``MeterSpec`` and its parts,
   exactly as for a built-in profile; their errors name a field, mapped back onto
   the entry it came from.

An entry with ``profile:`` starts from that built-in meter. Scalar keys replace the
profile's; ``password``, ``quirks`` and ``faults`` are merged key by key into the
profile's; ``channels``, ``registers``, ``load_profile`` and ``logbook`` replace the
profile's whole section.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from poller.protocol import MODE_B_RATES, MODE_C_RATES, MODE_D_BAUD, Mode

from ._model import (
    RESIDENTIAL_CURVE,
    SOLAR_CURVE,
    Channel,
    Demand,
    Energy,
    Faults,
    Fixed,
    Instant,
    LoadCurve,
    LoadProfileSpec,
    LogbookSpec,
    MaxDemand,
    MeterClock,
    MeterSpec,
    PasswordSpec,
    ProfileChannel,
    Quirks,
    Register,
    SimulatorConfigError,
    Source,
)
from ._profiles import get_profile, profiles
from ._schema import BusModel, ChannelModel, MeterModel, RegisterModel

__all__ = ["BusConfig", "ConfigFileError", "Problem", "load_config", "parse_config"]

# libyaml's parser where PyYAML was built with it: a 32-meter file loads ~8x faster,
# which a daemon opening 64 simulated buses notices. Same nodes and marks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: where (key path, line if known) and what."""

    path: str
    line: int | None
    reason: str


class ConfigFileError(SimulatorConfigError):
    """A meters file that cannot be used; ``problems`` lists every finding."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__(first.path, first.reason)
        self.args = ("\n".join(_describe(source, p) for p in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])


def _describe(source: str, problem: Problem) -> str:
    where = source if problem.line is None else f"{source}:{problem.line}"
    return f"{where}: {problem.path or '(top level)'}: {problem.reason}"


@dataclass(frozen=True, slots=True)
class BusConfig:
    """The meters of one simulated line, and the moment its time 0 stands for."""

    meters: tuple[MeterSpec, ...]
    epoch: datetime | None = None


def load_config(path: str | Path) -> BusConfig:
    """Read and check a meters file; raises ``ConfigFileError`` naming what is wrong."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(source, [Problem("", None, f"cannot read: {exc.strerror}")]) from exc
    return parse_config(text, source=source)


def parse_config(text: str, *, source: str = "<string>") -> BusConfig:
    """Check a meters document given as text (``source`` names it in errors)."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise ConfigFileError(source, [Problem("", line, f"not valid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    try:
        model = BusModel.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(node, tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        raise ConfigFileError(source, problems) from None
    meters = []
    for index, entry in enumerate(model.meters):
        try:
            meters.append(_meter(entry, model.seed))
        except _LocatedError as exc:
            where = ("meters", index, *exc.path)
            raise ConfigFileError(source, [_problem(node, where, exc.reason)]) from exc
    return BusConfig(meters=tuple(meters), epoch=model.epoch)


# -- where: key paths and line numbers ---------------------------------------------------


def _problem(root: yaml.Node | None, loc: KeyPath, reason: str) -> Problem:
    """Follow ``loc`` into the YAML nodes as far as it goes, for a path and a line."""
    shown: list[str | int] = []
    node = root
    for item in loc:
        child = _child(node, item)
        if child is None:
            if isinstance(node, yaml.MappingNode) and isinstance(item, str):
                shown.append(item)  # a missing key: name it, point at its parent
            break  # otherwise pydantic's own tags (union members): not the user's keys
        shown.append(item)
        node = child
    line = None if node is None else node.start_mark.line + 1
    return Problem(_format_path(shown), line, reason)


def _child(node: yaml.Node | None, item: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(item, str):
        for key, value in node.value:
            if key.value == item:
                assert isinstance(value, yaml.Node)
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(item, int) and item < len(node.value):
        child = node.value[item]
        assert isinstance(child, yaml.Node)
        return child
    return None


def _format_path(path: Sequence[str | int]) -> str:
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else f".{item}" if out else item
    return out


class _LocatedError(Exception):
    def __init__(self, path: KeyPath, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@contextlib.contextmanager
def _at(path: KeyPath) -> Iterator[None]:
    try:
        yield
    except SimulatorConfigError as exc:
        raise _LocatedError(path, str(exc)) from exc


# -- building specs ----------------------------------------------------------------------

_SCALARS = (
    "address",
    "manufacturer",
    "ident",
    "reaction_time",
    "option_select_window",
    "inactivity_timeout",
    "push_interval",
    "installed",
    "utc_offset_minutes",
    "partial_block_lines",
    "seed",
)


def _meter(entry: MeterModel, bus_seed: int | None) -> MeterSpec:
    base: MeterSpec | None = None
    if entry.profile is not None:
        try:
            base = get_profile(entry.profile)
        except KeyError:
            known = ", ".join(p.name for p in profiles())
            raise _LocatedError(("profile",), f"no built-in profile; one of {known}") from None
    fields: dict[str, Any] = {
        k: getattr(entry, k) for k in _SCALARS if getattr(entry, k) is not None
    }
    if entry.seed is None and bus_seed is not None:
        fields["seed"] = bus_seed
    if entry.escapes is not None:
        fields["escapes"] = tuple(entry.escapes)
    if entry.tariff_hours is not None:
        fields["tariff_hours"] = entry.tariff_hours
    mode = Mode(entry.mode) if entry.mode else (base.mode if base else Mode.C)
    if entry.mode is not None:
        fields["mode"] = mode
    if entry.baud_char is not None:
        fields["baud_char"] = entry.baud_char
    elif entry.max_baud is not None:
        fields["baud_char"] = _baud_char(mode, entry.max_baud)
    elif base is None and mode is Mode.D:
        fields["baud_char"] = "3"
    if entry.channels is not None:
        fields["channels"] = tuple(_channel(i, c) for i, c in enumerate(entry.channels))
    if entry.registers is not None:
        fields["registers"] = tuple(_register(i, r) for i, r in enumerate(entry.registers))
    if entry.load_profile is not None:
        data = entry.load_profile.model_dump()
        data["channels"] = tuple(ProfileChannel(**c) for c in data["channels"])
        with _at(("load_profile",)):
            fields["load_profile"] = LoadProfileSpec(**data)
    if entry.logbook is not None:
        fields["logbook"] = LogbookSpec(**entry.logbook.model_dump())
    if entry.password is not None:
        start = base.password if base is not None and base.password else PasswordSpec()
        fields["password"] = dataclasses.replace(start, **_given(entry.password))
    if entry.quirks is not None:
        quirks = _given(entry.quirks)
        if "junk_before_ident" in quirks:
            quirks["junk_before_ident"] = quirks["junk_before_ident"].encode("latin-1")
        if "ident_line_end" in quirks:
            quirks["ident_line_end"] = b"\r\n" if quirks["ident_line_end"] == "CRLF" else b"\n"
        fields["quirks"] = dataclasses.replace(base.quirks if base else Quirks(), **quirks)
    if entry.faults is not None:
        faults = _given(entry.faults)
        fields["faults"] = dataclasses.replace(base.faults if base else Faults(), **faults)
    try:
        return dataclasses.replace(base, **fields) if base else MeterSpec(**fields)
    except SimulatorConfigError as exc:
        raise _LocatedError(_field_path(exc.field, entry), str(exc.reason)) from exc


def _given(model: Any) -> dict[str, Any]:
    """The keys the file sets (an explicit null counts as not set)."""
    return {k: v for k, v in model.model_dump(exclude_unset=True).items() if v is not None}


def _baud_char(mode: Mode, baud: int) -> str:
    if mode is Mode.D:
        if baud != MODE_D_BAUD:
            raise _LocatedError(("max_baud",), f"mode D meters send at {MODE_D_BAUD} Bd")
        return "3"
    rates = MODE_B_RATES if mode is Mode.B else MODE_C_RATES
    for char, rate in rates.items():
        if rate == baud:
            return char
    offered = ", ".join(str(r) for r in rates.values())
    raise _LocatedError(("max_baud",), f"a mode {mode.value} rate: one of {offered}")


def _channel(index: int, model: ChannelModel) -> Channel:
    hourly = model.hourly
    factors = (
        RESIDENTIAL_CURVE
        if hourly == "residential"
        else SOLAR_CURVE
        if hourly == "solar"
        else tuple(hourly)
    )
    with _at(("channels", index)):
        curve = LoadCurve(
            mean_kw=model.mean_kw,
            hourly=factors,
            day_jitter=model.day_jitter,
            slot_jitter=model.slot_jitter,
        )
    return Channel(name=model.name, curve=curve)


def _register(index: int, model: RegisterModel) -> Register:
    source: Source
    if model.energy is not None:
        source = Energy(**model.energy.model_dump())
    elif model.demand is not None:
        source = Demand(**model.demand.model_dump())
    elif model.max_demand is not None:
        source = MaxDemand(**model.max_demand.model_dump())
    elif model.instant is not None:
        source = Instant(**model.instant.model_dump())
    elif model.clock is not None:
        source = MeterClock(part=model.clock)
    elif isinstance(model.fixed, str):
        source = Fixed(value=model.fixed)
    else:
        assert model.fixed is not None  # the schema asks for exactly one source
        source = Fixed(value=model.fixed.value, unit=model.fixed.unit)
    return Register(code=model.code, source=source, readout=model.readout)


def _field_path(field: str, entry: MeterModel) -> KeyPath:
    """Where in an entry the field a ``MeterSpec`` check names was written."""
    head, _, rest = field.partition(".")
    if head in MeterModel.model_fields:
        if head not in entry.model_fields_set and head == "baud_char" and entry.max_baud:
            return ("max_baud",)
        return (head, rest) if rest else (head,)
    for index, register in enumerate(entry.registers or ()):
        if register.code == field:
            return ("registers", index)
    return ()
