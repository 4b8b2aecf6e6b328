"""/healthz and /metrics over real HTTP, with the metrics fed by a real bus engine."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from poller.daemon import Health, Metrics, Sample, StatusServer

from ..engine.helpers import rig, settings, spec


def fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_from_a_bus_with_a_silent_meter_and_health_codes() -> None:
    good = spec("lg-zmd", "31002781")
    silent = spec("lg-zmd", "31002782", faults={"silent": True})
    metrics = Metrics()
    healthy = {"value": True}
    metrics.add_gauge(
        "iec_poller_spool_depth",
        "Readings waiting for a sink.",
        ["sink"],
        lambda: [Sample({"sink": "sqlite"}, 42)],
    )

    async def main() -> tuple[list[tuple[int, str, str]], list]:
        r = rig([good, silent], [settings(good), settings(silent, retries=1)])
        r.engine._observer = metrics  # the daemon passes it to the constructor
        async with r.engine:
            batches = await asyncio.gather(*r.engine.submit_all())
        server = StatusServer(
            "127.0.0.1",
            0,
            health=lambda: Health(healthy["value"], {"buses": [{"name": "bus-1"}]}),
            metrics=metrics,
        )
        await server.start()
        host, port = server.address
        base = f"http://{host}:{port}"
        try:
            pages = [await asyncio.to_thread(fetch, f"{base}/metrics")]
            pages.append(await asyncio.to_thread(fetch, f"{base}/healthz"))
            healthy["value"] = False
            pages.append(await asyncio.to_thread(fetch, f"{base}/healthz"))
            pages.append(await asyncio.to_thread(fetch, f"{base}/nope"))
        finally:
            await server.stop()
        return pages, batches

    pages, batches = await main()
    assert [b.ok for b in batches] == [True, False]
    status, content_type, text = pages[0]
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    m = samples(text)
    ok = (("bus", "bus-1"), ("meter", "31002781"), ("result", "ok"))
    failed = (("bus", "bus-1"), ("meter", "31002782"), ("result", "failed"))
    assert m[("iec_poller_reads_total", ok)] == 1
    assert m[("iec_poller_reads_total", failed)] == 1
    assert m[("iec_poller_sessions_total", failed)] == 2  # the first try and one retry
    assert m[("iec_poller_retries_total", (("bus", "bus-1"), ("meter", "31002782")))] == 1
    readings = m[("iec_poller_readings_total", (("bus", "bus-1"), ("meter", "31002781")))]
    assert readings == len(batches[0].readings)
    assert m[("iec_poller_port_up", (("bus", "bus-1"),))] == 1
    assert m[("iec_poller_session_duration_seconds_count", (("bus", "bus-1"),))] == 3
    assert m[("iec_poller_bus_busy_seconds_total", (("bus", "bus-1"),))] > 1.0
    assert m[("iec_poller_spool_depth", (("sink", "sqlite"),))] == 42
    # The process's own series, as every Prometheus exporter has them.
    assert m[("process_resident_memory_bytes", ())] > 10 * 2**20
    assert m[("process_open_fds", ())] >= 3
    assert m[("process_cpu_seconds_total", ())] > 0
    assert any(name == "python_info" for name, _ in m)
    assert any(name == "python_gc_collections_total" for name, _ in m)
    assert pages[1][0] == 200
    assert json.loads(pages[1][2]) == {"buses": [{"name": "bus-1"}]}
    assert pages[2][0] == 503
    assert pages[3][0] == 404


async def test_status_server_binds_where_told() -> None:
    async def main() -> tuple[str, int]:
        server = StatusServer("127.0.0.1", 0, health=lambda: Health(True, {}), metrics=Metrics())
        await server.start()
        try:
            return server.address
        finally:
            await server.stop()

    host, port = await main()
    assert host == "127.0.0.1"
    assert port > 0


async def test_bad_requests_get_clear_answers() -> None:
    import socket

    async def main() -> list[bytes]:
        server = StatusServer("127.0.0.1", 0, health=lambda: Health(True, {}), metrics=Metrics())
        await server.start()
        host, port = server.address

        def ask(raw: bytes) -> bytes:
            with socket.create_connection((host, port), timeout=5) as conn:
                conn.sendall(raw)
                conn.shutdown(socket.SHUT_WR)  # the request is all there is
                chunks = []
                while chunk := conn.recv(4096):
                    chunks.append(chunk)
                return b"".join(chunks)

        try:
            return [
                await asyncio.to_thread(ask, raw)
                for raw in (
                    b"POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /nothing HTTP/1.0\r\n\r\n",
                    b"garbage without an end",  # then the connection ends
                )
            ]
        finally:
            await server.stop()

    answers = await main()
    assert answers[0].startswith(b"HTTP/1.1 405 ")
    assert answers[1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: application/json" in answers[1]
    assert answers[2].startswith(b"HTTP/1.1 404 ")
    assert answers[3].startswith(b"HTTP/1.1 400 ")
