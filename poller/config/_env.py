"""``${VAR}`` and ``${VAR:-default}`` in string values, taken from the environment.

``$$`` is a literal ``$``. Only values are interpolated, never keys. An undefined
variable without a default is an error naming the key path and the variable, never
a value (the value may be a secret, and so may the default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._errors import Loc

__all__ = ["interpolate"]

_TOKEN: Final = re.compile(r"\$(?:\$|\{([^}]*)\})")
_REFERENCE: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def interpolate(
    data: Any, environ: Mapping[str, str], path: Loc = ()
) -> tuple[Any, list[tuple[Loc, str]]]:
    """``data`` with every string value interpolated, and the problems by path."""
    problems: list[tuple[Loc, str]] = []
    result = _walk(data, environ, path, problems)
    return result, problems


def _walk(data: Any, environ: Mapping[str, str], path: Loc, problems: list[tuple[Loc, str]]) -> Any:
    if isinstance(data, dict):
        return {k: _walk(v, environ, (*path, k), problems) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, environ, (*path, i), problems) for i, v in enumerate(data)]
    if isinstance(data, str) and "$" in data:
        return _string(data, environ, path, problems)
    return data


def _string(
    text: str, environ: Mapping[str, str], path: Loc, problems: list[tuple[Loc, str]]
) -> str:
    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner is None:
            return "$"
        reference = _REFERENCE.fullmatch(inner)
        if reference is None:
            problems.append(
                (path, "malformed ${...}: write ${NAME} or ${NAME:-default} ($$ for a literal $)")
            )
            return ""
        name, default = reference.groups()
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        if value is None:
            problems.append((path, f"environment variable {name} is not set (and has no default)"))
        return ""

    return _TOKEN.sub(replace, text)
