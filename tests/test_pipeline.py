"""The pipeline end to end: scheduler -> refresher -> store -> every replica's snapshot -> HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

import pytest

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams, wait_for_data
from ticker.app import REFRESHER
from ticker.appkeys import SNAPSHOT


async def test_a_restarted_process_serves_what_redis_holds_with_upstreams_down(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    redis_url: str,
    clock: FakeClock,
) -> None:
    settings = make_settings(redis_url=redis_url)
    first = await start_app(settings)
    assert await first.app[REFRESHER].run("nbk") == "ok"
    assert await first.app[REFRESHER].run("open_meteo") == "ok"
    expected = await (await first.get("/v1/ticker")).read()
    await first.close()

    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        upstream.fake.fault[source] = "500"
    second = await start_app(settings)  # no fetch has run in this process
    resp = await second.get("/v1/ticker")
    assert await resp.read() == expected
    assert (await second.get("/readyz")).status == 200
    clock.advance(1800)  # the next time slot: this process may fetch
    assert await second.app[REFRESHER].run("nbk") == "failed"
    assert await (await second.get("/v1/ticker")).read() == expected  # last good kept


async def test_a_replica_learns_of_a_change_through_redis(
    start_app: AppFactory, make_settings: SettingsFactory, redis_url: str
) -> None:
    settings = make_settings(redis_url=redis_url, role="api")
    fetcher = await start_app(make_settings(redis_url=redis_url))
    api = await start_app(settings)
    assert (await (await api.get("/v1/rates")).json())["rates"][0]["rate"] is None
    changed = asyncio.ensure_future(api.app[SNAPSHOT].changed())
    await fetcher.app[REFRESHER].run("nbk")
    await asyncio.wait_for(changed, 5)
    assert (await (await api.get("/v1/rates")).json())["rates"][0]["rate"] == 478.77
    etags = {(await c.get("/v1/rates")).headers["ETag"] for c in (api, fetcher)}
    assert len(etags) == 1  # every replica serves the same bytes


async def test_the_scheduler_runs_every_source_at_start_up(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    from ticker.snapshot import utcnow

    client = await start_app(make_settings(), schedule=True, clock=utcnow)
    await wait_for_data(client, "rates", "weather")
    assert upstream.fake.hits["nbk"] == 1
    assert upstream.fake.hits["open_meteo"] == 1
    assert upstream.fake.hits["cbr"] == 0  # fallbacks stay idle while the primaries are healthy
    assert (await client.get("/readyz")).status == 200


async def test_never_two_runs_of_one_source_at_once(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"timeout": 30}))
    refresher = client.app[REFRESHER]
    upstream.fake.fault["nbk"] = "hang"
    first = asyncio.ensure_future(refresher.run("nbk"))
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)  # the first run is inside the upstream now
    assert await refresher.run("nbk") == "busy"
    upstream.fake.fault["nbk"] = "ok"
    upstream.fake.release.set()
    assert await first == "ok"
    assert upstream.fake.hits["nbk"] == 1


async def test_a_failing_streak_is_logged_once_and_the_recovery_once(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
) -> None:
    client = await start_app(make_settings(rate_sources=["nbk"]))
    refresher = client.app[REFRESHER]
    await refresher.run("nbk")
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    caplog.clear()
    upstream.fake.fault["nbk"] = "500"
    for _ in range(3):
        clock.advance(1800)  # the next time slot
        assert await refresher.run("nbk") == "failed"
    upstream.fake.fault["nbk"] = "ok"
    clock.advance(1800)
    assert await refresher.run("nbk") == "ok"
    messages = [r.getMessage() for r in caplog.records if r.name == "ticker.fetch"]
    assert len([m for m in messages if "fetch failed" in m]) == 1
    assert len([m for m in messages if "after 3 failures" in m]) == 1
    assert (await (await client.get("/v1/rates")).json())["rates"][0]["rate"] == 478.77


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


async def test_cli_fetch_prints_the_strip_and_exits_0_when_every_kind_is_fresh(upstream: Upstreams) -> None:
    code, out, err = await _cli("fetch", env=_env(upstream.url))
    assert code == 0, err
    strip = json.loads(out)
    assert strip["rates"][0]["rate"] == 478.77
    assert strip["weather"][0]["temperature"] == -3.4


async def test_cli_fetch_exits_1_when_a_kind_got_no_fresh_data(upstream: Upstreams) -> None:
    upstream.fake.fault["open_meteo"] = upstream.fake.fault["met_no"] = "503"
    code, out, err = await _cli("fetch", env=_env(upstream.url))
    assert code == 1
    assert json.loads(out)["weather"][0]["temperature"] is None
    assert "not every data kind got fresh data" in err
    assert "Traceback" not in err
