"""OBIS codes in every notation the corpus uses, and only those."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import InvalidMessageError, ObisCode, ProtocolError

# (address as sent, a, b, c, d, e, f, marker, canonical text)
REAL_FORMS = [
    ("1.8.0", None, None, 1, 8, 0, None, None, "1.8.0"),
    ("32.7", None, None, 32, 7, None, None, None, "32.7"),
    ("1.8.1*01", None, None, 1, 8, 1, 1, "*", "1.8.1*01"),
    ("1.8.1&12", None, None, 1, 8, 1, 12, "&", "1.8.1&12"),
    ("1-0:1.8.0*255", 1, 0, 1, 8, 0, 255, "*", "1-0:1.8.0*255"),
    ("1-1:0.5.1.2", 1, 1, 0, 5, 1, 2, ".", "1-1:0.5.1.2"),
    ("0-0:96.1.255*255", 0, 0, 96, 1, 255, 255, "*", "0-0:96.1.255*255"),
    ("1-0:21.7.255*255", 1, 0, 21, 7, 255, 255, "*", "1-0:21.7.255*255"),
    ("C.1.0", None, None, "C", 1, 0, None, None, "C.1.0"),
    ("C.5", None, None, "C", 5, None, None, None, "C.5"),
    ("F.F", None, None, "F", "F", None, None, None, "F.F"),
    ("F", None, None, "F", None, None, None, None, "F"),
    ("P.01", None, None, "P", 1, None, None, None, "P.01"),
    ("P.98", None, None, "P", 98, None, None, None, "P.98"),
    ("0.9.1", None, None, 0, 9, 1, None, None, "0.9.1"),
    ("1-0:99.97.0", 1, 0, 99, 97, 0, None, None, "1-0:99.97.0"),
    ("0-1:24.2.1", 0, 1, 24, 2, 1, None, None, "0-1:24.2.1"),
    ("151.7.0", None, None, 151, 7, 0, None, None, "151.7.0"),
    ("0-0:128.20.0", 0, 0, 128, 20, 0, None, None, "0-0:128.20.0"),
    ("1-0:96.50.0*0", 1, 0, 96, 50, 0, 0, "*", "1-0:96.50.0*00"),
    ("0-0:C.11.0", 0, 0, "C", 11, 0, None, None, "0-0:C.11.0"),
    ("0-0:C.51.2*03", 0, 0, "C", 51, 2, 3, "*", "0-0:C.51.2*03"),
    ("1.6.0*5", None, None, 1, 6, 0, 5, "*", "1.6.0*05"),
    ("1.8.0*100", None, None, 1, 8, 0, 100, "*", "1.8.0*100"),
    ("1-1:1.29", 1, 1, 1, 29, None, None, None, "1-1:1.29"),
    ("6.36*02", None, None, 6, 36, None, 2, "*", "6.36*02"),
    ("1.0.1.8.0.255", 1, 0, 1, 8, 0, 255, "*", "1-0:1.8.0*255"),
]


@pytest.mark.parametrize(
    ("text", "a", "b", "c", "d", "e", "f", "marker", "canonical"),
    REAL_FORMS,
    ids=[row[0] for row in REAL_FORMS],
)
def test_real_forms_parse(
    text: str,
    a: int | None,
    b: int | None,
    c: int | str,
    d: int | str | None,
    e: int | str | None,
    f: int | None,
    marker: str | None,
    canonical: str,
) -> None:
    code = ObisCode.parse(text)
    assert code is not None
    assert (code.a, code.b, code.c, code.d, code.e, code.f, code.f_marker) == (
        a,
        b,
        c,
        d,
        e,
        f,
        marker,
    )
    assert code.text == text
    assert str(code) == canonical
    assert ObisCode.parse(canonical) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "1.8.0 ",
        " 1.8.0",
        "abc",
        "kWh",
        "256.8.0",
        "1.8.0*256",
        "1-0:",
        "1-1.8.0",
        "1.2.3.4.5",
        "1..8",
        "1.8.",
        "p.01",
        "CC.1",
        "1.8.0*",
        "1,8,0",
        "1.8.0*1*2",
        "\uff11.8.0",  # a full-width digit one: int() would take it, OBIS does not
    ],
)
def test_non_obis_text_is_an_opaque_address(text: str) -> None:
    assert ObisCode.parse(text) is None


def test_history_marker_is_part_of_the_identity() -> None:
    # Landis+Gyr sends both for one register (partial/landisgyr_zmd405_readout_fragment.txt).
    star, amp = ObisCode.parse("1.8.1*12"), ObisCode.parse("1.8.1&12")
    assert star is not None
    assert amp is not None
    assert star != amp
    assert (star.c, star.d, star.e, star.f) == (amp.c, amp.d, amp.e, amp.f)


def test_equality_ignores_the_original_text() -> None:
    assert ObisCode.parse("1.8.1*1") == ObisCode.parse("1.8.1*01")
    assert hash(ObisCode.parse("P.1")) == hash(ObisCode.parse("P.01"))
    assert ObisCode.parse("1.8.0") != ObisCode.parse("1-0:1.8.0*255")


def test_built_code_gets_its_canonical_text() -> None:
    code = ObisCode(a=1, b=0, c=1, d=8, e=0, f=255, f_marker="*")
    assert code.text == "1-0:1.8.0*255"
    assert str(code) == code.canonical() == "1-0:1.8.0*255"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"c": 256}, "obis.c"),
        ({"c": -1}, "obis.c"),
        ({"c": "CC"}, "obis.c"),
        ({"c": "c"}, "obis.c"),
        ({"a": "A", "b": 0, "c": 1}, "obis.a"),
        ({"a": 1, "c": 1}, "obis.b"),
        ({"c": 1, "e": 0}, "obis.d"),
        ({"c": 1, "d": 8, "e": 0, "f": 1}, "obis.f_marker"),
        ({"c": 1, "d": 8, "e": 0, "f": 1, "f_marker": "#"}, "obis.f_marker"),
        ({"c": 1, "f_marker": "*"}, "obis.f_marker"),
    ],
)
def test_invalid_groups_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidMessageError) as info:
        ObisCode(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


_numbers = st.integers(min_value=0, max_value=255)
_groups = _numbers | st.sampled_from("CFLP")


@st.composite
def obis_codes(draw: st.DrawFn) -> ObisCode:
    b = draw(st.none() | _numbers)
    a = None if b is None else draw(st.none() | _numbers)
    d = draw(st.none() | _groups)
    e = None if d is None else draw(st.none() | _groups)
    # A dotted F needs C.D.E in front of it to be told apart from E.
    markers = "*&." if e is not None else "*&"
    f = draw(st.none() | _numbers)
    marker = None if f is None else draw(st.sampled_from(markers))
    return ObisCode(a=a, b=b, c=draw(_groups), d=d, e=e, f=f, f_marker=marker)


@given(obis_codes())
def test_canonical_text_round_trips(code: ObisCode) -> None:
    parsed = ObisCode.parse(str(code))
    assert parsed == code
    assert parsed is not None
    assert str(parsed) == str(code)


@given(st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_any_text_parses_or_is_opaque(text: str) -> None:
    try:
        code = ObisCode.parse(text)
    except ProtocolError:  # pragma: no cover - the contract allows it, the code never does
        return
    if code is not None:
        assert code.text == text
        assert ObisCode.parse(str(code)) == code


@given(st.text(alphabet="0123456789.-:*&CFP", max_size=20))
def test_obis_shaped_text_never_raises(text: str) -> None:
    code = ObisCode.parse(text)
    assert code is None or ObisCode.parse(str(code)) == code
