"""The entry model's own checks, before any entry exists."""

from __future__ import annotations

import pytest

from poller.protocol import Identification
from poller.quirks import Match, Quirk, Source, UnknownQuirkError, get_quirk

SOURCE = Source(title="a report", reference="owner/repo: path", says="what it says")


def test_a_match_compares_letters_without_case_and_searches_the_ident() -> None:
    match = Match(manufacturers=("LUG",), ident=r"^UH50")
    assert match.matches(Identification(manufacturer="LUG", baud_char="C", ident="UH50"))
    assert match.matches(Identification(manufacturer="LUg", baud_char="C", ident="UH50x"))
    assert not match.matches(Identification(manufacturer="LUG", baud_char="C", ident="T550"))
    assert not match.matches(Identification(manufacturer="ELS", baud_char="C", ident="UH50"))


@pytest.mark.parametrize("letters", [(), ("LU",), ("LUGG",)])
def test_a_match_needs_three_letter_ids(letters: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="three-letter"):
        Match(manufacturers=letters)


def test_an_entry_cites_a_source_and_has_a_plain_name() -> None:
    with pytest.raises(ValueError, match="public source"):
        Quirk(name="x", title="t", match=None, sources=(), simulated="x")
    with pytest.raises(ValueError, match="lowercase"):
        Quirk(name="Bad Name", title="t", match=None, sources=(SOURCE,), simulated="x")


def test_an_entrys_settings_cannot_be_changed_afterwards() -> None:
    quirk = Quirk(
        name="x", title="t", match=None, sources=(SOURCE,), simulated="x", settings={"a": 1}
    )
    with pytest.raises(TypeError):
        quirk.settings["a"] = 2  # type: ignore[index]


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownQuirkError, match="unknown quirk profile 'nope'"):
        get_quirk("nope")
