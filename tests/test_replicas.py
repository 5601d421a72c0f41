"""Many replicas on one Redis: one upstream request per planned run across them all, every publication reaching
every replica through pub/sub, the same bytes everywhere, a restart that is ready at once from Redis, and the
recovery after an outage at start-up. Time is the injected clock; waits are on store announcements."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from providers.base import Rate, Temperature
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.fetch.refresh import RetryPolicy
from ticker.settings import Settings
from ticker.state import Entries, Entry
from ticker.store.redis_backend import RedisBackend
from ticker.web.appkeys import REFRESHER, SNAPSHOT, STORE

Client = TestClient[Any, Any]
SOURCES = ("nbk", "cbr", "open_meteo", "met_no")


def held(client: Client) -> tuple[dict[str, Entries], dict[str, Any]]:
    store = client.app[STORE]
    return {source: dict(entries) for source, entries in store.all_held().items() if entries}, store.all_status()


async def converge(replicas: Sequence[Client], timeout: float = 10) -> None:
    """Until every replica's local copy (data and status) is the same: each change it applies wakes us."""
    async with asyncio.timeout(timeout):
        while True:
            events = [replica.app[SNAPSHOT].changed for replica in replicas]  # taken before looking
            first = held(replicas[0])
            if all(held(replica) == first for replica in replicas[1:]):
                return
            waits = [asyncio.ensure_future(event.wait()) for event in events]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()


async def run_due_everywhere(replicas: Iterable[Client]) -> list[str]:
    """Every replica starts what its plan says is due, at once, as their scheduler ticks would."""
    outcomes = await asyncio.gather(*(replica.app[REFRESHER].run_due() for replica in replicas))
    return [outcome for each in outcomes for outcome in each]


async def etags(replicas: Iterable[Client], path: str = "/v1/ticker") -> set[str]:
    return {(await replica.get(path)).headers["ETag"] for replica in replicas}


async def claim_keys(url: str) -> list[str]:
    client = aioredis.from_url(url, decode_responses=True)
    try:
        return sorted([key async for key in client.scan_iter("*claim:*")])
    finally:
        await client.aclose()


def full_and_current(body: dict[str, Any], settings: Settings) -> bool:
    rates = {item["currency"]: item for item in body["rates"]}
    weather = {item["city"]: item for item in body["weather"]}
    return (
        rates.keys() == set(settings.currencies)
        and weather.keys() == {city.id for city in settings.cities}
        and all(item["rate"] is not None and not item["stale"] for item in rates.values())
        and all(item["temperature"] is not None and not item["stale"] for item in weather.values())
    )


async def test_three_replicas_make_one_request_per_planned_run_and_serve_the_same_bytes(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    settings = make_settings(redis_url=redis_url)
    replicas = [await start_app(settings) for _ in range(3)]

    outcomes = await run_due_everywhere(replicas)
    assert upstream.fake.hits["nbk"] == upstream.fake.hits["open_meteo"] == 1
    assert upstream.fake.hits["cbr"] <= 1 and upstream.fake.hits["met_no"] == 0  # the rate fallback cross-checks
    assert outcomes.count("claimed") == 4  # the two others found both primaries' runs claimed
    keys = await claim_keys(redis_url)
    assert [key for key in keys if ":nbk:today:2026-04-01:" in key] and len(keys) == len(set(keys))

    await converge(replicas)  # the two that fetched nothing heard of it through pub/sub
    for replica in replicas:
        body = await (await replica.get("/v1/rates")).json()
        usd = next(item for item in body["rates"] if item["currency"] == "USD")
        assert (usd["rate"], usd["source"], usd["stale"]) == (478.77, "nbk", False)
    assert len(await etags(replicas)) == 1
    assert len(await etags(replicas, "/v1/weather")) == 1

    upstream.fake.rates["USD"] = ("480.05", 1, "UP", "+1.28")
    clock.advance(settings.source_config("nbk").interval)  # nbk's safety gap: its next planned run
    await run_due_everywhere(replicas)
    assert upstream.fake.hits["nbk"] == 2  # one more planned run, one more request, whoever made it
    assert upstream.fake.hits["open_meteo"] == 2
    assert len(await claim_keys(redis_url)) == len(keys) + 2  # a claim per run: a new run is a new key
    await converge(replicas)
    for replica in replicas:
        body = await (await replica.get("/v1/rates")).json()
        assert next(item["rate"] for item in body["rates"] if item["currency"] == "USD") == 480.05
    assert len(await etags(replicas)) == 1

    # 15:45 Astana: tomorrow's rates are asked for (published at 16:00 here): again one request in all
    assert sorted(await run_due_everywhere(replicas)) == ["claimed", "claimed", "not_yet"]
    assert upstream.fake.hits["nbk"] == 3
    await converge(replicas)
    assert not await run_due_everywhere(replicas)  # then nothing is due: no replica asks again
    assert upstream.fake.hits["nbk"] == 3


async def test_a_replica_stopped_mid_fetch_hands_its_run_to_another(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str
) -> None:
    settings = make_settings(redis_url=redis_url, nbk={"timeout": 30})
    upstream.fake.fault["nbk"] = "hang"
    going, staying = await start_app(settings), await start_app(settings)
    arrived = upstream.fake.arrived
    arrived.clear()
    stuck = asyncio.ensure_future(going.app[REFRESHER].run("nbk"))
    async with asyncio.timeout(10):
        while upstream.fake.hits["nbk"] == 0:
            await arrived.wait()
            arrived.clear()
    assert await staying.app[REFRESHER].run("nbk") == "claimed"  # the same run, in flight elsewhere
    await going.close()  # SIGTERM: the fetch in flight is cancelled and its claim handed on
    await asyncio.gather(stuck, return_exceptions=True)
    upstream.fake.fault["nbk"] = "ok"
    assert await staying.app[REFRESHER].run("nbk") == "ok"  # same instant, same run: it was never finished
    assert upstream.fake.hits["nbk"] == 2


async def test_a_restarted_replica_is_ready_at_once_from_redis_with_the_upstreams_down(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    settings = make_settings(redis_url=redis_url)
    first = await start_app(settings)
    assert await first.app[REFRESHER].run("nbk") == "ok"
    assert await first.app[REFRESHER].run("open_meteo") == "ok"
    before = await (await first.get("/v1/ticker")).json()
    await first.close()
    for source in SOURCES:
        upstream.fake.fault[source] = "down"
    hits = dict(upstream.fake.hits)

    restarted = await start_app(settings)
    ready = await restarted.get("/readyz")
    assert ready.status == 200
    assert await (await restarted.get("/v1/ticker")).json() == before
    assert full_and_current(before, settings)

    clock.advance(timedelta(hours=14).total_seconds())  # past Astana midnight: every value is old now
    again = await start_app(settings)  # still ready: the data was current when it was stored
    ready = await again.get("/readyz")
    assert ready.status == 200
    readiness = await ready.json()
    reasons = {report["source"]: report["reason"] for report in readiness["sources"]}
    assert "today is 2026-04-02" in reasons["nbk"]
    body = await (await again.get("/v1/ticker")).json()
    assert [item["rate"] for item in body["rates"]] == [item["rate"] for item in before["rates"]]
    assert all(item["stale"] for item in body["rates"] + body["weather"])
    assert dict(upstream.fake.hits) == hits


async def test_a_replica_starting_on_data_that_was_never_current_is_not_ready(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    now = clock()
    old_rate = Rate(currency="USD", rate=470.0, date=now.date() - timedelta(days=2))
    old_temperature = Temperature(city="astana", temperature=-3.0, observed_at=now - timedelta(days=3))
    backend = RedisBackend(redis_url)
    try:  # what a replica fetched today but dated days back (the upstream served an old document)
        await backend.write(
            "nbk",
            {"USD@" + old_rate.date.isoformat(): Entry(source="nbk", record=old_rate, fetched_at=now, changed_at=now)},
            [],
        )
        await backend.write(
            "open_meteo",
            {"astana": Entry(source="open_meteo", record=old_temperature, fetched_at=now, changed_at=now)},
            [],
        )
    finally:
        await backend.close()
    replica = await start_app(make_settings(redis_url=redis_url))
    assert replica.app[STORE].all_held().keys() >= {"nbk", "open_meteo"}  # it did load them
    ready = await replica.get("/readyz")
    assert ready.status == 503
    assert "no current rates data yet" in (await ready.json())["reason"]


@pytest.mark.parametrize("fault", ["down", "503"])
async def test_two_replicas_recover_within_45_s_of_an_outage_at_start_up_without_a_storm(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    redis_url: str,
    clock: FakeClock,
    fault: str,
) -> None:
    """Issue #8 point 4: default intervals and breaker, every upstream down for the first 15 s."""
    settings = make_settings(redis_url=redis_url, breaker_cooldown=30, nbk={"interval": 14400}, cbr={"interval": 14400})
    replicas = [await start_app(settings, retry=RetryPolicy(attempts=1)) for _ in range(2)]
    # requests one run of each source makes: NBK falls back to rates_all.xml, MET Norway asks per city;
    # a dropped connection is retried once by aiohttp
    per_run = {"nbk": 2, "cbr": 1, "open_meteo": 1, "met_no": len(settings.cities)}
    per_run = {source: count * (2 if fault == "down" else 1) for source, count in per_run.items()}
    window = timedelta(seconds=settings.breaker_cooldown)
    start = clock()
    for source in SOURCES:
        upstream.fake.fault[source] = fault

    hits: dict[int, Counter[str]] = {}  # retry window -> requests per source in it, across both replicas
    back = start + timedelta(seconds=15)
    recovered = None
    while clock() <= back + timedelta(seconds=60):
        if clock() >= back:
            upstream.fake.fault.clear()
        seen = Counter(upstream.fake.hits)
        await run_due_everywhere(replicas)
        hits.setdefault((clock() - start) // window, Counter()).update(Counter(upstream.fake.hits) - seen)
        await converge(replicas)
        bodies = [await (await replica.get("/v1/ticker")).json() for replica in replicas]
        if recovered is None and all(full_and_current(body, settings) for body in bodies):
            recovered = clock()
        clock.advance(5)

    assert sum(hits[0].values()) > 0  # they did try during the outage
    assert recovered is not None, "the strip never filled"
    assert recovered - back <= timedelta(seconds=45), recovered - back
    for index, counted in sorted(hits.items()):
        for source, count in counted.items():
            assert count <= per_run[source], (f"window {index}", source, count)
    assert len(await etags(replicas)) == 1
