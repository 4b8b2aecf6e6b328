"""``postgresql`` against the machine's PostgreSQL, in a schema of the test run's own."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import asyncpg
import pytest

from poller.sinks import SinkContext, SinkFatalError, SinkUnavailableError
from poller.sinks.postgresql import PostgresSettings, PostgresSink
from tests.services import POSTGRES, TcpProxy, free_port

from .conftest import batch, many, reading, typical


def sink(dsn: str, table: str, context: SinkContext, **options: object) -> PostgresSink:
    settings = PostgresSettings.model_validate(
        {"type": "postgresql", "dsn": dsn, "table": table, **options}
    )
    return PostgresSink(settings, context)


async def rows(dsn: str, table: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(f"SELECT * FROM {table} ORDER BY ts, key"))
    finally:
        await conn.close()


async def test_creates_its_table_and_stores_every_column(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    readings = typical()

    s = sink(postgres_dsn, pg_table, context, names={"1.8.0": "import"})
    try:
        await s.connect()
        await s.connect()  # idempotent
        # The machine's PostgreSQL has no TimescaleDB: a plain table, no error.
        assert s.hypertable is False
        result = await s.write(batch(readings))
        assert result.accepted == len(readings)
        assert not result.rejected
        assert not result.retry
    finally:
        await s.close()
        await s.close()  # twice is fine
    stored = {row["key"]: row for row in await rows(postgres_dsn, pg_table)}
    assert set(stored) == {r.key for r in readings}
    energy = stored[readings[0].key]
    assert energy["name"] == "import"
    assert energy["value"] == "042951.721"
    assert energy["value_num"] == Decimal("42951.721")
    assert energy["unit"] == "kWh"
    assert energy["ts"] == readings[0].slot
    assert energy["taken_at"] == readings[0].taken_at
    assert energy["quality"] == "good"
    assert stored[readings[1].key]["value_num"] == Decimal("17.5")  # decimal comma
    text = stored[readings[7].key]
    assert text["value_num"] is None
    assert text["value"] == "12:34:56"
    assert text["quality"] == "unchecked"
    profile = stored[readings[9].key]
    assert profile["ts"] == readings[9].meter_time  # the meter's own stamp
    assert profile["slot"] is None


async def test_a_replay_stores_nothing_twice(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    readings = many(30)

    s = sink(postgres_dsn, pg_table, context)
    try:
        assert (await s.write(batch(readings[:20]))).accepted == 20
        # The spool resends after a crash: overlapping, and a duplicate in one batch.
        again = await s.write(batch(readings[10:] + readings[:1]))
        assert again.accepted == 21
    finally:
        await s.close()
    stored = await rows(postgres_dsn, pg_table)
    assert len(stored) == 30
    assert sorted(r["key"] for r in stored) == sorted(r.key for r in readings)


async def test_timescale_detection_uses_the_extension_when_installed(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        available = await conn.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        )
    finally:
        await conn.close()
    s = sink(postgres_dsn, pg_table, context)
    try:
        await s.connect()
        if available:
            pytest.skip("timescaledb is available here: the absent path is not testable")
        assert s.hypertable is False
    finally:
        await s.close()
    off = sink(postgres_dsn, pg_table + "_off", context, timescale="off")
    try:
        await off.connect()
        assert off.hypertable is False
    finally:
        await off.close()


async def test_a_reading_the_database_refuses_is_rejected_and_the_rest_stored(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    readings = many(40)
    # A NUL in text: PostgreSQL refuses it (SQLSTATE 22021), whatever the table says.
    nul = reading("1.8.1", "12\x003", "kWh")
    # A limit the operator put on the table (SQLSTATE 23514).
    too_big = reading("1.8.2", "999999999", "kWh")
    mixed = [*readings[:15], nul, *readings[15:30], too_big, *readings[30:]]

    s = sink(postgres_dsn, pg_table, context)
    try:
        await s.connect()
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(
                f"ALTER TABLE {pg_table} ADD CONSTRAINT plausible CHECK (value_num < 1e6)"
            )
        finally:
            await conn.close()
        result = await s.write(batch(mixed))
        assert result.accepted == 40
        assert not result.retry
        rejected = {r.reading.key: r.reason for r in result.rejected}
        assert set(rejected) == {nul.key, too_big.key}
        assert "22021" in rejected[nul.key]
        assert "23514" in rejected[too_big.key]
        # And the sink goes on: the next batch is stored as usual.
        assert (await s.write(batch(many(5, meter="other")))).accepted == 5
    finally:
        await s.close()
    stored = {row["key"] for row in await rows(postgres_dsn, pg_table)}
    assert stored == {r.key for r in readings} | {r.key for r in many(5, meter="other")}


async def test_database_unreachable_then_back_nothing_lost_nothing_duplicated(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    """The sink's server goes away (a port nobody listens on), then comes back."""
    readings = many(60)
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/test"

    s = sink(dead, pg_table, context, connect_timeout=2.0)
    try:
        down = await s.write(batch(readings[:30]))
        assert down.retry == tuple(readings[:30])
        assert "cannot connect" in (down.retry_reason or "")
    finally:
        await s.close()
    # The spool resends the backlog oldest first once the database answers again.
    s = sink(postgres_dsn, pg_table, context)
    try:
        assert (await s.write(batch(list(down.retry)))).accepted == 30
        assert (await s.write(batch(readings[20:]))).accepted == 40  # overlaps: a replay
    finally:
        await s.close()
    stored = await rows(postgres_dsn, pg_table)
    assert sorted(r["key"] for r in stored) == sorted(r.key for r in readings)


async def test_backend_terminated_between_writes_reconnects(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    """The server kills the sink's session (a restart, a failover): nothing lost."""
    readings = many(30)

    s = sink(postgres_dsn, pg_table, context, name="victim")
    admin = await asyncpg.connect(postgres_dsn)
    try:
        assert (await s.write(batch(readings[:10]))).accepted == 10
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'iec-poller:victim'"
        )
        assert killed == 1
        result = await s.write(batch(readings[10:]))
        assert result.accepted == 20
        assert not result.retry
    finally:
        await admin.close()
        await s.close()
    stored = await rows(postgres_dsn, pg_table)
    assert sorted(r["key"] for r in stored) == sorted(r.key for r in readings)


async def test_the_dsn_password_is_never_shown(pg_table: str, context: SinkContext) -> None:
    port = free_port()

    async def body() -> None:
        s = sink(f"postgresql://u:hunter2pw@127.0.0.1:{port}/db", pg_table, context)
        result = await s.write(batch(many(1)))
        assert "hunter2pw" not in (result.retry_reason or "")
        assert "127.0.0.1" in (result.retry_reason or "")
        assert "hunter2pw" not in repr(s) + repr(s.settings)

    await body()
    keyword = PostgresSettings(type="postgresql", dsn="host=h password=hunter2pw dbname=d")
    assert "hunter2pw" not in repr(keyword)


async def test_insert_rate(postgres_dsn: str, pg_table: str, context: SinkContext) -> None:
    readings = many(10_000)

    async def body() -> float:
        s = sink(postgres_dsn, pg_table, context)
        try:
            await s.connect()
            started = time.perf_counter()
            for start in range(0, len(readings), 1000):
                assert (await s.write(batch(readings[start : start + 1000]))).accepted == 1000
            return time.perf_counter() - started
        finally:
            await s.close()

    elapsed = await body()
    print(f"postgresql: {len(readings) / elapsed:,.0f} readings/s in batches of 1000")
    assert elapsed < 10


async def test_network_outage_to_the_same_sink_nothing_lost_nothing_duplicated(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    """One sink, its server cut off (connections dropped, nothing listening), then back."""
    readings = many(60)

    proxy = TcpProxy(POSTGRES)
    await proxy.start()
    s = sink(f"postgresql://postgres@127.0.0.1:{proxy.port}/test", pg_table, context,
             connect_timeout=2.0)  # fmt: skip
    try:
        assert (await s.write(batch(readings[:20]))).accepted == 20
        await proxy.stop()
        down = await s.write(batch(readings[20:40]))
        assert down.retry == tuple(readings[20:40])
        assert down.accepted == 0
        await proxy.start()  # the same port again
        # The spool sends the backlog first, then what came meanwhile.
        assert (await s.write(batch(list(down.retry)))).accepted == 20
        assert (await s.write(batch(readings[40:]))).accepted == 20
    finally:
        await s.close()
        await proxy.stop()
    stored = await rows(postgres_dsn, pg_table)
    assert len(stored) == 60
    assert sorted(r["key"] for r in stored) == sorted(r.key for r in readings)


async def connect_error(s: PostgresSink) -> SinkUnavailableError:
    """What ``connect`` raised; the sink is closed after it."""
    try:
        with pytest.raises(SinkUnavailableError) as raised:
            await s.connect()
    finally:
        await s.close()
    return raised.value


async def test_an_unknown_role_is_fatal_and_never_shows_the_password(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    host, port = POSTGRES
    dsn = f"postgresql://no_such_role_{int(time.time())}:n0tmyPW@{host}:{port}/test"
    readings = many(3)

    async def body() -> None:
        s = sink(dsn, pg_table, context)
        try:
            with pytest.raises(SinkFatalError) as raised:
                await s.connect()
            result = await s.write(batch(readings))
        finally:
            await s.close()
        assert "28000" in str(raised.value)
        assert "n0tmyPW" not in str(raised.value)
        assert result.retry == tuple(readings)
        assert result.fatal
        assert "n0tmyPW" not in (result.retry_reason or "")

    await body()


async def test_a_role_that_may_not_create_the_table_is_fatal(
    postgres_dsn: str, pg_table: str, context: SinkContext
) -> None:
    role = f"iec_test_reader_{uuid.uuid4().hex[:8]}"
    host, port = POSTGRES

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def body() -> None:
        await admin(f'CREATE ROLE "{role}" LOGIN')
        try:
            await admin(f'REVOKE CREATE ON DATABASE test FROM "{role}"')
            s = sink(f"postgresql://{role}@{host}:{port}/test", pg_table, context)
            error = await connect_error(s)
            assert isinstance(error, SinkFatalError)
            assert "42501" in str(error)
        finally:
            await admin(f'DROP ROLE IF EXISTS "{role}"')

    await body()


async def test_a_lost_server_is_not_fatal(pg_table: str, context: SinkContext) -> None:
    async def body() -> None:
        s = sink(f"postgresql://postgres@127.0.0.1:{free_port()}/test", pg_table, context)
        error = await connect_error(s)
        assert not isinstance(error, SinkFatalError)

    await body()
