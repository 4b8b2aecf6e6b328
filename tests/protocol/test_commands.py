"""The command cursor and the password message on their own, without a session."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poller.protocol import (
    AuthenticationError,
    Command,
    CommandKind,
    Password,
    ReadRequest,
    RemoteError,
    WriteRequest,
    register_scheme,
)
from poller.protocol._commands import CommandCursor, command_for, password_command

READ = ReadRequest(dataset="1.8.0()")
WRITE = WriteRequest(dataset="0.9.1(120000)")


def test_read_and_write_requests_become_r_and_w_commands() -> None:
    assert command_for(READ) == Command.read("1", "1.8.0()")
    assert command_for(WRITE) == Command.write("1", "0.9.1(120000)")
    assert command_for(READ).kind is CommandKind.READ


def test_the_cursor_walks_the_commands_once_in_order() -> None:
    cursor = CommandCursor((READ, WRITE))
    assert cursor.next_request() == READ
    assert cursor.next_request() == READ  # nothing recorded yet: still the first
    first = cursor.record(data="1.8.0(1*kWh)")
    assert first.command == READ.name
    assert [d.address for d in first.datasets] == ["1.8.0"]
    assert cursor.next_request() == WRITE
    assert cursor.current == WRITE
    error = RemoteError("ER01", command=WRITE.name)
    second = cursor.record(error=error)
    assert second.error is error
    assert second.datasets == ()
    assert cursor.next_request() is None
    assert cursor.results == [first, second]


def test_a_reply_in_blocks_is_joined_and_the_next_command_starts_clean() -> None:
    cursor = CommandCursor((READ, READ))
    cursor.next_request()
    assert not cursor.partial
    cursor.add_block("1.8.0(1*kWh)\r\n")
    assert cursor.partial
    assert cursor.reply("2.8.0(2*kWh)") == "1.8.0(1*kWh)\r\n2.8.0(2*kWh)"
    cursor.record(data=cursor.reply("2.8.0(2*kWh)"))
    cursor.next_request()
    assert not cursor.partial
    assert cursor.reply("x") == "x"


@given(st.lists(st.booleans(), max_size=8))
def test_every_command_gets_exactly_one_result(with_data: list[bool]) -> None:
    requests = tuple(ReadRequest(dataset=f"{i}.8.0()") for i in range(len(with_data)))
    cursor = CommandCursor(requests)
    for request, data in zip(requests, with_data, strict=True):
        assert cursor.next_request() == request
        cursor.record(data="1.8.0(1)" if data else None)
    assert cursor.next_request() is None
    assert [r.dataset for r in cursor.results] == [r.dataset for r in requests]


def test_p1_carries_the_password_and_p2_the_schemes_answer() -> None:
    password = Password("abc123")
    assert password_command("1234", password, None) == Command.password("1", "abc123")
    unregister = register_scheme(
        "test-commands-reverse", lambda operand, pw: operand[::-1] + pw.reveal()
    )
    try:
        answer = password_command("1234", password, "test-commands-reverse")
    finally:
        unregister()
    assert answer == Command.password("2", "4321abc123")


def test_a_password_a_p_message_cannot_carry_is_refused_without_showing_it() -> None:
    for secret in ("ab(c", "päss", "a\tb"):
        with pytest.raises(AuthenticationError) as raised:
            password_command("1", Password(secret), None)
        assert secret not in str(raised.value)


def test_a_failing_scheme_is_an_authentication_error_that_hides_its_message() -> None:
    def leaky(operand: str, password: Password) -> str:
        raise ValueError(f"bad {password.reveal()}")

    unregister = register_scheme("test-commands-leaky", leaky)
    try:
        with pytest.raises(AuthenticationError) as raised:
            password_command("1", Password("s3cret"), "test-commands-leaky")
    finally:
        unregister()
    assert "s3cret" not in str(raised.value)
    assert "ValueError" in str(raised.value)
    assert raised.value.__cause__ is None
