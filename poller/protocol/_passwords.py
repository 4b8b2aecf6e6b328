"""Meter passwords and the P2 schemes that turn a meter's P0 operand into an answer.

A programming session signs on with ``P1(password)`` or, for meters with a
"secure algorithm" (clause 6.3.7, item 19), with ``P2(f(operand, password))`` where
the operand is the seed the meter sent in its ``P0`` message. The algorithms are the
manufacturers'; they live in a small registry so that a site can add its own without
touching the session.

Secrets never reach a log: ``Password`` hides its value from ``repr``/``str``, and
every error raised here names the problem, never the password.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Final, NoReturn, final

from ._errors import AuthenticationError, ProtocolError

__all__ = [
    "Password",
    "PasswordScheme",
    "UnknownSchemeError",
    "get_scheme",
    "register_scheme",
    "scheme_names",
]


@final
class Password:
    """A meter password that does not show itself in logs or tracebacks.

    ``repr`` and ``str`` give ``Password('***')``; ``reveal()`` is the one way to the
    value, so every place that needs the secret is easy to find.
    """

    __slots__ = ("_secret",)
    _secret: str

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str):
            raise TypeError("a password is a str")
        object.__setattr__(self, "_secret", secret)

    def reveal(self) -> str:
        """The password itself, for the one place that sends it."""
        return self._secret

    def __repr__(self) -> str:
        return "Password('***')"

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Password is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Password is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Password):
            return NotImplemented
        # Constant time: comparing secrets should not leak how much of them matched.
        return hmac.compare_digest(self._secret.encode(), other._secret.encode())

    def __hash__(self) -> int:
        return hash((Password, self._secret))

    def __reduce__(self) -> NoReturn:
        # Pickling would write the secret to wherever the pickle goes (a queue, a file).
        raise TypeError("a Password cannot be pickled")


PasswordScheme = Callable[[str, Password], str]
"""``scheme(operand, password) -> text``: what to send in ``P2(...)``.

``operand`` is the text between the brackets of the meter's ``P0`` message.
"""


class UnknownSchemeError(ProtocolError, ValueError):
    """No password scheme is registered under ``name``; ``known`` lists those that are."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        listed = ", ".join(known) or "none"
        super().__init__(f"unknown password scheme {name!r}; known schemes: {listed}")


_SCHEMES: dict[str, PasswordScheme] = {}


def register_scheme(name: str, scheme: PasswordScheme) -> Callable[[], None]:
    """Make ``scheme`` available as ``name``; the returned callable removes it again.

    A name can be registered once; unregister first to replace a scheme.
    """
    if not name or not name.isprintable():
        raise ValueError("a scheme name is a non-empty printable string")
    if name in _SCHEMES:
        raise ValueError(f"password scheme {name!r} is already registered")
    _SCHEMES[name] = scheme

    def unregister() -> None:
        # Only remove what this call added: a later re-registration stays.
        if _SCHEMES.get(name) is scheme:
            del _SCHEMES[name]

    return unregister


def get_scheme(name: str) -> PasswordScheme:
    """The scheme registered as ``name``; ``UnknownSchemeError`` lists the known ones."""
    try:
        return _SCHEMES[name]
    except KeyError:
        raise UnknownSchemeError(name, scheme_names()) from None


def scheme_names() -> tuple[str, ...]:
    """The registered scheme names, sorted."""
    return tuple(sorted(_SCHEMES))


# -- built-in schemes -------------------------------------------------------------------

_A1140_KEY_RE: Final = re.compile(r"[0-9A-Fa-f]{16}")
_A1140_KEY_BYTES: Final = 8


def elster_a1140(operand: str, password: Password) -> str:
    """Elster A1140 (EnergyICT ``CAI700``): mix the 8-byte P0 seed with the password.

    ``x[i] = seed[i] XOR pw[i]``, ``out[0] = x[0] + x[7]``, ``out[i] = x[i] + out[i-1]``
    (mod 256), sent as 16 uppercase hex digits. The password is 8 ASCII characters.
    """
    if not _A1140_KEY_RE.fullmatch(operand):
        raise AuthenticationError(
            f"elster-a1140 needs a P0 operand of 16 hex digits, got {len(operand)} characters"
        )
    secret = password.reveal()
    if len(secret) != _A1140_KEY_BYTES or not secret.isascii():
        # The reference implementation indexes 8 characters; say so without the value.
        raise AuthenticationError("elster-a1140 needs a password of 8 ASCII characters")
    key = bytes.fromhex(operand)
    mixed = [k ^ p for k, p in zip(key, secret.encode("ascii"), strict=True)]
    out = [(mixed[0] + mixed[-1]) % 256]
    for value in mixed[1:]:
        out.append((value + out[-1]) % 256)
    return bytes(out).hex().upper()


register_scheme("elster-a1140", elster_a1140)
