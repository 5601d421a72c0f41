"""GET /v1/stream (Server-Sent Events), and a real `ticker serve` process shutting down on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pytest_aiohttp import AiohttpServer

from tests.conftest import START, AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import Upstream
from tests.redis_proc import free_port
from tests.serving import serve_env, serving
from ticker.web.appkeys import METRICS, REFRESHER, SNAPSHOT
from ticker.web.stream import close_event


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until the condition holds (a bounded number of turns, no clock involved)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def next_event(resp: aiohttp.ClientResponse) -> dict[str, str]:
    """Read one SSE block (up to a blank line) into its fields; comments are kept under ':'."""
    fields: dict[str, str] = {}
    while True:
        raw = await asyncio.wait_for(resp.content.readline(), 10)
        if not raw:  # the server ended the stream: a test waiting for an event fails here, never loops on
            raise EOFError(f"the stream ended before a whole event; read so far: {fields}")
        line = raw.decode().rstrip("\n")
        if not line:
            if fields:
                return fields
            continue
        name, _, value = line.partition(":")
        fields[name or ":"] = value.strip()


async def test_stream_sends_the_strip_at_once_then_every_change(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(sse_heartbeat=60))
    await client.app[REFRESHER].run("nbk")
    resp = await client.get("/v1/stream?currencies=USD&cities=almaty&lang=ru")
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["X-Accel-Buffering"] == "no"
    assert "no-cache" in resp.headers["Cache-Control"]
    assert (await next_event(resp)) == {"retry": "5000"}
    first = await next_event(resp)
    assert first["event"] == "ticker"
    strip = json.loads(first["data"])
    assert [r["currency"] for r in strip["rates"]] == ["USD"]
    assert strip["weather"][0]["name"] == "Алматы"
    assert strip["rates"][0]["rate"] == 478.77

    clock.advance(1800)
    upstream.fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
    await client.app[REFRESHER].run("nbk")
    second = await next_event(resp)
    assert json.loads(second["data"])["rates"][0]["rate"] == 480.1
    assert second["id"] != first["id"]
    # the event id is the body's validator: the same bytes as a plain GET with the same query
    plain = await client.get("/v1/ticker?currencies=USD&cities=almaty&lang=ru", headers={"Accept-Encoding": "identity"})
    assert plain.headers["ETag"] == f'"{second["id"]}"'
    resp.close()


async def test_stream_skips_what_the_client_has_and_sends_heartbeats(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    client = await start_app(make_settings(sse_heartbeat=0.05))
    await client.app[REFRESHER].run("nbk")
    first = await client.get("/v1/stream")
    await next_event(first)
    event_id = (await next_event(first))["id"]
    first.close()
    resumed = await client.get("/v1/stream", headers={"Last-Event-ID": event_id})
    assert (await next_event(resumed)) == {"retry": "5000"}
    assert (await next_event(resumed)) == {":": "keep-alive"}  # nothing new: no repeat of the strip
    resumed.close()


async def test_stream_answers_a_bad_query_with_400_json(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await start_app(make_settings())
    resp = await client.get("/v1/stream?cities=paris")
    assert resp.status == 400
    assert (await resp.json())["allowed"] == ["astana", "almaty"]


async def test_stream_past_its_cap_answers_503_with_retry_after_and_a_slot_frees_when_one_leaves(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(sse_max_clients=2, sse_heartbeat=300))
    await client.app[REFRESHER].run("nbk")
    metrics = client.app[METRICS]
    first, second = await client.get("/v1/stream"), await client.get("/v1/stream")
    for resp in (first, second):
        assert resp.status == 200
        await next_event(resp)  # retry:
        assert (await next_event(resp))["event"] == "ticker"
    assert metrics.streams == 2

    refused = await client.get("/v1/stream")
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "30"
    assert refused.headers["Cache-Control"] == "no-store"
    body = await refused.json()
    assert body["status"] == 503 and "poll /v1/ticker" in body["error"]
    assert metrics.streams == 2  # a refusal holds no slot

    server = client.server.handler  # aiohttp's connection manager: one protocol per open connection
    open_connections = len(server.connections)
    first.close()
    await until(lambda: len(server.connections) == open_connections - 1)  # the server saw it go
    # a GET stream learns of its reader leaving at its next write (a change, or the heartbeat): make a change
    clock.advance(1800)
    upstream.fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
    await client.app[REFRESHER].run("nbk")
    await until(lambda: metrics.streams == 1)
    assert (await next_event(second))["event"] == "ticker"  # the one that stayed got the change
    third = await client.get("/v1/stream")
    assert third.status == 200
    await next_event(third)
    assert (await next_event(third))["event"] == "ticker"
    assert metrics.streams == 2
    second.close()
    third.close()


async def test_sigterm_closes_streams_and_exits_0(aiohttp_server: AiohttpServer) -> None:
    # `ticker serve` runs on the real clock: its upstream must too, or it would see old documents
    fake = Upstream()
    fake.nbk_date = None  # NBK's rates on every date, today's whatever today is
    server = await aiohttp_server(fake.app())
    port = free_port()
    url = str(server.make_url("")).rstrip("/")
    async with serving(serve_env(url, port, TICKER_SSE_HEARTBEAT="60")) as served, aiohttp.ClientSession() as session:
        resp = await session.get(f"http://127.0.0.1:{port}/v1/stream")
        await next_event(resp)  # retry
        strip: dict[str, Any] = json.loads((await next_event(resp))["data"])
        while strip["rates"][0]["rate"] is None:  # until the start-up fetch lands
            strip = json.loads((await next_event(resp))["data"])
        assert strip["rates"][0]["stale"] is False  # today's rate by the real clock
        served.proc.send_signal(signal.SIGTERM)
        final = await next_event(resp)
        while final.get("event") == "ticker":  # a fetch landing (weather, CBR) may race the signal
            final = await next_event(resp)
        assert final["event"] == "close"
        assert 5000 <= int(final["retry"]) <= 30000  # reconnects spread, not all in one second
        assert await resp.content.read() == b""  # and the stream ends
        assert await asyncio.wait_for(served.proc.wait(), 30) == 0  # a bound on a hang, not a timing
    log = await served.log()
    assert "Traceback" not in log, log


class TrippingClock(FakeClock):
    """A FakeClock that, once armed, schedules a callback the next time anyone reads it."""

    def __init__(self) -> None:
        super().__init__(START)
        self.trip: Callable[[], None] | None = None
        self.tripped_in: asyncio.Task[Any] | None = None

    def __call__(self) -> datetime:
        trip, self.trip = self.trip, None
        if trip is not None:
            self.tripped_in = asyncio.current_task()
            asyncio.get_running_loop().call_soon(trip)
        return self.now


async def test_a_change_landing_while_the_stream_sets_up_its_wait_is_not_missed(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    """The stream renders (reading the clock), writes, then waits for the next change. A change that lands
    between its render and its wait (here: the snapshot's timer firing for midnight) must be sent at once,
    not at the next heartbeat, five minutes later."""
    clock = TrippingClock()
    client = await start_app(make_settings(sse_heartbeat=300, open_meteo={"stale_after": 1200}), clock=clock)
    snapshot = client.app[SNAPSHOT]
    assert await client.app[REFRESHER].run("nbk") == "ok"  # current until 19:00Z
    assert await client.app[REFRESHER].run("open_meteo") == "ok"  # observed 10:15Z, current until 10:50Z
    resp = await client.get("/v1/stream")
    assert (await next_event(resp)) == {"retry": "5000"}
    first = json.loads((await next_event(resp))["data"])
    assert not first["rates"][0]["stale"] and not first["weather"][0]["stale"]

    def midnight() -> None:
        clock.now = datetime(2026, 4, 1, 19, 0, 1, tzinfo=UTC)
        snapshot.invalidate()

    clock.now = datetime(2026, 4, 1, 10, 50, 1, tzinfo=UTC)  # the temperatures turn stale
    snapshot.invalidate()  # the stream wakes up for this change...
    clock.trip = midnight  # ...and while it renders it, the next change is on its way
    second = json.loads((await next_event(resp))["data"])
    assert second["weather"][0]["stale"] and not second["rates"][0]["stale"]
    assert clock.tripped_in is not None and clock.tripped_in is not asyncio.current_task()  # in the stream
    third = await next_event(resp)  # within the bound: no keep-alive first, no five-minute wait
    assert third["event"] == "ticker"
    assert json.loads(third["data"])["rates"][0]["stale"] is True
    resp.close()


def test_the_close_event_spreads_reconnects_over_5_to_30_seconds() -> None:
    assert close_event(lambda: 0.0).startswith(b"retry: 5000\nevent: close\n")
    assert close_event(lambda: 0.5).startswith(b"retry: 17500\n")
    assert close_event(lambda: 0.999999).startswith(b"retry: 29999\n")
    assert len({close_event() for _ in range(50)}) > 1  # drawn per subscriber
