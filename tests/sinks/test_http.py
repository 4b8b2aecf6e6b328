"""``http`` against a real HTTP server in the test that records and fails on demand."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from poller.sinks import SinkContext
from poller.sinks.http import HttpSettings, HttpSink
from tests.services import RecordingServer, Request, free_port

from .conftest import batch, many, typical, write_and_close


def sink(server_url: str, context: SinkContext, **options: object) -> HttpSink:
    settings = HttpSettings.model_validate({"type": "http", "url": server_url, **options})
    return HttpSink(settings, context)


async def test_a_batch_is_one_post_of_the_json_records(
    http_server: RecordingServer, context: SinkContext
) -> None:
    readings = typical()
    names = {"1.8.0": "import", "1-0:2.8.0": "export"}

    async def body() -> None:
        s = sink(http_server.url + "/ingest", context, names=names, headers={"X-Site": "a"})
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert result.accepted == len(readings)
        assert not result.retry
        assert not result.rejected

    await body()
    (request,) = http_server.requests
    assert request.method == "POST"
    assert request.path == "/ingest"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-site"] == "a"
    assert "authorization" not in request.headers
    records = request.json()
    expected = [{**r.to_record(), "name": None} for r in readings]
    expected[0]["name"] = "import"
    assert records == expected


async def test_auth_headers_are_sent_and_never_shown(
    http_server: RecordingServer, context: SinkContext
) -> None:
    async def body() -> None:
        bearer = sink(http_server.url, context, bearer_token="s3cr3t-token")
        basic = sink(http_server.url, context, username="u", password="pa55word")
        key = sink(http_server.url, context, auth_header="X-API-Key", auth_value="k3y-value")
        for s in (bearer, basic, key):
            await s.write(batch(many(1)))
            await s.close()
            assert "s3cr3t" not in repr(s) + repr(s.settings)
            assert "pa55word" not in repr(s) + repr(s.settings)
            assert "k3y-value" not in repr(s) + repr(s.settings)

    await body()
    first, second, third = http_server.requests
    assert first.headers["authorization"] == "Bearer s3cr3t-token"
    assert second.headers["authorization"] == "Basic " + base64.b64encode(b"u:pa55word").decode()
    assert third.headers["x-api-key"] == "k3y-value"


def test_settings_refuse_credentials_in_the_url_and_two_auth_kinds() -> None:
    with pytest.raises(ValidationError):
        HttpSettings.model_validate({"type": "http", "url": "http://u:p@h/x"})
    with pytest.raises(ValidationError):
        HttpSettings.model_validate(
            {"type": "http", "url": "http://h/x", "bearer_token": "a", "username": "b"}
        )
    with pytest.raises(ValidationError):
        HttpSettings.model_validate({"type": "http", "url": "http://h/x", "extra": 1})


async def test_server_errors_are_retried_and_retry_after_is_honoured(
    http_server: RecordingServer, context: SinkContext
) -> None:
    readings = many(5)
    http_server.responder = lambda _r: (503, {"Retry-After": "120"}, b"busy")

    async def body() -> None:
        s = sink(http_server.url, context)
        try:
            first = await s.write(batch(readings))
            assert first.retry == tuple(readings)
            assert first.accepted == 0
            assert first.retry_reason is not None
            assert "503" in first.retry_reason
            # Inside the 120 s the server asked for: answered at once, no request.
            second = await s.write(batch(readings))
            assert second.retry == tuple(readings)
            assert "wait" in (second.retry_reason or "")
        finally:
            await s.close()

    await body()
    assert len(http_server.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 401, 404])
async def test_statuses_that_mean_later(
    http_server: RecordingServer, context: SinkContext, status: int
) -> None:
    http_server.responder = lambda _r: (status, {}, b"")
    readings = many(3)

    s = sink(http_server.url, context)
    try:
        result = await s.write(batch(readings))
    finally:
        await s.close()
    assert result.retry == tuple(readings)
    assert not result.rejected


async def test_one_bad_record_is_rejected_and_the_rest_delivered(
    http_server: RecordingServer, context: SinkContext
) -> None:
    readings = many(13)
    bad = readings[8]
    stored: dict[str, dict[str, object]] = {}

    def responder(request: Request) -> tuple[int, dict[str, str], bytes]:
        records = request.json()
        if any(r["key"] == bad.key for r in records):
            return 400, {"Content-Type": "application/json"}, b'{"error": "value out of range"}'
        stored.update({r["key"]: r for r in records})
        return 200, {}, b"{}"

    http_server.responder = responder

    async def body() -> None:
        s = sink(http_server.url, context)
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert result.accepted == 12
        assert [r.reading for r in result.rejected] == [bad]
        assert "value out of range" in result.rejected[0].reason
        assert not result.retry

    await body()
    assert set(stored) == {r.key for r in readings} - {bad.key}
    # Halving finds one bad record in 13 with a handful of requests, not 13.
    assert len(http_server.requests) <= 1 + 2 * 4


async def test_without_isolation_a_refused_batch_is_rejected_whole(
    http_server: RecordingServer, context: SinkContext
) -> None:
    http_server.responder = lambda _r: (422, {}, b"no")
    readings = many(4)

    async def body() -> None:
        s = sink(http_server.url, context, isolate_rejections=False)
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert [r.reading for r in result.rejected] == readings

    await body()
    assert len(http_server.requests) == 1


async def test_large_batches_go_in_several_requests(
    http_server: RecordingServer, context: SinkContext
) -> None:
    readings = many(25)

    async def body() -> None:
        s = sink(http_server.url, context, max_batch=10)
        try:
            assert (await s.write(batch(readings))).accepted == 25
        finally:
            await s.close()

    await body()
    assert [len(r.json()) for r in http_server.requests] == [10, 10, 5]


async def test_receiver_down_then_back_nothing_lost(
    http_server: RecordingServer, context: SinkContext
) -> None:
    """A receiver that is not listening, then is: every record arrives."""
    port = free_port()
    readings = many(20)

    async def body() -> None:
        s = sink(f"http://127.0.0.1:{port}/in", context, timeout=2.0)
        try:
            down = await s.write(batch(readings))
            assert down.retry == tuple(readings)
            assert "unreachable" in (down.retry_reason or "")
        finally:
            await s.close()
        # Back (the recording server stands for the receiver restarted elsewhere).
        s = sink(http_server.url + "/in", context)
        try:
            up = await s.write(batch(list(down.retry)))
            assert up.accepted == 20
        finally:
            await s.close()

    await body()
    keys = [record["key"] for req in http_server.requests for record in json.loads(req.body)]
    assert sorted(keys) == sorted(r.key for r in readings)


async def test_mid_batch_outage_retries_only_what_was_not_confirmed(
    http_server: RecordingServer, context: SinkContext
) -> None:
    calls = 0

    def responder(_request: Request) -> tuple[int, dict[str, str], bytes]:
        nonlocal calls
        calls += 1
        return (200, {}, b"") if calls <= 2 else (503, {}, b"")

    http_server.responder = responder
    readings = many(50)

    async def body() -> None:
        s = sink(http_server.url, context, max_batch=10)
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert result.accepted == 20
        assert result.retry == tuple(readings[20:])

    await body()
    assert len(http_server.requests) == 3  # no request after the first "later"


def test_the_network_sinks_register_and_meet_the_contract(context: SinkContext) -> None:
    from importlib.metadata import entry_points

    from poller.sinks._contract import Sink

    points = {ep.name: ep for ep in entry_points(group="iec_poller.sinks")}
    options = {
        "http": {"url": "http://127.0.0.1:1/x"},
        "influxdb": {"org": "o", "bucket": "b"},
        "mqtt": {},
        "postgresql": {},
    }
    for name, extra in options.items():
        cls = points[name].load()
        settings = cls.settings_model.model_validate({"type": name, **extra})
        assert isinstance(cls(settings, context), Sink)


@pytest.mark.parametrize(("status", "fatal"), [(401, True), (403, True), (404, True), (429, False)])
async def test_a_status_that_says_the_configuration_is_wrong_is_fatal(
    http_server: RecordingServer, context: SinkContext, status: int, fatal: bool
) -> None:
    http_server.responder = lambda _r: (status, {}, b"")
    readings = many(3)

    async def body() -> None:
        s = sink(http_server.url, context, bearer_token="t0ps3cret")
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert result.retry == tuple(readings)  # kept for later, never rejected
        assert result.fatal is fatal
        assert "t0ps3cret" not in (result.retry_reason or "")

    await body()


async def test_fatal_statuses_can_be_retried_forever_instead(
    http_server: RecordingServer, context: SinkContext
) -> None:
    http_server.responder = lambda _r: (401, {}, b"")

    async def body() -> None:
        s = sink(http_server.url, context, fatal_statuses=[])
        result = await write_and_close(s, many(2))
        assert result.retry
        assert not result.fatal

    await body()


@pytest.mark.parametrize("status", [408, 429, 500, 200])
def test_fatal_statuses_are_4xx_that_do_not_mean_later(status: int) -> None:
    with pytest.raises(ValidationError):
        HttpSettings.model_validate(
            {"type": "http", "url": "http://127.0.0.1:1/", "fatal_statuses": [status]}
        )
