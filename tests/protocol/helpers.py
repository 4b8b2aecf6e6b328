"""Drive a ``ClientSession`` with a scripted meter, in simulated time.

``drive(session, script)`` plays the engine: it executes the session's actions, keeps
the clock, and answers each ``Wait`` with the next script item. A reply's bytes arrive
``delay`` after the meter's turn began (the end of our last message's wire time, or a
baud switch) plus their own wire time at the current rate, so ``not_before`` and
``at`` can be checked against exact numbers. ``SILENCE`` lets the deadline pass.

A script is a list, or a callable that sees what the meter heard since its last turn
(a responsive meter, for property tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from poller.protocol import Action, ClientSession, Done, Failed, Send, SetLine, Wait, wire_time


class Silence:
    def __repr__(self) -> str:
        return "SILENCE"


SILENCE = Silence()


@dataclass(frozen=True)
class Reply:
    data: bytes
    delay: float = 0.05
    """Seconds from the start of the meter's turn to its first byte."""


ScriptItem = bytes | Reply | Silence
Responder = Callable[[list[bytes]], ScriptItem]


@dataclass
class Trace:
    """Everything that went back and forth, in order, with times."""

    actions: list[Action] = field(default_factory=list)
    inputs: list[tuple[str, float, bytes]] = field(default_factory=list)
    """``("rx", t, data)`` or ``("timeout", t, b"")`` as fed to the session."""

    @property
    def sends(self) -> list[Send]:
        return [a for a in self.actions if isinstance(a, Send)]

    @property
    def sent(self) -> list[bytes]:
        return [s.data for s in self.sends]

    @property
    def set_lines(self) -> list[SetLine]:
        return [a for a in self.actions if isinstance(a, SetLine)]

    @property
    def waits(self) -> list[Wait]:
        return [a for a in self.actions if isinstance(a, Wait)]

    @property
    def final(self) -> Done | Failed:
        last = self.actions[-1]
        assert isinstance(last, Done | Failed), last
        return last

    @property
    def rx_times(self) -> list[float]:
        return [t for kind, t, _ in self.inputs if kind == "rx"]


class _Clock:
    """The engine's view of the line: the current rate and when the meter may talk."""

    def __init__(self) -> None:
        self.baud = 300
        self.turn_start = 0.0
        self.heard: list[bytes] = []

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.turn_start = max(self.turn_start, action.end(self.baud))
                self.heard.append(action.data)
            elif isinstance(action, SetLine):
                self.baud = action.baud
                self.turn_start = max(self.turn_start, action.at)


def drive(
    session: ClientSession,
    script: Iterable[ScriptItem] | Responder,
    *,
    start: float = 0.0,
    max_steps: int = 500,
) -> Trace:
    """Run ``session`` to Done/Failed against ``script``; fail if it takes too long."""
    trace = Trace()
    clock = _Clock()
    clock.turn_start = start
    responder: Responder
    if callable(script):
        responder = script
    else:
        items = iter(script)

        def responder(heard: list[bytes]) -> ScriptItem:
            return next(items, SILENCE)

    actions = session.start(start)
    for _ in range(max_steps):
        trace.actions.extend(actions)
        clock.apply(actions)
        assert actions, "the session returned no action"
        last = actions[-1]
        assert all(not isinstance(a, Wait | Done | Failed) for a in actions[:-1]), actions
        if isinstance(last, Done | Failed):
            return trace
        assert isinstance(last, Wait), last
        if last.idle:
            trace.inputs.append(("timeout", last.deadline, b""))
            actions = session.timeout(last.deadline)
            continue
        heard, clock.heard = clock.heard, []
        item = responder(heard)
        if isinstance(item, Silence):
            trace.inputs.append(("timeout", last.deadline, b""))
            actions = session.timeout(last.deadline)
            continue
        reply = item if isinstance(item, Reply) else Reply(item)
        t = clock.turn_start + reply.delay + wire_time(len(reply.data), clock.baud)
        clock.turn_start = t
        trace.inputs.append(("rx", t, reply.data))
        actions = session.receive_data(reply.data, t)
    raise AssertionError(f"session still running after {max_steps} steps")
