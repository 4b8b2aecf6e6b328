"""Passwords stay hidden; P2 schemes register, unregister and compute as documented."""

from __future__ import annotations

import pickle

import pytest

from poller.protocol import (
    AuthenticationError,
    Command,
    Password,
    ProtocolError,
    UnknownSchemeError,
    get_scheme,
    register_scheme,
    scheme_names,
)

SECRET = "S3cr3tPw"


def test_password_never_shows_itself() -> None:
    password = Password(SECRET)
    for text in (repr(password), str(password), f"{password}", f"{password!r}", f"{[password]}"):
        assert SECRET not in text
        assert text == "Password('***')" or "Password('***')" in text
    assert password.reveal() == SECRET


def test_password_is_immutable_comparable_and_not_picklable() -> None:
    password = Password(SECRET)
    with pytest.raises(AttributeError):
        password._secret = "other"
    with pytest.raises(AttributeError):
        password.anything = 1
    assert password == Password(SECRET)
    assert password != Password("other")
    assert hash(password) == hash(Password(SECRET))
    with pytest.raises(TypeError):
        pickle.dumps(password)
    with pytest.raises(TypeError):
        Password(b"bytes")  # type: ignore[arg-type]


def test_elster_a1140_vector() -> None:
    scheme = get_scheme("elster-a1140")
    answer = scheme("0123456789ABCDEF", Password("00000000"))
    assert answer == "102398EFA843401F"
    command = Command.password("2", answer).to_bytes()
    assert command == b"\x01P2\x02(102398EFA843401F)\x03\x6d"


def test_elster_a1140_accepts_a_lowercase_seed() -> None:
    scheme = get_scheme("elster-a1140")
    assert scheme("0123456789abcdef", Password("00000000")) == "102398EFA843401F"


@pytest.mark.parametrize("operand", ["", "0123", "0123456789ABCDEG", "0123456789ABCDEF00", "(x)"])
def test_elster_a1140_bad_operand_names_the_problem_not_the_password(operand: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        get_scheme("elster-a1140")(operand, Password(SECRET))
    assert "16 hex digits" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)


@pytest.mark.parametrize("secret", ["short", "S3cr3tPw-longer", "Pässwört"])
def test_elster_a1140_needs_an_8_character_ascii_password(secret: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        get_scheme("elster-a1140")("0123456789ABCDEF", Password(secret))
    assert secret not in str(info.value)


def test_register_and_unregister_a_scheme() -> None:
    def reverse(operand: str, password: Password) -> str:
        return password.reveal()[::-1]

    unregister = register_scheme("test-reverse", reverse)
    try:
        assert "test-reverse" in scheme_names()
        assert get_scheme("test-reverse")("", Password("abc")) == "cba"
        with pytest.raises(ValueError, match="already registered"):
            register_scheme("test-reverse", reverse)
    finally:
        unregister()
    assert "test-reverse" not in scheme_names()
    unregister()  # a second call is harmless


def test_unregister_leaves_a_later_registration_alone() -> None:
    def first(operand: str, password: Password) -> str:
        return "1"

    def second(operand: str, password: Password) -> str:
        return "2"

    unregister_first = register_scheme("test-twice", first)
    unregister_first()
    unregister_second = register_scheme("test-twice", second)
    unregister_first()
    assert get_scheme("test-twice") is second
    unregister_second()


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSchemeError) as info:
        get_scheme("landis-secret")
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, ValueError)
    assert "elster-a1140" in str(info.value)
    assert info.value.known == scheme_names()


@pytest.mark.parametrize("name", ["", "bad\nname"])
def test_scheme_names_are_printable(name: str) -> None:
    with pytest.raises(ValueError, match="printable"):
        register_scheme(name, lambda operand, password: "")
