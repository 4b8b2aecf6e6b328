"""OBIS codes (IEC 62056-61) as they appear in the address of a data set.

Theory of operation
-------------------
An address in a data block is free text (clause 6.6); most meters put an OBIS code
there, written in one of several notations:

* long ``A-B:C.D.E*F`` (``1-0:1.8.0*255``), the DSMR and mode D form;
* short ``C.D.E`` (``1.8.0``), ``C.D`` (``32.7``) or a lone ``C`` (``F``) where the
  medium and channel are implied;
* a history suffix, ``*NN`` or ``&NN``, naming a billing period. Landis+Gyr meters
  send both for the same register (``1.8.1*12`` and ``1.8.1&12``, see
  ``partial/landisgyr_zmd405_readout_fragment.txt``), so the marker is kept and is
  part of the code's identity;
* a fifth group after a dot (``1-1:0.5.1.2``) and the fully dotted six-group form
  (``1.0.1.8.0.255``);
* VDEW service letters in groups C, D and E: ``C.1.0``, ``F.F``, ``P.01``, ``L.1``.

``ObisCode.parse`` returns ``None`` for anything else: the address is then an opaque
string (an LIS-200 ``3:171.0`` still parses, as group B and C, because it has the
same shape). Groups are ``int`` (0..255) or a one-letter ``str``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ._errors import InvalidMessageError

__all__ = ["ObisCode"]

_GROUP = r"([0-9]{1,3}|[A-Z])"
_NUMBER = r"([0-9]{1,3})"
_OBIS_RE = re.compile(
    rf"(?:(?:{_NUMBER}-)?{_NUMBER}:)?"  # optional A- and B:
    rf"{_GROUP}(?:\.{_GROUP})?(?:\.{_GROUP})?"  # C[.D[.E]]
    rf"(?:([*&.]){_NUMBER})?"  # F with its marker
)
_DOTTED_RE = re.compile(r"\.".join([_NUMBER] * 6))
_MAX_GROUP = 255
# VDEW writes profile numbers and billing periods with two digits (P.01, *01).
_PADDED_D = "P"


def _group(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def _check_group(name: str, value: int | str | None, *, letter: bool) -> None:
    if value is None:
        return
    if isinstance(value, int):
        if not 0 <= value <= _MAX_GROUP:
            raise InvalidMessageError(f"obis.{name}", f"{value} is outside 0..{_MAX_GROUP}")
    elif not (letter and len(value) == 1 and "A" <= value <= "Z"):
        raise InvalidMessageError(f"obis.{name}", f"{value!r} is not a number or a letter A-Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class ObisCode:
    """An OBIS code with the groups the address actually carried.

    Missing groups are ``None``: ``1.8.0`` and ``1-0:1.8.0*255`` are different codes
    here, because the meter said different things; compare ``c``, ``d`` and ``e`` to
    match registers across notations. ``f_marker`` is ``*``, ``&`` or ``.`` (the
    character before group F) and ``text`` the address as received, which takes no
    part in equality.
    """

    a: int | None = None
    b: int | None = None
    c: int | str
    d: int | str | None = None
    e: int | str | None = None
    f: int | None = None
    f_marker: str | None = None
    text: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_group("a", self.a, letter=False)
        _check_group("b", self.b, letter=False)
        _check_group("c", self.c, letter=True)
        _check_group("d", self.d, letter=True)
        _check_group("e", self.e, letter=True)
        _check_group("f", self.f, letter=False)
        if self.a is not None and self.b is None:
            raise InvalidMessageError("obis.b", "group A needs group B")
        if self.e is not None and self.d is None:
            raise InvalidMessageError("obis.d", "group E needs group D")
        if (self.f is None) != (self.f_marker is None):
            raise InvalidMessageError("obis.f_marker", "group F and its marker go together")
        if self.f_marker is not None and self.f_marker not in "*&.":
            raise InvalidMessageError("obis.f_marker", "one of '*', '&' and '.'")
        if not self.text:
            object.__setattr__(self, "text", self.canonical())

    @classmethod
    def parse(cls, text: str) -> ObisCode | None:
        """The code an address holds, or ``None`` when it is not OBIS-like."""
        return _parse(text)

    def canonical(self) -> str:
        """The code in its conventional notation; ``parse`` reads it back equal."""
        out = []
        if self.a is not None:
            out.append(f"{self.a}-")
        if self.b is not None:
            out.append(f"{self.b}:")
        out.append(str(self.c))
        if self.d is not None:
            padded = self.c == _PADDED_D and isinstance(self.d, int)
            out.append(f".{self.d:02d}" if padded else f".{self.d}")
        if self.e is not None:
            out.append(f".{self.e}")
        if self.f is not None:
            width = 1 if self.f_marker == "." else 2
            out.append(f"{self.f_marker}{self.f:0{width}d}")
        return "".join(out)

    def __str__(self) -> str:
        return self.canonical()


@lru_cache(maxsize=2048)
def _parse(text: str) -> ObisCode | None:
    # Addresses repeat in every telegram, so the cache turns parsing into a lookup.
    # Greedy optional groups make "1.8.0" read as C.D.E, never as C.D plus a dotted F.
    match = _OBIS_RE.fullmatch(text)
    if match is not None:
        a, b, c, d, e, marker, f = match.groups()
    else:
        dotted = _DOTTED_RE.fullmatch(text)
        if dotted is None:
            return None
        a, b, c, d, e, f = dotted.groups()
        marker = "*"
    try:
        return ObisCode(
            a=None if a is None else int(a),
            b=None if b is None else int(b),
            c=int(c) if c.isdigit() else c,
            d=_group(d),
            e=_group(e),
            f=None if f is None else int(f),
            f_marker=marker,
            text=text,
        )
    except InvalidMessageError:
        # A group over 255: OBIS-shaped, but not OBIS.
        return None
