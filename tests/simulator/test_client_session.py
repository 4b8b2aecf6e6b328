"""The protocol core's real ``ClientSession`` against simulated meters, on simulated time."""

from __future__ import annotations

from poller.protocol import (
    ClientSession,
    Done,
    Failed,
    Password,
    ReadRequest,
    Send,
    SessionConfig,
    SessionMode,
    SessionResult,
    SetLine,
    Wait,
)
from poller.simulator import LineSettings, MeterSpec, SimulatedMeter, VirtualBus, get_profile

from .helpers import EPOCH


def run(config: SessionConfig, *specs: MeterSpec, start: float = 0.0) -> tuple[object, float]:
    """Execute the session's actions against a bus; returns (Done|Failed, end time)."""
    bus = VirtualBus([SimulatedMeter(s, epoch=EPOCH) for s in specs])
    session = ClientSession(config)
    now = start
    actions = session.start(now)
    for _ in range(10_000):
        next_actions = None
        for action in actions:
            if isinstance(action, Send):
                now = max(now, action.not_before)
                bus.client_write(action.data, now)
            elif isinstance(action, SetLine):
                now = max(now, action.at)
                bus.set_client_line(LineSettings(action.baud, action.framing.value), now)
            elif isinstance(action, Wait):
                next_actions = _wait(bus, session, action, now)
                now = bus.now
            else:
                assert isinstance(action, Done | Failed)
                return action, now
        assert next_actions is not None
        actions = next_actions
    raise AssertionError("session did not end")


def _wait(bus: VirtualBus, session: ClientSession, wait: Wait, now: float) -> list[object]:
    while True:
        t = bus.next_event()
        if t is None or t > wait.deadline:
            bus.advance(max(now, wait.deadline))
            return session.timeout(bus.now)  # type: ignore[return-value]
        now = max(now, t)
        data = bus.client_read(now)
        if data:
            return session.receive_data(data, now)  # type: ignore[return-value]


def _result(outcome: object) -> SessionResult:
    assert isinstance(outcome, Done), outcome
    return outcome.result


def test_mode_c_readout_of_the_zmd_like_meter() -> None:
    spec = get_profile("lg-zmd")
    outcome, end = run(SessionConfig(address=spec.address), spec)
    result = _result(outcome)
    assert result.identification == spec.identification
    assert result.baud == 9600
    assert result.readout is not None
    assert "1.8.0(" in result.readout.data
    assert result.repeats == 0
    assert end < 3.0


def test_mode_c_readout_of_the_20_ms_mt174_like_meter() -> None:
    spec = get_profile("iskra-mt174")
    outcome, end = run(SessionConfig(address=spec.address), spec)
    result = _result(outcome)
    assert result.baud == 9600
    assert result.repeats == 0
    assert result.readout is not None
    assert "1-0:1.8.0*255(" in result.readout.data
    assert end < 1.5


def test_addressed_readout_on_a_shared_bus() -> None:
    zmd, mt174, lzqj = (get_profile(n) for n in ("lg-zmd", "iskra-mt174", "emh-lzqj"))
    outcome, _ = run(SessionConfig(address=lzqj.address), zmd, mt174, lzqj)
    assert _result(outcome).identification == lzqj.identification


def test_programming_r1_and_load_profile() -> None:
    spec = get_profile("emh-lzqj")
    config = SessionConfig(
        address=spec.address,
        mode=SessionMode.PROGRAMMING,
        password=Password("00000000"),
        commands=(
            ReadRequest(dataset="1.8.0(1)"),
            ReadRequest.load_profile("02603010000", "02603020000"),
        ),
    )
    outcome, _ = run(config, spec)
    result = _result(outcome)
    r1, p01 = result.commands
    assert r1.ok
    assert r1.data is not None
    assert r1.data.startswith("1.8.0(")
    assert p01.ok
    assert p01.data is not None
    lines = p01.data.splitlines()
    assert lines[0].startswith("P.01(0260301000000)")
    assert len(lines) == 1 + 97  # three partial blocks joined
    assert result.break_sent
