"""Many replicas on one Redis: exactly one upstream fetch per source per time slot, and every replica serves
the same bytes once the announcement reaches it. Waiting is on snapshot changes and upstream arrivals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams, wait_for_data
from tests.test_faults import settle
from ticker.app import REFRESHER
from ticker.appkeys import SNAPSHOT
from ticker.redis_store import RedisStore
from ticker.snapshot import utcnow

Client = TestClient[Any, Any]
NBK_INTERVAL = 1800


async def run_everywhere(clients: Iterable[Client], source: str) -> list[str]:
    """Every replica runs the source at once, as their schedulers would within one slot."""
    return list(await asyncio.gather(*(client.app[REFRESHER].run(source) for client in clients)))


async def etags(clients: Iterable[Client], path: str = "/v1/ticker") -> set[str]:
    return {(await client.get(path)).headers["ETag"] for client in clients}


async def test_three_replicas_fetch_each_source_once_per_slot_and_serve_the_same_bytes(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    settings = make_settings(redis_url=redis_url)
    replicas = [await start_app(settings) for _ in range(3)]

    for source in ("nbk", "open_meteo"):
        assert sorted(await run_everywhere(replicas, source)) == ["claimed", "claimed", "ok"]
        assert upstream.fake.hits[source] == 1
    for replica in replicas:
        await wait_for_data(replica, "rates", "weather")  # the announcement reached it
    assert len(await etags(replicas)) == 1
    rates = [(await (await replica.get("/v1/rates")).json())["rates"][0] for replica in replicas]
    assert all(item["rate"] == 478.77 and item["source"] == "nbk" for item in rates)

    clock.advance(NBK_INTERVAL)  # one interval on: one slot more for nbk (and two for open_meteo's 900 s)
    for source in ("nbk", "open_meteo"):
        assert sorted(await run_everywhere(replicas, source)) == ["claimed", "claimed", "ok"]
        assert upstream.fake.hits[source] == 2
    assert len(await etags(replicas)) == 1
    assert upstream.fake.hits["cbr"] == upstream.fake.hits["met_no"] == 0  # healthy primaries: idle fallbacks
    await settle(redis_url, *replicas)


async def test_when_the_fetching_replica_is_gone_another_fetches_the_next_slot(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    settings = make_settings(redis_url=redis_url)
    replicas = [await start_app(settings) for _ in range(3)]
    outcomes = await run_everywhere(replicas, "nbk")
    fetcher = replicas[outcomes.index("ok")]
    await settle(redis_url, *replicas)
    await fetcher.close()
    others = [replica for replica in replicas if replica is not fetcher]

    upstream.fake.rates["USD"] = ("480.05", 1, "UP", "+1.28")
    changed = [asyncio.ensure_future(replica.app[SNAPSHOT].changed()) for replica in others]
    clock.advance(NBK_INTERVAL)
    assert sorted(await run_everywhere(others, "nbk")) == ["claimed", "ok"]
    assert upstream.fake.hits["nbk"] == 2
    await asyncio.wait_for(asyncio.gather(*changed), 5)
    for replica in others:
        assert (await (await replica.get("/v1/rates")).json())["rates"][0]["rate"] == 480.05
    assert len(await etags(others)) == 1
    await settle(redis_url, *others)


async def test_a_replica_stopped_mid_fetch_hands_its_slot_to_another(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str
) -> None:
    settings = make_settings(redis_url=redis_url, nbk={"timeout": 30})
    upstream.fake.fault["nbk"] = "hang"
    going = await start_app(settings, schedule=True)  # its scheduler runs every source at start-up
    async with asyncio.timeout(5):
        while upstream.fake.hits["nbk"] == 0:
            upstream.fake.arrived.clear()
            await upstream.fake.arrived.wait()
    staying = await start_app(settings)
    await wait_for_data(going, "weather")  # open_meteo, run at start-up too, is done
    await settle(redis_url, going, staying)
    await going.close()  # SIGTERM: the scheduler stops and cancels the nbk fetch in flight
    upstream.fake.fault["nbk"] = "ok"
    upstream.fake.release.set()
    assert await staying.app[REFRESHER].run("nbk") == "ok"  # the same slot: the fetch was never finished
    assert upstream.fake.hits["nbk"] == 2


async def quiesce(url: str, replicas: list[Client], sources: list[str]) -> None:
    """Stop the announcements before closing scheduled replicas: claim their coming 1-second slots for
    nobody, let the runs in flight end, and wait until every replica has applied every announcement."""
    store = RedisStore(url)
    try:
        now = int(time.time())
        for source in sources:
            for slot in range(now, now + 30):
                await store.claim(source, slot, 30, "nobody")
    finally:
        await store.close()
    await asyncio.gather(*(replica.app[REFRESHER].wait_idle(5) for replica in replicas))
    await settle(url, *replicas)


def one_per_slot(arrivals: list[float], interval: float, lag: float = 0.1) -> bool:
    """Can every upstream arrival be given its own slot? A run decides its slot when it starts, a few
    milliseconds before its request arrives, so an arrival just after a boundary may belong to the slot before."""
    used: set[int] = set()
    for at in sorted(arrivals):
        for slot in sorted({int((at - lag) // interval), int(at // interval)}):
            if slot not in used:
                used.add(slot)
                break
        else:
            return False
    return True


def test_one_per_slot_tells_a_double_fetch_from_a_late_arrival() -> None:
    assert one_per_slot([9.5, 11.05, 11.5], 1)  # 11.05 started late in slot 10; 11.5 in slot 11
    assert not one_per_slot([10.2, 10.7], 1)
    assert not one_per_slot([10.2, 10.98, 11.02, 11.5], 1)


async def test_scheduled_replicas_in_real_time_fetch_at_most_once_per_slot(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ticker")
    settings = make_settings(redis_url=redis_url, nbk={"interval": 1}, open_meteo={"interval": 1})
    arrivals: dict[str, list[float]] = {"nbk": [], "open_meteo": []}

    async def record() -> None:
        seen = {source: 0 for source in arrivals}
        while True:
            upstream.fake.arrived.clear()
            await upstream.fake.arrived.wait()
            now = time.time()
            for source, times in arrivals.items():
                times.extend([now] * (upstream.fake.hits[source] - seen[source]))
                seen[source] = upstream.fake.hits[source]

    recorder = asyncio.ensure_future(record())
    try:
        started = time.time()
        replicas = [await start_app(settings, schedule=True, clock=utcnow) for _ in range(3)]
        snapshot = replicas[0].app[SNAPSHOT]
        async with asyncio.timeout(8):
            while time.time() < started + 3.5:  # ~3 intervals
                await snapshot.changed()  # every fetch confirms the values anew: a change every second
        ended = time.time()
    finally:
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
    counted = {source: list(times) for source, times in arrivals.items()}
    await quiesce(redis_url, replicas, list(arrivals))
    await asyncio.gather(*(replica.close() for replica in replicas))

    for source, times in counted.items():
        slots = int(ended) - int(started) + 1
        assert 3 <= len(times) <= slots, (source, times)
        assert one_per_slot(times, 1.0), (source, [round(t - started, 3) for t in times])
    assert upstream.fake.hits["cbr"] == upstream.fake.hits["met_no"] == 0
    assert not [r for r in caplog.records if r.name.startswith("ticker") and r.levelno >= logging.ERROR]
