"""The spool's errors: each names the file, what is wrong, and what to do about it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SpoolClosedError", "SpoolCorruptError", "SpoolError", "SpoolFullError"]


class SpoolError(Exception):
    """The spool cannot store or read batches; ``advice`` says what the operator can do."""

    def __init__(self, path: Path, problem: str, advice: str) -> None:
        super().__init__(path, problem, advice)
        self.path = path
        self.problem = problem
        self.advice = advice

    def __str__(self) -> str:
        return f"spool {self.path}: {self.problem}; {self.advice}"


class SpoolFullError(SpoolError):
    """No room left: the file system is full or the spool reached its hard size cap."""


class SpoolCorruptError(SpoolError):
    """The spool file is not a sound SQLite database."""


class SpoolClosedError(SpoolError):
    """The spool is not open (not yet, or no longer)."""
