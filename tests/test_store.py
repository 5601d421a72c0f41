"""The store's contract, for the in-process store and for the store with Redis behind it (a private
redis-server), and the Redis backend on its own: newest-wins merges, drops, announcements, claims, health.

Nothing here sleeps: waits are on announcements (pub/sub) or bounded polls of state that yield to the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from providers.base import Rate, Temperature
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.redis_proc import RedisProcess
from ticker.state import Entries, Entry, SourceStatus
from ticker.store.redis_backend import RedisBackend
from ticker.store.shared import LOST, RESYNC, StoreError
from ticker.store.store import Store
from ticker.web.appkeys import REFRESHER, STORE

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)  # 15:00 in Astana
TODAY = date(2026, 4, 1)


def rate(value: float, at: datetime, day: date = TODAY, currency: str = "USD") -> dict[str, Entry]:
    record = Rate(currency=currency, rate=value, change=0.0, trend="flat", date=day)
    return {f"{currency}@{day.isoformat()}": Entry(source="nbk", record=record, fetched_at=at, changed_at=at)}


def temperature(value: float, at: datetime, city: str = "astana") -> dict[str, Entry]:
    record = Temperature(city=city, temperature=value, observed_at=at)
    return {city: Entry(source="open_meteo", record=record, fetched_at=at, changed_at=at)}


def value_of(entry: Entry) -> float | None:
    return entry.record.rate if isinstance(entry.record, Rate) else entry.record.temperature


def status(at: datetime, failures: int = 0, source: str = "nbk") -> SourceStatus:
    return SourceStatus(
        source=source,
        last_attempt=at,
        last_success=None if failures else at,
        failures=failures,
        last_error="UpstreamStatusError: 503" if failures else None,
    )


async def in_redis(url: str) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
    """What a process starting now would load."""
    backend = RedisBackend(url)
    try:
        return await backend.load()
    finally:
        await backend.close()


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    """A bounded poll of in-process state: yields to the loop, never sleeps a duration."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - no event to wait on: yield, never wait a duration
            await asyncio.sleep(0)


class Counted:
    """A listener that counts its calls and records the local copy it saw."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[dict[str, Entries]] = []

    def __call__(self) -> None:
        self.seen.append({source: dict(held) for source, held in self.store.all_held().items()})

    @property
    def calls(self) -> int:
        return len(self.seen)


def server_url(request: pytest.FixtureRequest, kind: str) -> str:
    proc: RedisProcess = request.getfixturevalue("redis_proc" if kind == "redis" else "valkey_proc")
    with redis.Redis.from_url(proc.url) as client:
        client.flushall()
    return proc.url


@pytest.fixture(params=["redis", "valkey"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """The plain store and backend tests run on Redis and on Valkey 8 (skipped, with why, without one)."""
    return server_url(request, str(request.param))


@pytest.fixture(params=["memory", "redis", "valkey"])
def url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else server_url(request, str(request.param))


@pytest.fixture
async def store(url: str | None) -> AsyncIterator[Store]:
    made = Store(RedisBackend(url) if url else None)
    yield made
    await made.close()


# --- the store's contract, both kinds ---------------------------------------------------------------


async def test_kind_names_the_backend(store: Store, url: str | None) -> None:
    assert store.kind == ("redis" if url else "memory")


async def test_put_writes_the_local_copy_then_tells_every_listener(store: Store, url: str | None) -> None:
    first, second = Counted(store), Counted(store)
    store.listen(first)
    store.listen(second)
    usd = rate(478.77, T0)
    await store.put("nbk", usd, TODAY)
    assert store.held("nbk") == usd
    assert first.seen == second.seen == [{"nbk": usd}]  # called once each, with the change already readable
    if url:  # and Redis has it for every other process
        assert (await in_redis(url))[0]["nbk"] == usd


async def test_a_put_that_changes_nothing_tells_no_one(store: Store) -> None:
    listener = Counted(store)
    store.listen(listener)
    await store.put("nbk", rate(478.77, T0), TODAY)
    await store.put("nbk", rate(478.77, T0), TODAY)  # the same instant again
    await store.put("nbk", rate(470.00, T0 - timedelta(minutes=5)), TODAY)  # older
    assert listener.calls == 1


@pytest.mark.parametrize("newer_first", [True, False])
async def test_newest_fetched_at_wins_whatever_the_order(store: Store, url: str | None, newer_first: bool) -> None:
    older, newer = rate(470.00, T0), rate(480.00, T0 + timedelta(minutes=30))
    for entries in (newer, older) if newer_first else (older, newer):
        await store.put("nbk", entries, TODAY)
    assert store.held("nbk") == newer
    if url:
        assert (await in_redis(url))[0]["nbk"] == newer


async def test_rates_dated_days_back_are_dropped_and_the_rest_kept(store: Store, url: str | None) -> None:
    old = rate(470.00, T0 - timedelta(days=9), day=TODAY - timedelta(days=9))
    await store.put("nbk", old, TODAY - timedelta(days=9))  # kept on its own day
    assert store.held("nbk") == old
    listener = Counted(store)
    store.listen(listener)
    yesterday = rate(476.00, T0 - timedelta(days=1), day=TODAY - timedelta(days=1))
    today, tomorrow = rate(478.77, T0), rate(479.10, T0, day=TODAY + timedelta(days=1))
    weeks_old = temperature(-3.0, T0 - timedelta(days=20))  # temperatures are not dated keys: never dropped here
    await store.put("open_meteo", weeks_old, TODAY)
    await store.put("nbk", {**yesterday, **today, **tomorrow}, TODAY)
    assert store.held("nbk") == {**yesterday, **today, **tomorrow}
    assert store.held("open_meteo") == weeks_old
    assert listener.calls == 2
    if url:
        assert (await in_redis(url))[0]["nbk"] == {**yesterday, **today, **tomorrow}


async def test_a_put_that_only_drops_is_a_change(store: Store, url: str | None) -> None:
    await store.put("nbk", rate(470.00, T0, day=TODAY - timedelta(days=9)), TODAY - timedelta(days=9))
    listener = Counted(store)
    store.listen(listener)
    await store.put("nbk", {}, TODAY)
    assert store.held("nbk") == {}
    assert listener.seen == [{}]  # the listener saw the store with the expired rate gone
    if url:
        assert not (await in_redis(url))[0].get("nbk")


async def test_put_status_replaces_the_local_status_and_tells_the_listeners(store: Store, url: str | None) -> None:
    listener = Counted(store)
    store.listen(listener)
    await store.put_status(status(T0))
    await store.put_status(status(T0 + timedelta(seconds=30), failures=1))
    assert store.status_of("nbk") == status(T0 + timedelta(seconds=30), failures=1)
    assert listener.calls == 2
    if url:
        assert (await in_redis(url))[1]["nbk"] == status(T0 + timedelta(seconds=30), failures=1)


async def test_a_claim_is_taken_once_per_key_until_released_by_its_owner(store: Store) -> None:
    key = "nbk:today:2026-04-01:1775037600"
    assert await store.claim(key, 60, "replica-a")
    assert not await store.claim(key, 60, "replica-a")  # once, even for the owner
    assert not await store.claim(key, 60, "replica-b")
    assert await store.claim("nbk:today:2026-04-01:1775037630", 60, "replica-b")  # another planned run
    assert await store.claim("cbr:today:2026-04-01:1775037600", 60, "replica-b")  # another source
    await store.release(key, "replica-b")  # not the owner: nothing happens
    assert not await store.claim(key, 60, "replica-b")
    await store.release(key, "replica-a")
    assert await store.claim(key, 60, "replica-b")


async def test_a_claim_lapses_after_its_ttl(store: Store) -> None:
    key = "nbk:today:2026-04-01:1775037600"
    assert await store.claim(key, 0.001, "replica-a")  # a run that never ended (cancelled, crashed)
    async with asyncio.timeout(2):
        while not await store.claim(key, 60, "replica-b"):  # noqa: ASYNC110 - only time makes it lapse
            await asyncio.sleep(0)


async def test_two_stores_in_one_process_share_nothing_without_redis() -> None:
    first, second = Store(), Store()
    await first.put("nbk", rate(478.77, T0), TODAY)
    await first.put_status(status(T0))
    assert await first.claim("k", 60, "a")
    assert second.all_held() == {} and second.all_status() == {}
    assert await second.claim("k", 60, "b")
    await second.reload(write_back=True)  # nothing to reload from: a no-op, and healthy
    assert second.all_held() == {} and second.ok


# --- stores on one Redis: what one writes, the other loads ---------------------------------------------


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[Store, Store]]:
    a, b = Store(RedisBackend(redis_url)), Store(RedisBackend(redis_url))
    yield a, b
    await a.close()
    await b.close()


async def test_reload_brings_in_what_another_store_wrote_newest_wins(pair: tuple[Store, Store]) -> None:
    a, b = pair
    listener = Counted(b)
    b.listen(listener)
    await b.put("nbk", rate(470.00, T0), TODAY)
    await a.put("nbk", rate(480.00, T0 + timedelta(minutes=30)), TODAY)
    await a.put("open_meteo", temperature(-3.0, T0), TODAY)
    assert b.held("nbk") == rate(470.00, T0)  # not yet reloaded
    await b.reload("nbk")  # an announcement names one source: only it is loaded
    assert b.held("nbk") == rate(480.00, T0 + timedelta(minutes=30))
    assert not b.held("open_meteo")
    await b.reload()
    assert b.held("open_meteo") == temperature(-3.0, T0)
    assert listener.calls == 3  # its own put, then each reload that changed something
    await b.put("nbk", rate(470.00, T0), TODAY)  # a late writer with an older value loses, locally and in Redis
    assert b.held("nbk") == rate(480.00, T0 + timedelta(minutes=30))
    await a.reload()
    assert a.held("nbk") == rate(480.00, T0 + timedelta(minutes=30))


async def test_status_from_another_store_is_taken_only_when_newer(pair: tuple[Store, Store], redis_url: str) -> None:
    a, b = pair
    await b.put_status(status(T0))
    await a.put_status(status(T0 + timedelta(seconds=30), failures=1))
    await b.reload()
    assert b.status_of("nbk") == status(T0 + timedelta(seconds=30), failures=1)
    listener = Counted(b)
    b.listen(listener)
    backend = RedisBackend(redis_url)
    try:
        await backend.write_status(status(T0 - timedelta(minutes=5)))  # a replica with an old view writes late
    finally:
        await backend.close()
    await b.reload()
    assert b.status_of("nbk") == status(T0 + timedelta(seconds=30), failures=1)
    assert listener.calls == 0


async def test_a_new_process_loads_what_the_last_one_stored(redis_url: str) -> None:
    first = Store(RedisBackend(redis_url))
    await first.put("nbk", rate(478.77, T0), TODAY)
    await first.put_status(status(T0))
    await first.close()
    second = Store(RedisBackend(redis_url))
    listener = Counted(second)
    second.listen(listener)
    try:
        await second.reload()
        assert second.all_held() == {"nbk": rate(478.77, T0)}
        assert second.all_status() == {"nbk": status(T0)}
        assert listener.calls == 1
    finally:
        await second.close()


async def test_follow_applies_announcements_from_another_store(pair: tuple[Store, Store]) -> None:
    a, b = pair
    changed = asyncio.Event()
    b.listen(changed.set)
    follow = asyncio.create_task(b.follow())
    try:
        await a.put("nbk", rate(478.77, T0), TODAY)  # maybe before b subscribed: its RESYNC loads it then
        async with asyncio.timeout(10):
            while b.held("nbk") != rate(478.77, T0):
                changed.clear()
                await changed.wait()
            await a.put_status(status(T0))
            while b.status_of("nbk") != status(T0):
                changed.clear()
                await changed.wait()
    finally:
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)


# --- health: the store alone owns it ---------------------------------------------------------------------


async def test_redis_dies_the_local_copy_carries_on_and_reload_refills_redis(own_redis: RedisProcess) -> None:
    store = Store(RedisBackend(own_redis.url))
    listener = Counted(store)
    store.listen(listener)
    try:
        await store.put("nbk", rate(478.77, T0), TODAY)
        await store.put_status(status(T0))
        assert store.ok
        own_redis.stop()
        later = rate(479.10, T0 + timedelta(minutes=30))
        await store.put("nbk", later, TODAY)  # no exception: memory first, Redis best effort
        assert not store.ok
        assert store.held("nbk") == later and listener.calls == 3
        assert await store.claim("nbk:today:2026-04-01:1", 60, "a")  # better twice than never
        assert not await store.claim("nbk:today:2026-04-01:1", 60, "b")  # but once in this process
        await store.reload()
        assert not store.ok and store.held("nbk") == later

        own_redis.start()  # back, and empty
        assert await in_redis(own_redis.url) == ({}, {})
        assert not store.ok  # nothing has told the store yet
        await store.reload(write_back=True)
        assert store.ok
        assert await in_redis(own_redis.url) == ({"nbk": later}, {"nbk": status(T0)})
    finally:
        await store.close()


async def test_the_watch_loop_notices_both_ways(own_redis: RedisProcess) -> None:
    store = Store(RedisBackend(own_redis.url))
    watch = asyncio.create_task(store.watch(every=0.01))
    try:
        await store.put("nbk", rate(478.77, T0), TODAY)
        own_redis.stop()
        await until(lambda: not store.ok)
        own_redis.start()
        await until(lambda: store.ok)  # it reloaded and wrote back before saying so
        assert (await in_redis(own_redis.url))[0] == {"nbk": rate(478.77, T0)}
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        await store.close()


async def wait_for_redis_data(url: str, source: str) -> dict[str, Entries]:
    """Subscribe, then look: the write-back either happened already or is announced next."""
    backend = RedisBackend(url)
    updates = backend.updates()
    try:
        async with asyncio.timeout(15):
            assert await anext(updates) == RESYNC
            while not (entries := (await backend.load())[0]).get(source):
                await anext(updates)
        return entries
    finally:
        backend.stop()
        await updates.aclose()  # type: ignore[attr-defined]
        await backend.close()


async def test_through_the_app_redis_dies_the_strip_stays_and_redis_is_refilled(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    own_redis: RedisProcess,
    clock: FakeClock,
) -> None:
    client: TestClient[Any, Any] = await start_app(make_settings(redis_url=own_redis.url))
    store, refresher = client.app[STORE], client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    before = await (await client.get("/v1/ticker")).json()

    own_redis.stop()
    clock.advance(60)
    upstream.fake.rates["USD"] = ("480.05", 1, "UP", "+1.28")
    assert await refresher.run("nbk") == "ok"  # fetching goes on from memory
    assert not store.ok
    response = await client.get("/v1/ticker")
    assert response.status == 200
    body = await response.json()
    assert body["weather"] == before["weather"]
    assert [item["rate"] for item in body["rates"] if item["currency"] == "USD"] == [480.05]
    ready = await client.get("/readyz")
    assert ready.status == 200  # a stale strip beats no strip, and this one is current
    readiness = await ready.json()
    assert readiness["store_ok"] is False and "store unreachable" in readiness["reason"]
    assert "ticker_store_up 0.0" in await (await client.get("/metrics")).text()

    own_redis.start()  # back, empty: the follow loop reconnects, resyncs and writes back
    entries = await wait_for_redis_data(own_redis.url, "nbk")
    assert value_of(entries["nbk"]["USD@2026-04-01"]) == 480.05
    await until(lambda: store.ok)
    readiness = await (await client.get("/readyz")).json()
    assert readiness["store_ok"] is True and readiness["reason"] is None
    assert (await in_redis(own_redis.url))[0].keys() >= {"nbk", "open_meteo"}


# --- the Redis backend on its own ---------------------------------------------------------------------


@pytest.fixture
async def backend(redis_url: str) -> AsyncIterator[RedisBackend]:
    made = RedisBackend(redis_url)
    yield made
    await made.close()


async def test_backend_loads_nothing_from_an_empty_redis(backend: RedisBackend) -> None:
    assert await backend.load() == ({}, {})
    assert await backend.load("nbk") == ({"nbk": {}}, {})


async def test_backend_write_merges_newest_wins_and_loads_one_source_or_all(backend: RedisBackend) -> None:
    await backend.write("nbk", {**rate(478.77, T0), **rate(548.62, T0, currency="EUR")}, [])
    await backend.write("nbk", rate(470.00, T0 - timedelta(seconds=1)), [])  # older: ignored
    await backend.write("nbk", rate(548.70, T0 + timedelta(seconds=1), currency="EUR"), [])  # newer: taken
    await backend.write("open_meteo", temperature(-3.0, T0), [])
    await backend.write_status(status(T0))
    entries, held = await backend.load()
    assert entries == {
        "nbk": {**rate(478.77, T0), **rate(548.70, T0 + timedelta(seconds=1), currency="EUR")},
        "open_meteo": temperature(-3.0, T0),
    }
    assert held == {"nbk": status(T0)}
    assert await backend.load("open_meteo") == ({"open_meteo": temperature(-3.0, T0)}, {})


async def test_backend_drop_removes_the_value_and_its_timestamp(backend: RedisBackend) -> None:
    old_day = TODAY - timedelta(days=9)
    await backend.write("nbk", {**rate(470.00, T0, day=old_day), **rate(478.77, T0)}, [])
    await backend.write("nbk", {}, ["USD@" + old_day.isoformat()])
    assert (await backend.load("nbk"))[0] == {"nbk": rate(478.77, T0)}
    # a dropped key is gone for good: a value with an older timestamp may take its place again
    await backend.write("nbk", rate(469.00, T0 - timedelta(days=1), day=old_day), [])
    assert (await backend.load("nbk"))[0]["nbk"] == {
        **rate(469.00, T0 - timedelta(days=1), day=old_day),
        **rate(478.77, T0),
    }


async def test_backend_announces_every_change_and_no_no_op(backend: RedisBackend, redis_url: str) -> None:
    listener = RedisBackend(redis_url)
    updates = listener.updates()
    try:
        async with asyncio.timeout(10):
            assert await anext(updates) == RESYNC  # first connect
            await backend.write("nbk", rate(478.77, T0), [])
            await backend.write("nbk", rate(478.77, T0), [])  # same instant: no change, no announcement
            await backend.write("nbk", rate(470.00, T0 - timedelta(seconds=1)), [])  # older: none either
            await backend.write_status(status(T0))
            await backend.write("open_meteo", temperature(-3.0, T0), [])
            assert [await anext(updates) for _ in range(3)] == ["data:nbk", "status:nbk", "data:open_meteo"]
    finally:
        listener.stop()
        await updates.aclose()  # type: ignore[attr-defined]
        await listener.close()


async def test_backend_resyncs_after_a_reconnect(own_redis: RedisProcess) -> None:
    backend = RedisBackend(own_redis.url)
    updates = backend.updates()
    try:
        async with asyncio.timeout(20):
            assert await anext(updates) == RESYNC
            own_redis.restart()  # the subscription is lost; whatever was announced meanwhile is unknown
            lost = await anext(updates)
            assert lost.startswith(LOST) and "redis: " in lost  # said once, with why
            assert await anext(updates) == RESYNC
            await backend.write("nbk", rate(478.77, T0), [])
            assert await anext(updates) == "data:nbk"  # and it listens again
    finally:
        backend.stop()
        await updates.aclose()  # type: ignore[attr-defined]
        await backend.close()


async def test_backend_keeps_the_newest_status(backend: RedisBackend) -> None:
    """A replica writing back its older status after a failover never replaces a newer one."""
    await backend.write_status(status(T0 + timedelta(minutes=1)))
    await backend.write_status(status(T0, failures=1))
    assert (await backend.load("nbk"))[1] == {"nbk": status(T0 + timedelta(minutes=1))}
    await backend.write_status(status(T0 + timedelta(minutes=2), failures=1))
    assert (await backend.load("nbk"))[1] == {"nbk": status(T0 + timedelta(minutes=2), failures=1)}


async def test_backend_claims_expire_and_release_only_for_their_owner(backend: RedisBackend, redis_url: str) -> None:
    assert await backend.claim("nbk:today:2026-04-01:1", 60, "a")
    assert not await backend.claim("nbk:today:2026-04-01:1", 60, "a")
    assert not await backend.claim("nbk:today:2026-04-01:1", 60, "b")
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter("*claim*")]
        assert len(keys) == 1 and "{v2}" in keys[0]  # hash-tagged like every key
        assert 0 < await client.pttl(keys[0]) <= 60_000  # it lapses on its own
    finally:
        await client.aclose()
    await backend.release("nbk:today:2026-04-01:1", "b")
    assert not await backend.claim("nbk:today:2026-04-01:1", 60, "b")
    await backend.release("nbk:today:2026-04-01:1", "a")
    assert await backend.claim("nbk:today:2026-04-01:1", 60, "b")


async def test_backend_skips_an_unreadable_value(backend: RedisBackend, redis_url: str) -> None:
    await backend.write("nbk", {**rate(478.77, T0), **rate(548.62, T0, currency="EUR")}, [])
    await backend.write_status(status(T0))
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        [data_key] = [key async for key in client.scan_iter("*data:nbk")]
        await client.hset(data_key, "EUR@2026-04-01", '{"written by": "another version"}')
        [status_key] = [key async for key in client.scan_iter("*status:nbk")]
        await client.set(status_key, "not json")
    finally:
        await client.aclose()
    assert await backend.load() == ({"nbk": rate(478.77, T0)}, {})


async def test_backend_raises_store_error_when_redis_is_gone(own_redis: RedisProcess) -> None:
    backend = RedisBackend(own_redis.url)
    try:
        assert await backend.ping()
        own_redis.stop()
        assert not await backend.ping()
        with pytest.raises(StoreError):
            await backend.load()
        with pytest.raises(StoreError):
            await backend.write("nbk", rate(478.77, T0), [])
        with pytest.raises(StoreError):
            await backend.write_status(status(T0))
        with pytest.raises(StoreError):
            await backend.claim("k", 60, "a")
        with pytest.raises(StoreError):
            await backend.release("k", "a")
    finally:
        await backend.close()


async def test_the_store_says_why_it_is_unreachable_with_the_password_masked(own_redis: RedisProcess) -> None:
    own_redis.stop()
    store = Store(RedisBackend(f"redis://ticker:hunter2@127.0.0.1:{own_redis.port}/0"))
    try:
        assert store.reason is None
        await store.reload()
        assert store.reason is not None and store.reason.startswith("store unreachable, serving from memory: redis: ")
        assert "hunter2" not in store.reason
    finally:
        await store.close()
