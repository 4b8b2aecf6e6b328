"""``influxdb``: v1 end to end against a real influxd 1.6 started by the fixture; v2
against the recording HTTP server, checking the exact request."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import pytest
from pydantic import ValidationError

from poller.protocol import Value
from poller.sinks import SinkContext
from poller.sinks.influxdb import InfluxSettings, InfluxSink, LineProtocolError, line_for
from tests.builders import make_reading
from tests.services import Influxd, RecordingServer, Request, free_port

from .conftest import T0, batch, many, reading, typical

V2 = {"type": "influxdb", "org": "home", "bucket": "meters"}


def sink(context: SinkContext, **options: Any) -> InfluxSink:
    return InfluxSink(InfluxSettings.model_validate({"type": "influxdb", **options}), context)


def test_line_protocol_of_a_reading() -> None:
    settings = InfluxSettings(type="influxdb", org="o", bucket="b", names={"1.8.0": "import"})
    assert line_for(typical()[0], settings) == (
        b"meter,bus=b1,meter=12345678,name=import,obis=1.8.0,register=1.8.0,unit=kWh"
        b' value=42951.721,raw="042951.721",quality="good" 1767225600000'
    )
    text = typical()[7]  # not a number: no value field
    assert line_for(text, settings).split(b" ")[1] == b'raw="12:34:56",quality="unchecked"'
    profile = typical()[9]  # stamped by the meter (UTC+1): that is the point's time
    assert line_for(profile, settings).endswith(b" 1767222900000")
    assert line_for(typical()[1], settings).split(b" ")[1].startswith(b"value=17.5,")


def test_line_protocol_escaping() -> None:
    odd = make_reading(
        bus="bus 1,a=b",
        meter="m=1",
        address="1.8.0",
        obis=None,
        values=(Value(text='say "hi" \\ ok', unit="k Wh"),),
        taken_at=T0,
    )
    settings = InfluxSettings(
        type="influxdb", org="o", bucket="b", measurement="my meter,x", precision="s"
    )
    assert line_for(odd, settings) == (
        b"my\\ meter\\,x,bus=bus\\ 1\\,a\\=b,meter=m\\=1,register=1.8.0,unit=k\\ Wh"
        b' raw="say \\"hi\\" \\\\ ok",quality="good" 1767225600'
    )
    with pytest.raises(LineProtocolError):
        line_for(reading("1.8.0", "a\nb"), settings)
    with pytest.raises(LineProtocolError):
        line_for(reading("1.8.0", "1", meter="ends\\"), settings)


def test_precisions() -> None:
    r = reading("1.8.0", "1", slot=T0 + dt.timedelta(microseconds=123456))
    for precision, stamp in (
        ("s", b"1767225600"),
        ("ms", b"1767225600123"),
        ("us", b"1767225600123456"),
        ("ns", b"1767225600123456000"),
    ):
        settings = InfluxSettings(type="influxdb", org="o", bucket="b", precision=precision)
        assert line_for(r, settings).endswith(b" " + stamp)


def test_settings_validation() -> None:
    with pytest.raises(ValidationError):
        InfluxSettings.model_validate({"type": "influxdb"})  # v2 without org and bucket
    with pytest.raises(ValidationError):
        InfluxSettings.model_validate({"type": "influxdb", "api": "v1"})  # no database
    with pytest.raises(ValidationError):
        InfluxSettings.model_validate({**V2, "url": "http://u:p@h:8086"})


async def test_v2_request(http_server: RecordingServer, context: SinkContext) -> None:
    readings = typical()[:3]

    async def body() -> None:
        s = sink(context, **V2, url=http_server.url, token="infl-t0ken")
        try:
            assert (await s.write(batch(readings))).accepted == 3
        finally:
            await s.close()
        assert "infl-t0ken" not in repr(s) + repr(s.settings)

    await body()
    (request,) = http_server.requests
    path, _, query = request.path.partition("?")
    assert path == "/api/v2/write"
    assert urllib.parse.parse_qs(query) == {
        "org": ["home"],
        "bucket": ["meters"],
        "precision": ["ms"],
    }
    assert request.headers["authorization"] == "Token infl-t0ken"
    assert request.headers["content-type"] == "text/plain; charset=utf-8"
    settings = InfluxSettings.model_validate(V2)
    assert request.body == b"\n".join(line_for(r, settings) for r in readings)


async def test_v2_bad_line_rejected_rest_written(
    http_server: RecordingServer, context: SinkContext
) -> None:
    readings = many(12)
    bad = readings[5]
    written: list[bytes] = []

    def responder(request: Request) -> tuple[int, dict[str, str], bytes]:
        lines = request.body.split(b"\n")
        bad_stamp = str(int(bad.slot.timestamp() * 1000)).encode()  # type: ignore[union-attr]
        if any(line.endswith(bad_stamp) for line in lines):
            return 400, {}, b'{"code":"invalid","message":"partial write: field type conflict"}'
        written.extend(lines)
        return 204, {}, b""

    http_server.responder = responder

    async def body() -> None:
        s = sink(context, **V2, url=http_server.url)
        try:
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert result.accepted == 11
        assert [r.reading for r in result.rejected] == [bad]
        assert "field type conflict" in result.rejected[0].reason

    await body()
    assert len(written) == 11


@pytest.mark.parametrize(
    ("status", "headers"), [(503, {"Retry-After": "30"}), (429, {}), (401, {}), (500, {})]
)
async def test_v2_later_statuses(
    http_server: RecordingServer, context: SinkContext, status: int, headers: dict[str, str]
) -> None:
    http_server.responder = lambda _r: (status, headers, b"{}")
    readings = many(4)

    async def body() -> None:
        s = sink(context, **V2, url=http_server.url)
        try:
            result = await s.write(batch(readings))
            assert result.retry == tuple(readings)
            assert not result.rejected
            if "Retry-After" in headers:  # no request before the 30 s are over
                assert (await s.write(batch(readings))).retry == tuple(readings)
        finally:
            await s.close()

    await body()
    assert len(http_server.requests) == 1


async def test_v1_end_to_end(influx: Influxd, context: SinkContext) -> None:
    influx.query("CREATE DATABASE e2e")
    readings = typical()

    async def body() -> None:
        s = sink(context, api="v1", url=influx.url, database="e2e", names={"1.8.0": "import"})
        try:
            first = await s.write(batch(readings))
            again = await s.write(batch(readings))  # a replay: the same points, kept once
        finally:
            await s.close()
        assert first.accepted == again.accepted == len(readings)

    await body()
    result = influx.query("SELECT * FROM meter", db="e2e")
    series = result["results"][0]["series"][0]
    rows = [dict(zip(series["columns"], values, strict=True)) for values in series["values"]]
    assert len(rows) == len(readings)
    energy = next(r for r in rows if r["register"] == "1.8.0")
    assert energy["value"] == 42951.721
    assert energy["raw"] == "042951.721"
    assert energy["name"] == "import"
    assert energy["unit"] == "kWh"
    assert energy["bus"] == "b1"
    assert energy["time"] == "2026-01-01T00:00:00Z"
    clock = next(r for r in rows if r["register"] == "0.9.1")
    assert clock["value"] is None
    assert clock["quality"] == "unchecked"


async def test_v1_escaping_round_trip(influx: Influxd, context: SinkContext) -> None:
    influx.query("CREATE DATABASE esc")
    odd = make_reading(
        bus="bus 1,a=b",
        meter="m=1",
        address="1.8.0",
        obis=None,
        values=(Value(text='say "hi" \\ ok', unit="k Wh"),),
        taken_at=T0,
    )

    async def body() -> None:
        s = sink(context, api="v1", url=influx.url, database="esc", measurement="my meter,x")
        try:
            assert (await s.write(batch([odd]))).accepted == 1
        finally:
            await s.close()

    await body()
    result = influx.query('SELECT * FROM "my meter,x"', db="esc")
    series = result["results"][0]["series"][0]
    row = dict(zip(series["columns"], series["values"][0], strict=True))
    assert row["bus"] == "bus 1,a=b"
    assert row["meter"] == "m=1"
    assert row["unit"] == "k Wh"
    assert row["raw"] == 'say "hi" \\ ok'


async def test_v1_a_refused_point_is_rejected_and_the_rest_stored(
    influx: Influxd, context: SinkContext
) -> None:
    influx.query("CREATE DATABASE conflict")
    # Someone wrote ``raw`` as a number in the shard of the week of 2020-06-01: a
    # reading of that week is refused there (field type conflict), the others not.
    assert influx.write(b"meter,bus=x raw=1.0 1591000000000000000", db="conflict") == 204
    old = reading("1.8.0", "000001.000", "kWh", slot=dt.datetime(2020, 6, 1, 9, tzinfo=dt.UTC))
    readings = many(20)
    mixed = [*readings[:7], old, *readings[7:]]

    async def body() -> None:
        s = sink(context, api="v1", url=influx.url, database="conflict")
        try:
            result = await s.write(batch(mixed))
            assert result.accepted == 20
            assert [r.reading for r in result.rejected] == [old]
            assert "conflict" in result.rejected[0].reason
            assert not result.retry
        finally:
            await s.close()

    await body()
    # Counted in 2026 only: across the two shards ``raw`` has two types.
    count = influx.query("SELECT count(raw) FROM meter WHERE time > '2025-01-01'", db="conflict")
    assert count["results"][0]["series"][0]["values"][0][1] == 20, count


async def test_v1_server_down_then_back_nothing_lost(influx: Influxd, context: SinkContext) -> None:
    influx.query("CREATE DATABASE outage")
    readings = many(50)

    async def body() -> None:
        down_sink = sink(
            context, api="v1", url=f"http://127.0.0.1:{free_port()}", database="outage"
        )
        try:
            down = await down_sink.write(batch(readings))
            assert down.retry == tuple(readings)
            assert "unreachable" in (down.retry_reason or "")
        finally:
            await down_sink.close()
        up = sink(context, api="v1", url=influx.url, database="outage", username="u", password="pw")
        try:
            assert (await up.write(batch(list(down.retry)))).accepted == 50
        finally:
            await up.close()

    await body()
    count = influx.query("SELECT count(raw) FROM meter", db="outage")
    assert count["results"][0]["series"][0]["values"][0][1] == 50
