"""Configuration problems: each names the file, line, column and key path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem", "format_path"]

Loc = tuple[str | int, ...]


def format_path(path: Loc) -> str:
    """``("buses", 0, "meters", 2, "adress")`` -> ``buses[0].meters[2].adress``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigProblem:
    """One problem; ``line`` and ``column`` count from 1 (None when unknown)."""

    file: str
    line: int | None
    column: int | None
    path: Loc
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        key = format_path(self.path) or "(top level)"
        return f"{where}: {key}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
