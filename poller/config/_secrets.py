"""Secrets: passwords written inline or read from a file when the configuration loads.

A password file holds the secret alone; one trailing newline (as editors add) is
not part of it. A missing, unreadable or empty file is an error naming the key path
and the file, never what is in it. A relative path is relative to the
configuration file's directory, so a config and its secrets move together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import (
    BeforeValidator,
    InstanceOf,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from poller.protocol import Password

__all__ = [
    "BASE_DIR",
    "SECRET_WORDS",
    "SecretFile",
    "SecretFileRef",
    "is_secret_key",
    "to_password",
]

BASE_DIR: Final = "base_dir"
"""Validation context key: the directory relative secret files are found in."""

SECRET_WORDS: Final = re.compile(
    r"password|passwd|secret|token|api_?key|authorization|credential|private_?key", re.I
)


def is_secret_key(key: object) -> bool:
    """Whether a key's value must never be shown (in errors, summaries, logs)."""
    return isinstance(key, str) and SECRET_WORDS.search(key) is not None


@dataclass(frozen=True, slots=True)
class SecretFile:
    """A secret file and what it held when the configuration was loaded."""

    path: Path
    secret: Password

    def __repr__(self) -> str:
        return f"SecretFile({str(self.path)!r})"


def _read(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, SecretFile):
        return value
    if not isinstance(value, str) or not value:
        raise PydanticCustomError("secret_file_type", "expected the path of a file (a string)")
    path = Path(value).expanduser()
    base = (info.context or {}).get(BASE_DIR)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise PydanticCustomError(
            "secret_file",
            "cannot read the secret file {path}: {reason}",
            {"path": str(path), "reason": reason},
        ) from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise PydanticCustomError(
            "secret_file_empty", "the secret file {path} is empty", {"path": str(path)}
        )
    return SecretFile(path, Password(secret))


SecretFileRef = Annotated[
    InstanceOf[SecretFile],
    BeforeValidator(_read),
    PlainSerializer(lambda f: str(f.path), return_type=str),
    WithJsonSchema({"type": "string", "description": "path of a file holding the secret"}),
]


def to_password(inline: SecretStr | None, file: SecretFile | None) -> Password | None:
    if file is not None:
        return file.secret
    if inline is not None:
        return Password(inline.get_secret_value())
    return None
