"""GET /v1/stream (Server-Sent Events), and a real `ticker serve` process shutting down on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

import aiohttp

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.redis_proc import free_port
from ticker.app import REFRESHER


async def next_event(resp: aiohttp.ClientResponse) -> dict[str, str]:
    """Read one SSE block (up to a blank line) into its fields; comments are kept under ':'."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\n")
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


def _env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    env.update({f"TICKER_{s}__BASE_URL": url for s in ("NBK", "CBR", "OPEN_METEO", "MET_NO")})
    env.update({"TICKER_PORT": str(port), "TICKER_HOST": "127.0.0.1", "TICKER_SSE_HEARTBEAT": "60"})
    return env


async def _wait_listening(proc: asyncio.subprocess.Process) -> list[str]:
    assert proc.stderr is not None
    lines = []
    async with asyncio.timeout(20):
        while True:
            line = (await proc.stderr.readline()).decode()
            assert line, "ticker serve exited early:\n" + "".join(lines)
            lines.append(line)
            if "listening on" in line:
                return lines


async def test_sigterm_closes_streams_and_exits_0_quickly(upstream: Upstreams) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ticker", "serve", env=_env(upstream.url, port), stderr=asyncio.subprocess.PIPE
    )
    try:
        await _wait_listening(proc)
        async with aiohttp.ClientSession() as session:
            resp = await session.get(f"http://127.0.0.1:{port}/v1/stream")
            await next_event(resp)  # retry
            strip: dict[str, Any] = json.loads((await next_event(resp))["data"])
            while strip["rates"][0]["rate"] is None:  # until the start-up fetch lands
                strip = json.loads((await next_event(resp))["data"])
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            final = await next_event(resp)
            assert final["event"] == "close"
            assert await resp.content.read() == b""  # and the stream ends
            code = await asyncio.wait_for(proc.wait(), 10)
            assert code == 0
            assert time.monotonic() - started < 10
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        assert proc.stderr is not None
        rest = (await proc.stderr.read()).decode()
        assert "Traceback" not in rest, rest
