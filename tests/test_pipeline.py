"""The pipeline end to end: plan -> refresher -> store -> every replica's snapshot -> HTTP, over the fake upstreams.

In-process tests drive the app and the fake with one injected clock (``schedule=False``, then
``app[REFRESHER].run_due()``); one test lets the real scheduler tick on its own. ``ticker fetch`` runs as a
subprocess on the real clock, so it talks to a fake on the real clock too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpServer

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import Upstream
from ticker.fetch.refresh import Outcome, Refresher
from ticker.web.appkeys import REFRESHER, SNAPSHOT, STORE

Client = TestClient[Any, Any]
TOMORROW = {
    "USD": ("480.10", 1, "UP", "+1.33"),
    "EUR": ("549.00", 1, "UP", "+0.38"),
    "RUB": ("5.90", 1, "UP", "+0.03"),
    "CNY": ("69.50", 1, "UP", "+0.19"),
    "KRW": ("31.40", 100, "UP", "+0.11"),
}


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def strip(client: Client) -> dict[str, Any]:
    resp = await client.get("/v1/ticker")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def run_until_idle(refresher: Refresher) -> list[Outcome]:
    """Every run the plan says is due now, including those that become due when one ends."""
    outcomes: list[Outcome] = []
    for _ in range(10):
        ran = await refresher.run_due()
        if not ran:
            return outcomes
        outcomes += ran
    raise AssertionError(f"still due after 10 rounds: {outcomes}")


def move_to(client: Client, clock: FakeClock, instant: datetime) -> None:
    """Set the clock and do what the snapshot's timer does when an instant it waits for comes."""
    clock.now = instant
    client.app[SNAPSHOT].invalidate()


async def test_end_to_end_today_tomorrow_and_the_midnight_switch(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = {date(2026, 4, 1): dict(upstream.fake.rates), date(2026, 4, 2): TOMORROW}
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert (await client.get("/readyz")).status == 503  # nothing fetched yet
    assert await run_until_idle(refresher) == ["ok", "ok"]  # nbk (cbr's cross-check with it), open_meteo

    body = await strip(client)
    rates, weather = by(body["rates"], "currency"), by(body["weather"], "city")
    assert {code: (r["rate"], r["source"], r["stale"], r["date"]) for code, r in rates.items()} == {
        "USD": (478.77, "nbk", False, "2026-04-01"),
        "EUR": (548.62, "nbk", False, "2026-04-01"),
        "RUB": (5.87, "nbk", False, "2026-04-01"),
        "CNY": (69.31, "nbk", False, "2026-04-01"),
    }
    assert rates["USD"]["stale_at"] == "2026-04-01T19:00:00Z"  # Astana midnight
    assert rates["USD"]["next"] is None
    assert {city: (w["temperature"], w["source"], w["stale"]) for city, w in weather.items()} == {
        "astana": (-3.4, "open_meteo", False),
        "almaty": (12.0, "open_meteo", False),
    }
    assert weather["astana"]["observed_at"] == "2026-04-01T10:15:00Z"
    assert weather["astana"]["stale_at"] == "2026-04-01T11:00:00Z"  # + 3 x 900 s
    assert body["updated_at"] == "2026-04-01T10:15:00Z"
    assert (await client.get("/readyz")).status == 200
    assert upstream.fake.asked("/rss/get_rates.cfm")[-1] == {"fdate": "01.04.2026"}

    # 15:45 Astana: tomorrow's rates are asked for; NBK publishes them at 16:00
    move_to(client, clock, datetime(2026, 4, 1, 10, 45, tzinfo=UTC))
    await run_until_idle(refresher)
    assert {"fdate": "02.04.2026"} in upstream.fake.asked("/rss/get_rates.cfm")
    assert by((await strip(client))["rates"], "currency")["USD"]["next"] is None  # not published yet
    move_to(client, clock, datetime(2026, 4, 1, 11, 0, tzinfo=UTC))  # 16:00 Astana: the poll 15 min on
    await run_until_idle(refresher)
    usd = by((await strip(client))["rates"], "currency")["USD"]
    assert (usd["rate"], usd["date"], usd["stale"]) == (478.77, "2026-04-01", False)  # today's stays current
    assert usd["next"] == {"rate": 480.10, "change": 1.33, "trend": "up", "date": "2026-04-02"}

    # Astana midnight: tomorrow's rate is today's, without a fetch
    hits = dict(upstream.fake.hits)
    move_to(client, clock, datetime(2026, 4, 1, 19, 0, tzinfo=UTC))
    usd = by((await strip(client))["rates"], "currency")["USD"]
    assert (usd["rate"], usd["date"], usd["source"], usd["stale"], usd["next"]) == (
        480.10,
        "2026-04-02",
        "nbk",
        False,
        None,
    )
    assert usd["stale_at"] == "2026-04-02T19:00:00Z"
    assert dict(upstream.fake.hits) == hits


async def test_the_scheduler_ticks_on_its_own(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(), schedule=True)
    store = client.app[STORE]
    async with asyncio.timeout(10):  # the first runs start with the scheduler
        while not (store.held("nbk") and store.held("open_meteo")):
            await client.app[SNAPSHOT].changed.wait()
    assert (upstream.fake.hits["nbk"], upstream.fake.hits["open_meteo"]) == (1, 1)
    assert upstream.fake.hits["met_no"] == 0  # the weather fallback stands by while the primary is current
    assert (await client.get("/readyz")).status == 200

    upstream.fake.temperatures = [-2.0, 13.0]
    clock.advance(900)  # open_meteo's interval: the next tick (within a second or so) asks it again
    async with asyncio.timeout(10):
        while by((await strip(client))["weather"], "city")["astana"]["temperature"] != -2.0:
            await client.app[SNAPSHOT].changed.wait()
    assert upstream.fake.hits["open_meteo"] == 2


async def test_a_restarted_process_serves_what_redis_holds_with_upstreams_down(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    redis_url: str,
    clock: FakeClock,
) -> None:
    settings = make_settings(redis_url=redis_url, breaker_cooldown=30)
    first = await start_app(settings)
    assert await first.app[REFRESHER].run_due() == ["ok", "ok"]
    expected = await (await first.get("/v1/ticker")).read()
    await first.close()

    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        upstream.fake.fault[source] = "500"
    second = await start_app(settings)  # no fetch has run in this process
    assert await (await second.get("/v1/ticker")).read() == expected
    assert (await second.get("/readyz")).status == 200
    hits = upstream.fake.hits["nbk"]
    assert await second.app[REFRESHER].run_due() == []  # the plan read from Redis: nothing is due yet
    assert upstream.fake.hits["nbk"] == hits
    clock.advance(1800)  # nbk's interval
    assert "failed" in await second.app[REFRESHER].run_due()
    assert await (await second.get("/v1/ticker")).read() == expected  # last good kept, still current


async def test_a_replica_learns_of_a_change_through_redis(
    start_app: AppFactory, make_settings: SettingsFactory, redis_url: str
) -> None:
    fetcher = await start_app(make_settings(redis_url=redis_url))
    api = await start_app(make_settings(redis_url=redis_url, role="api"))
    assert (await (await api.get("/v1/rates")).json())["rates"][0]["rate"] is None
    async with asyncio.timeout(10):
        await fetcher.app[REFRESHER].run("nbk")
        while not api.app[STORE].held("nbk"):
            await api.app[SNAPSHOT].changed.wait()
    assert (await (await api.get("/v1/rates")).json())["rates"][0]["rate"] == 478.77
    etags = {(await c.get("/v1/rates")).headers["ETag"] for c in (api, fetcher)}
    assert len(etags) == 1  # every replica serves the same bytes


async def test_never_two_runs_of_one_source_at_once(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"timeout": 30}))
    refresher = client.app[REFRESHER]
    upstream.fake.fault["nbk"] = "hang"
    first = asyncio.ensure_future(refresher.run("nbk"))
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)  # the first run is inside the upstream now
    assert await refresher.run("nbk") == "busy"
    started = refresher.poke()  # the scheduler's tick starts nothing for it either
    assert [task.get_name() for task in started] == ["ticker-fetch-open_meteo"]
    await asyncio.gather(*started)
    upstream.fake.fault["nbk"] = "ok"
    upstream.fake.release.set()
    assert await asyncio.wait_for(first, 10) == "ok"
    assert upstream.fake.hits["nbk"] == 1


async def test_a_failing_streak_is_logged_once_and_the_recovery_once(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
) -> None:
    client = await start_app(make_settings(rate_sources=["nbk"], breaker_cooldown=30))
    refresher = client.app[REFRESHER]
    assert "ok" in await refresher.run_due()
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    caplog.clear()
    upstream.fake.fault["nbk"] = "500"
    clock.advance(1800)
    for _ in range(3):
        assert "failed" in await refresher.run_due()
        open_until = client.app[STORE].status_of("nbk").open_until
        assert open_until is not None
        clock.now = open_until  # asked again when the breaker opens
    upstream.fake.fault["nbk"] = "ok"
    assert "ok" in await refresher.run_due()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("ticker.fetch")]
    assert len([m for m in messages if "fetch failed" in m]) == 1
    assert len([m for m in messages if "after 3 failures" in m]) == 1
    assert (await (await client.get("/v1/rates")).json())["rates"][0]["rate"] == 478.77


# --- ticker fetch: the real command line, on the real clock -----------------------------------------------


@pytest.fixture
async def live_upstream(aiohttp_server: AiohttpServer) -> AsyncIterator[Upstreams]:
    """A fake on the real clock (the subprocess reads the real clock): NBK has a document for every date."""
    fake = Upstream()
    fake.nbk_date = None
    server = await aiohttp_server(fake.app())
    yield Upstreams(fake, str(server.make_url("")).rstrip("/"))
    fake.release.set()


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ticker", *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _env(url: str) -> dict[str, str]:
    sources = ("NBK", "CBR", "OPEN_METEO", "MET_NO")
    return {f"TICKER_{s}__BASE_URL": url for s in sources} | {"TICKER_FETCH_ATTEMPTS": "1"}


async def test_cli_fetch_prints_the_strip_and_exits_0_when_every_item_is_current(live_upstream: Upstreams) -> None:
    code, out, err = await _cli("fetch", env=_env(live_upstream.url))
    assert code == 0, err
    body = json.loads(out)
    assert by(body["rates"], "currency")["USD"]["rate"] == 478.77
    assert {(w["temperature"], w["stale"]) for w in body["weather"]} == {(-3.4, False), (12.0, False)}
    assert all(item["stale"] is False for item in body["rates"])
    today = datetime.now(UTC) + timedelta(hours=5)
    assert {item["date"] for item in body["rates"]} <= {
        (today + timedelta(seconds=s)).date().isoformat()
        for s in (-60, 0, 60)  # a run across Astana midnight
    }


async def test_cli_fetch_exits_1_when_one_item_is_not_current(live_upstream: Upstreams) -> None:
    live_upstream.fake.temperatures = [-3.4, None]  # almaty: null, and MET Norway down
    live_upstream.fake.fault["met_no"] = "503"
    code, out, err = await _cli("fetch", env=_env(live_upstream.url))
    assert code == 1  # every rate and astana are current; one city is not: not 0
    weather = by(json.loads(out)["weather"], "city")
    assert (weather["astana"]["temperature"], weather["astana"]["stale"]) == (-3.4, False)
    assert (weather["almaty"]["temperature"], weather["almaty"]["stale"]) == (None, True)
    assert "not every configured item is current" in err
    assert "Traceback" not in err


async def test_an_api_replica_never_fetches_even_with_its_scheduler_on(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str
) -> None:
    """README: TICKER_ROLE `api` serves and never fetches. A process that fetches starts its first runs at
    start-up (the scheduler pokes the refresher at once); an api replica starts none, now or later."""
    client = await start_app(make_settings(role="api", redis_url=redis_url), schedule=True)
    fetching = [task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith("ticker-fetch-")]
    assert fetching == []
    assert (await client.get("/healthz")).status == 200
    assert sum(upstream.fake.hits.values()) == 0
