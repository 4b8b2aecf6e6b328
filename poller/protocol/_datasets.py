"""Data sets (clause 6.6): the data block of a readout or a programming reply.

Theory of operation
-------------------
One compiled regex cuts the whole block into tokens in one pass (``re.findall``): a
token is either one bracket group, with the address in front of it and the line end
after it, or a single character that starts no group (the ``!`` that ends the
block, a blank, a line end, junk). The tokens are contiguous, so nothing is lost
between them, and the loop over them is the only Python-level work. It never raises:

* A bracket group with an address starts a new data set. One without an address
  joins the data set before it when nothing but spaces lies between them
  (``1.6.1(0.50262*kW)(2211120730)``), and otherwise starts an address-less data
  set (the continuation line ``(00001.160)`` of DSMR 3 gas readings).
* Data sets need no separator (``6.8(0029.055*MWh)6.26(01589.28*m3)``, Siemens
  2WR5). Any mix of CR LF, LF, LF LF and bare CR ends lines.
* An address is at most 32 characters other than ``( ) / !``, spaces and control
  characters (the standard allows 16). Text between matches that is more than
  white space, such as line noise before the first line or an ESPHome log prefix,
  is skipped and reported as a ``ParseProblem``. The bound on the address keeps a
  long run of junk linear rather than quadratic.
* A bracket not closed before the line end (or the next ``(``) is closed there: the
  Apator readout sends ``0.0.0(`` and eight NULs, then CR LF. It is reported. A
  bracket still open when the text ends is a line cut short, so its value is dropped
  (a truncated number would look valid) and reported.
* The first ``!`` outside a bracket ends the block, glued to a data set
  (``6.31(0109868*h)!``) or on its own line; anything after it is ignored.

Most blocks need none of this: after optional blank lines, every line is an address
and bracket groups glued together, ending in CR LF. One possessive regex match
recognises such a *clean* block, for which the tokens are known in advance (one data
set per line, its groups are its values, nothing skipped); string methods then cut it.
Match and cut cost two thirds of the token regex, and the loop over the pieces has
fewer cases. Any other block takes the token loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import length_hint
from typing import Any

from ._errors import InvalidMessageError
from ._obis import ObisCode
from ._values import Value, new_value_slots

__all__ = [
    "DataBlock",
    "DataSet",
    "ParseProblem",
    "format_data_block",
    "parse_data_block",
    "scan_data_block",
]

MAX_ADDRESS_LEN = 32
_ADDRESS_CHARS = r"[^()!/\x00-\x20\x7f]"
_ADDRESS = rf"{_ADDRESS_CHARS}{{1,{MAX_ADDRESS_LEN}}}"
# One token is either a bracket group (address, content, ")" or "" when it is not
# closed, the line ends after it) or any single character that starts none: "!",
# a line end, a blank, junk. Every character belongs to a token, so the tokens are
# contiguous. The address may match empty, which is faster than an optional group.
_TOKEN_RE = re.compile(
    rf"({_ADDRESS_CHARS}{{0,{MAX_ADDRESS_LEN}}})\(([^()\r\n]*)(\)?)([\r\n]*)|([^(])"
)
_JUNK = "not a data set"
_UNCLOSED = "bracket not closed before the line end"
_CUT = "cut short inside a bracket"
_ADDRESS_RE = re.compile(_ADDRESS)
_BLANK = " \t\r\n"
# A clean block (see the module docstring). Every part ends where the next must
# start, so the possessive quantifiers change nothing but the cost of a mismatch.
_CLEAN_RE = re.compile(
    rf"[\r\n]*+(?:{_ADDRESS_CHARS}{{0,{MAX_ADDRESS_LEN}}}+"
    r"\([^()\r\n]*+\)(?:\([^()\r\n]*+\))*+\r\n)*+"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSet:
    """``address(value)(value)...``: an address and one value per bracket group.

    ``address`` is the text before the first bracket as received, or ``None`` for a
    data set without one (a continuation line).
    """

    address: str | None
    values: tuple[Value, ...]

    @property
    def obis(self) -> ObisCode | None:
        """The OBIS code of the address, or ``None`` when it holds none."""
        return None if self.address is None else ObisCode.parse(self.address)

    @property
    def value(self) -> str | None:
        """The text of the first value."""
        return self.values[0].text if self.values else None

    @property
    def unit(self) -> str | None:
        """The unit of the first value."""
        return self.values[0].unit if self.values else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseProblem:
    """Text the parser skipped or repaired, and why; ``offset`` indexes the input."""

    offset: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataBlock:
    """Everything ``scan_data_block`` found: the data sets and what it had to skip."""

    datasets: tuple[DataSet, ...]
    problems: tuple[ParseProblem, ...] = ()
    ended: bool = False
    """Whether the block's closing ``!`` was seen."""


class _DataSetSlots:
    """``DataSet``'s layout without its frozen ``__setattr__``; see ``_ValueSlots``."""

    __slots__ = DataSet.__slots__


_new_dataset_slots: Callable[[], Any] = _DataSetSlots
# Only for a data set that grows after it was listed (rare: several groups on a line).
_SET_VALUES = DataSet.__dict__["values"].__set__


def scan_data_block(text: str) -> DataBlock:
    """The data sets of a data block, with a report of what was skipped or repaired.

    ``text`` is the block without STX, ETX and BCC; its closing ``!`` may be present.
    Never raises: malformed text becomes a ``ParseProblem`` and parsing goes on.
    """
    clean = _scan_clean(text)
    if clean is not None:
        return DataBlock(datasets=tuple(clean))
    datasets, bad, ended = _scan(text)
    problems = _problems(text, bad) if bad else ()
    return DataBlock(datasets=tuple(datasets), problems=problems, ended=ended)


def _scan_clean(text: str) -> list[DataSet] | None:
    """The data sets of a clean block, or ``None`` when ``text`` is not one.

    The result is what ``_scan`` makes of the same text; only the way there differs.
    """
    if _CLEAN_RE.fullmatch(text) is None:
        return None
    # Only group boundaries hold ")(" and only line ends ")\r\n". Marked and cut,
    # the block becomes address, content, address, content ..., "" where the
    # address ")" (which no real address can be) marks a group glued to the last.
    text = text.lstrip("\r\n")
    if ")(" in text:
        text = text.replace(")(", "()(")
    parts = text.replace(")\r\n", "(").split("(")
    datasets: list[DataSet] = []
    cache: dict[str, Value] = {}
    cached = cache.get
    new_value, new_dataset = new_value_slots, _new_dataset_slots
    append = datasets.append
    joined_values = "&" in text
    built: Any
    grown: list[Value] | None = None
    for address, content in zip(parts[::2], parts[1::2], strict=False):
        # What follows is _scan's loop body without the cases a clean block lacks.
        value = cached(content)
        if value is None:
            shown, _, unit = content.partition("*")
            if " " in unit or (joined_values and "&" in content):
                value = Value.parse(content)
            else:
                built = new_value()
                built.text = shown
                built.unit = unit or None
                built.parts = ()
                built.timestamp_text = None
                built.__class__ = Value
                value = built
            cache[content] = value
        if address != ")":
            if grown is not None:
                _SET_VALUES(datasets[-1], tuple(grown))
                grown = None
            built = new_dataset()
            built.address = address or None
            built.values = (value,)
            built.__class__ = DataSet
            append(built)
        elif grown is None:
            grown = [*datasets[-1].values, value]
        else:
            grown.append(value)
    if grown is not None:
        _SET_VALUES(datasets[-1], tuple(grown))
    return datasets


def _scan(text: str) -> tuple[list[DataSet], list[tuple[int, str]], bool]:
    """The data sets, the (token index, reason) of each problem, and whether ``!`` came."""
    # This loop is benchmarked, so it does as little per token as it can: findall
    # (cheaper than finditer's match objects) yields contiguous tokens, so positions
    # are only worked out when there is a problem to report. Values and data sets are
    # filled in as their mutable twins and then retyped (see ``_ValueSlots``): the
    # frozen dataclass __init__ would be most of the cost.
    tokens = _TOKEN_RE.findall(text)
    datasets: list[DataSet] = []
    bad: list[tuple[int, str]] = []
    # Values repeat a lot (zeros of unused billing periods); they are immutable, so
    # one object per distinct bracket content serves them all.
    cache: dict[str, Value] = {}
    cached = cache.get
    new_value, new_dataset = new_value_slots, _new_dataset_slots
    append = datasets.append
    # Without an '&' anywhere, no content needs the check for one.
    joined_values = "&" in text
    built: Any
    ended = False
    if tokens and not (tokens[-1][2] or tokens[-1][3] or tokens[-1][4]):
        # The last bracket runs into the end of the text: a line cut short.
        bad.append((len(tokens) - 1, _CUT))
        del tokens[-1]
    # Whether an address-less group here joins the data set before it.
    join = False
    # The values of the last data set, once a second one has joined it.
    grown: list[Value] | None = None
    # Problems are rare, so a token's index is worked out only for them, from how
    # many tokens the iterator has left (exact for a list), rather than enumerated.
    remaining = iter(tokens)
    count = len(tokens) - 1
    for address, content, close, eol, other in remaining:
        if other:
            if other == "!":
                ended = True
                break
            if other in "\r\n":
                join = False
            elif other not in " \t":
                bad.append((count - length_hint(remaining), _JUNK))
                join = False
            continue
        value = cached(content)
        if value is None:
            # Value.parse inlined for the common forms (``value``, ``value*unit``,
            # ``value*``); '&'-joined values and units with spaces take the full path.
            shown, _, unit = content.partition("*")
            if " " in unit or (joined_values and "&" in content):
                value = Value.parse(content)
            else:
                built = new_value()
                built.text = shown
                built.unit = unit or None
                built.parts = ()
                built.timestamp_text = None
                built.__class__ = Value
                value = built
            cache[content] = value
        if address or not join:
            if grown is not None:
                _SET_VALUES(datasets[-1], tuple(grown))
                grown = None
            built = new_dataset()
            built.address = address or None
            built.values = (value,)
            built.__class__ = DataSet
            append(built)
        elif grown is None:
            # Collected, and set once the data set is complete (it is not yet
            # published, so setting its slot is still construction); growing the
            # tuple value by value would be quadratic in a line of many groups.
            grown = [*datasets[-1].values, value]
        else:
            grown.append(value)
        join = not eol
        if not close:
            bad.append((count - length_hint(remaining), _UNCLOSED))
    if grown is not None:
        _SET_VALUES(datasets[-1], tuple(grown))
    if ended and bad and bad[0][1] == _CUT:
        del bad[0]  # the cut-short line lay after the end of the block
    return datasets, bad, ended


def _problems(text: str, bad: list[tuple[int, str]]) -> tuple[ParseProblem, ...]:
    """Problems with their offsets; the slow path, taken only when there are any."""
    # The same regex yields the same tokens, now with their positions.
    matches = list(_TOKEN_RE.finditer(text))
    problems = []
    bad.sort()
    i = 0
    while i < len(bad):
        first, reason = bad[i]
        last = first
        i += 1
        # A run of junk characters, blanks included, is one problem.
        while (
            reason == _JUNK
            and i < len(bad)
            and bad[i][1] == _JUNK
            and all(matches[k][5] in (" ", "\t") for k in range(last + 1, bad[i][0]))
        ):
            last = bad[i][0]
            i += 1
        start, end = matches[first].start(), matches[last].end()
        junk = text[start:end].rstrip(_BLANK)
        problems.append(ParseProblem(offset=start, text=junk, reason=reason))
    return tuple(problems)


def parse_data_block(text: str) -> list[DataSet]:
    """The data sets of a data block; see ``scan_data_block`` for what gets skipped."""
    # Only the problems' offsets, which nobody asks for here, are left out.
    clean = _scan_clean(text)
    return _scan(text)[0] if clean is None else clean


def _check_text(field: str, text: str, banned: str, *, empty: bool = True) -> None:
    if not empty and not text:
        raise InvalidMessageError(field, "must not be empty")
    for char in banned:
        if char in text:
            raise InvalidMessageError(field, f"must not contain {char!r}")


def _checked(value: Value) -> str:
    if value.parts:
        if value.unit is not None or value.timestamp_text is not None:
            raise InvalidMessageError("value", "a joined value keeps units in its parts")
        joined = Value.join(tuple(value.parts))
        if joined.text != value.text:
            raise InvalidMessageError("value.text", "must be the parts joined with '&'")
        for part in value.parts:
            _checked(part)
        return value.text
    _check_text("value.text", value.text, "()\r\n*&")
    if value.unit is not None:
        _check_text("value.unit", value.unit, "()\r\n& ", empty=False)
    if value.timestamp_text is not None:
        if value.unit is None:
            raise InvalidMessageError("value.timestamp_text", "only follows a unit")
        _check_text("value.timestamp_text", value.timestamp_text, "()\r\n&", empty=False)
        if value.timestamp_text != value.timestamp_text.strip(" "):
            raise InvalidMessageError("value.timestamp_text", "no spaces around it")
    return value.encode()


def format_data_block(datasets: Iterable[DataSet]) -> str:
    """The data block text of ``datasets``, one per line, each ending in CR LF.

    ``parse_data_block`` reads the result back equal. The closing ``!`` line is not
    written: the readout message adds it. Raises ``InvalidMessageError`` for a field
    that cannot be written so that it reads back the same.
    """
    lines = []
    for dataset in datasets:
        if not dataset.values:
            raise InvalidMessageError("values", "a data set needs at least one value")
        address = dataset.address
        if address is None:
            address = ""
        elif not _ADDRESS_RE.fullmatch(address):
            raise InvalidMessageError(
                "address",
                f"1 to {MAX_ADDRESS_LEN} characters, no ( ) / !, spaces or control characters",
            )
        groups = "".join([f"({_checked(v)})" for v in dataset.values])
        lines.append(f"{address}{groups}\r\n")
    return "".join(lines)
