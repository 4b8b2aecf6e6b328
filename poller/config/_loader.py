"""Loading a configuration file: YAML with positions, ``${VAR}``, validation, checks.

Every problem found is collected, not just the first, and reported as
``file:line:column: key.path: what was expected``. Steps:

1. Parse YAML keeping each key's and value's position (``_yaml``).
2. Interpolate ``${VAR}`` in string values (``_env``).
3. Validate each sink entry against its type's model.
4. Validate the whole document with pydantic; each error's location becomes a key
   path and a position, and an unknown key gets "did you mean" from the keys the
   model at that place allows.
5. Check what no single model can see: unique bus names, meter addresses and names,
   schedule names that exist, every meter scheduled, and the engine's own checks
   (building ``MeterSettings``, ``PortOptions``, ``EngineOptions``, schedules).

No value of a key that names a secret (password, token...) is ever shown.
"""

from __future__ import annotations

import functools
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from ._buses import RS485_TAGS
from ._env import interpolate
from ._errors import ConfigError, ConfigProblem, Loc, format_path
from ._meters import build_meter_settings
from ._model import Config
from ._schedules import UNION_TAGS
from ._secrets import BASE_DIR, is_secret_key
from ._sinks import AnySink, SinkModels, default_sink_models
from ._suggest import close_match, did_you_mean
from ._yaml import MarkedDocument, load_marked

__all__ = ["load_config", "parse_config"]

_TAGS: Final = UNION_TAGS | RS485_TAGS
_SCHEDULE_KEYS: Final = ("schedule", "profile_schedule")
# Messages that already say what the value was, or come from our own validators.
_NO_ECHO_TYPES: Final = frozenset({"value_error", "assertion_error", "extra_forbidden", "missing"})


def load_config(
    path: str | os.PathLike[str],
    *,
    sink_models: SinkModels | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate ``path``; ``ConfigError`` lists every problem found."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        problem = ConfigProblem(
            file=str(file), line=None, column=None, path=(), message=f"cannot read: {reason}"
        )
        raise ConfigError([problem]) from None
    return parse_config(
        text,
        filename=str(file),
        base_dir=file.parent,
        sink_models=sink_models,
        environ=environ,
    )


def parse_config(
    text: str,
    *,
    filename: str = "<config>",
    base_dir: str | os.PathLike[str] | None = None,
    sink_models: SinkModels | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate configuration ``text``; relative secret files are found in ``base_dir``."""
    try:
        document = load_marked(text, filename)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ConfigProblem(
            file=filename,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            path=(),
            message=f"not valid YAML: {exc.problem or exc.context}",
        )
        raise ConfigError([problem]) from None
    except yaml.YAMLError as exc:
        problem = ConfigProblem(
            file=filename, line=None, column=None, path=(), message=f"not valid YAML: {exc}"
        )
        raise ConfigError([problem]) from None
    return _Validation(document, filename, base_dir, sink_models, environ).run()


class _Validation:
    def __init__(
        self,
        document: MarkedDocument,
        filename: str,
        base_dir: str | os.PathLike[str] | None,
        sink_models: SinkModels | None,
        environ: Mapping[str, str] | None,
    ) -> None:
        self._doc = document
        self._file = filename
        self._context = {BASE_DIR: str(base_dir) if base_dir is not None else None}
        self._sink_models = sink_models
        self._environ = os.environ if environ is None else environ
        self.problems: list[ConfigProblem] = list(document.problems)
        self._unset: set[Loc] = set()

    def run(self) -> Config:
        data = self._doc.data
        if not isinstance(data, dict):
            what = "the file is empty" if data is None else "the top level is not a mapping"
            self._add((), f"{what}; expected a mapping with at least buses and sinks")
            raise ConfigError(self.problems)
        data, env_problems = interpolate(data, self._environ)
        for path, message in env_problems:
            self._add(path, message)
        # A value whose variable is missing is wrong because of it: say so only once.
        self._unset = {path for path, _ in env_problems}
        if isinstance(data.get("sinks"), list):
            data["sinks"] = [self._sink(i, entry) for i, entry in enumerate(data["sinks"])]
        self._cross_checks(data)
        config: Config | None = None
        try:
            config = Config.model_validate(data, context=self._context)
        except ValidationError as exc:
            self._pydantic(exc, Config, ())
        if config is not None and not self.problems:
            self._engine_checks(config)
        if self.problems:
            raise ConfigError(sorted(self.problems, key=_order))
        assert config is not None
        return config

    # -- reporting ---------------------------------------------------------------

    def _add(self, path: Loc, message: str, *, key: bool = False) -> None:
        position = self._doc.position(path, key=key)
        self.problems.append(
            ConfigProblem(
                file=self._file,
                line=position.line if position else None,
                column=position.column if position else None,
                path=path,
                message=message,
            )
        )

    def _pydantic(self, exc: ValidationError, model: type[BaseModel], prefix: Loc) -> None:
        for error in exc.errors(include_url=False):
            loc: Loc = tuple(p for p in error["loc"] if p not in _TAGS)
            if error["type"] == "is_instance_of" and loc[:1] == ("sinks",):
                continue  # a sink entry that failed its own validation, reported already
            path = (*prefix, *loc)
            if path in self._unset:
                continue
            message, at_key = _message(error, model, loc)
            self._add(path, message, key=at_key)

    # -- sinks -------------------------------------------------------------------

    def _sink(self, index: int, entry: Any) -> Any:
        path: Loc = ("sinks", index)
        if not isinstance(entry, dict):
            self._add(path, "expected a mapping with a type key, e.g. {type: jsonl, path: ...}")
            return entry
        kind = entry.get("type")
        if kind is None:
            self._add((*path, "type"), "missing required key 'type' (the kind of sink)")
            return entry
        models = self._sink_models if self._sink_models is not None else default_sink_models()
        model: type[BaseModel] = AnySink
        if models is not None:
            if not isinstance(kind, str) or kind not in models:
                known = ", ".join(sorted(models)) or "none installed"
                hint = did_you_mean(str(kind), models)
                self._add((*path, "type"), f"unknown sink type {kind!r}{hint}; known: {known}")
                return entry
            try:
                model = models[kind]
            except LookupError as exc:  # installed, but its plug-in does not load
                self._add((*path, "type"), str(exc))
                return entry
        try:
            return model.model_validate(entry, context=self._context)
        except ValidationError as exc:
            self._pydantic(exc, model, path)
            return entry

    # -- checks across entries ---------------------------------------------------

    def _cross_checks(self, data: dict[str, Any]) -> None:
        schedules = data.get("schedules")
        names = set(schedules) if isinstance(schedules, dict) else set()
        buses = data.get("buses")
        if not isinstance(buses, list):
            return
        seen_buses: dict[Any, int] = {}
        seen_names: dict[Any, Loc] = {}
        for i, bus in enumerate(buses):
            if not isinstance(bus, dict):
                continue
            name = bus.get("name")
            if isinstance(name, str):
                if name in seen_buses:
                    self._add(
                        ("buses", i, "name"),
                        f"duplicate bus name {name!r} (also buses[{seen_buses[name]}])",
                    )
                seen_buses.setdefault(name, i)
            self._schedule_refs(bus, ("buses", i), names)
            meters = bus.get("meters")
            if isinstance(meters, list):
                self._meters(i, bus, meters, names, seen_names)

    def _meters(
        self,
        index: int,
        bus: dict[str, Any],
        meters: list[Any],
        schedule_names: set[str],
        seen_names: dict[Any, Loc],
    ) -> None:
        label = bus.get("name", f"buses[{index}]")
        seen: dict[Any, int] = {}
        for j, meter in enumerate(meters):
            if not isinstance(meter, dict):
                continue
            path: Loc = ("buses", index, "meters", j)
            address = meter.get("address")
            if isinstance(address, str):
                if address in seen:
                    self._add(
                        (*path, "address"),
                        f"duplicate meter address {address!r} on bus {label!r}"
                        f" (also meters[{seen[address]}]); every sign-on is addressed",
                    )
                seen.setdefault(address, j)
            name = meter.get("name")
            if isinstance(name, str):
                if name in seen_names:
                    other = format_path(seen_names[name])
                    self._add((*path, "name"), f"duplicate meter name {name!r} (also {other})")
                seen_names.setdefault(name, (*path, "name"))
            self._schedule_refs(meter, path, schedule_names)

    def _schedule_refs(self, entry: dict[str, Any], path: Loc, names: set[str]) -> None:
        for key in _SCHEDULE_KEYS:
            ref = entry.get(key)
            if isinstance(ref, str) and ref not in names:
                if names:
                    hint = did_you_mean(ref, names) or f" (defined: {', '.join(sorted(names))})"
                else:
                    hint = "; none are defined (or write one inline: {every: 15m})"
                self._add((*path, key), f"no schedule named {ref!r} under schedules{hint}")

    def _engine_checks(self, config: Config) -> None:
        for name, spec in config.schedules.items():
            self._try(("schedules", name), functools.partial(spec.build, config.zone))
        for i, bus in enumerate(config.buses):
            path: Loc = ("buses", i)
            self._try(path, bus.port_options)
            self._try(path, bus.engine_options)
            for j, meter in enumerate(bus.meters):
                meter_path: Loc = (*path, "meters", j)
                self._try(
                    meter_path, functools.partial(build_meter_settings, meter, bus.meter_defaults)
                )
                if config.meter_schedule(bus, meter) is None:
                    self._add(
                        meter_path,
                        f"meter {meter.name or meter.address} has no schedule; set schedule"
                        f" on it or on bus {bus.name!r}",
                    )
                if (
                    meter.profile_schedule is not None
                    and config.profile_schedule(bus, meter) is None
                ):
                    self._add(
                        (*meter_path, "profile_schedule"),
                        "profile_schedule needs mode: programming and profiles to collect",
                    )

    def _try(self, path: Loc, build: typing.Callable[[], object]) -> None:
        try:
            build()
        except (ValueError, TypeError) as exc:
            self._add(path, str(exc))


def _order(problem: ConfigProblem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)


# -- pydantic errors as messages -----------------------------------------------------

_INPUT_SHOULD: Final = re.compile(r"^Input should (be )?")


def _message(error: Any, model: type[BaseModel], loc: Loc) -> tuple[str, bool]:
    kind: str = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = sorted(_allowed_keys(model, loc[:-1]))
        match = close_match(key, allowed)
        if match:
            return f"unknown key {key!r}; did you mean {match!r}?", True
        return f"unknown key {key!r}; expected one of: {', '.join(allowed)}", True
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing", False
    text: str = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    text = _INPUT_SHOULD.sub("expected ", text)
    value = error.get("input")
    secret = any(is_secret_key(part) for part in loc)
    if kind == "literal_error" and isinstance(value, str) and not secret:
        options = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        text += did_you_mean(value, options)
    if kind not in _NO_ECHO_TYPES and not secret and _scalar(value):
        text += f", got {value!r}"
        if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
            text += " (quote it: YAML reads unquoted digits as a number, losing leading zeros)"
    return text, False


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _allowed_keys(model: type[BaseModel], loc: Loc) -> set[str]:
    candidates: list[Any] = [model]
    for part in loc:
        candidates = [child for tp in candidates for child in _children(tp, part)]
    return {name for tp in candidates for m in _models(tp) for name in m.model_fields}


def _flatten(tp: Any) -> Iterable[Any]:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        yield from _flatten(get_args(tp)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for arg in get_args(tp):
            yield from _flatten(arg)
    else:
        yield tp


def _models(tp: Any) -> list[type[BaseModel]]:
    return [t for t in _flatten(tp) if isinstance(t, type) and issubclass(t, BaseModel)]


def _children(tp: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for t in _flatten(tp):
        origin = get_origin(t)
        if isinstance(part, int) and origin in (list, tuple):
            found.append(get_args(t)[0])
        elif isinstance(part, str) and origin is dict:
            found.append(get_args(t)[1])
        elif isinstance(part, str) and isinstance(t, type) and issubclass(t, BaseModel):
            field = t.model_fields.get(part)
            if field is not None:
                found.append(field.annotation)
    return found
