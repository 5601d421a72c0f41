"""The history backfill against the fake NBK over real HTTP, on the injected clock, with the pauses recorded.

The clock starts at 2026-04-01T10:15Z (15:15 Astana): the backfill's window is the DAYS days before 2026-04-01;
today's rate comes from the strip's own fetch.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import NbkRates
from ticker.fetch.backfill import Pacer
from ticker.store.history import Day, next_pass
from ticker.store.store import Store
from ticker.web.appkeys import BACKFILL, REFRESHER, STORE

Client = TestClient[Any, Any]
TODAY = date(2026, 4, 1)
GET_RATES = "/rss/get_rates.cfm"


class Sleeps:
    """The backfill's pause: recorded, and the clock moved by it, never slept."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


class Timeline:
    """One FakeClock shared by processes pausing at the same time (virtual time): a pause parks its party until
    every party is parked or gone, then the clock moves to the earliest wake-up and those parties go on. So the
    clock stands still while any party is between pauses (claiming, asking NBK): a request's time on the clock
    is the time it was let go at, as with one real clock, and nothing really sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.parties = 0
        self.parked: list[tuple[datetime, asyncio.Future[None]]] = []

    def party(self) -> Party:
        self.parties += 1
        return Party(self)

    async def park(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.parked.append((self.clock() + timedelta(seconds=seconds), woken))
        self.wake()
        await woken

    def wake(self) -> None:
        if not self.parked or len(self.parked) < self.parties:
            return
        self.clock.now = max(self.clock.now, min(at for at, _ in self.parked))
        for at, woken in [held for held in self.parked if held[0] <= self.clock.now]:
            self.parked.remove((at, woken))
            woken.set_result(None)


class Party:
    """One process's pause on a Timeline, recorded."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.timeline.park(seconds)

    def leave(self) -> None:
        self.timeline.parties -= 1
        self.timeline.wake()


def documents(days: int) -> dict[date, NbkRates]:
    """One document per date, each with its own values; RUB quoted per 10 and KRW per 100, as NBK does for some."""
    out: dict[date, NbkRates] = {}
    for n in range(days + 1):
        out[TODAY - timedelta(days=n)] = {
            "USD": (f"{450 + n}.{n:02d}", 1, "UP", f"+0.{n:02d}"),
            "EUR": (f"{500 + n}.5", 1, "DOWN", "-1.25"),
            "RUB": (f"{50 + n}.5", 10, "", "0.00"),
            "KRW": ("31.29", 100, "DOWN", "-0.47"),
        }
    return out


def fdates(upstream: Upstreams) -> list[str]:
    return [query.get("fdate", "") for query in upstream.fake.asked(GET_RATES)]


def spelled(day: date) -> str:
    return f"{day:%d.%m.%Y}"


async def start(
    start_app: AppFactory, make_settings: SettingsFactory, clock: FakeClock, **overrides: Any
) -> tuple[Client, Sleeps]:
    sleeps = Sleeps(clock)
    history = {"days": 30, "rate": 1000, **overrides.pop("history", {})}
    settings = make_settings(currencies=["USD", "EUR", "RUB", "KRW"], history=history, **overrides)
    return await start_app(settings, backfill_sleep=sleeps), sleeps


async def test_a_pass_fills_every_date_newest_first_with_nbk_values_per_one_unit(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = documents(30)
    client, _ = await start(start_app, make_settings, clock)
    done = await client.app[BACKFILL].run_pass()

    window = [TODAY - timedelta(days=n) for n in range(1, 31)]
    assert fdates(upstream) == [spelled(day) for day in window]  # one request per date, newest first, not today
    assert done.asked == window and not done.failed and not done.absent
    history = client.app[STORE].history
    assert all(set(history[code]) == set(window) for code in ("USD", "EUR", "RUB", "KRW"))
    assert history["USD"][date(2026, 3, 31)] == Day(rate=451.01, change=0.01, source="nbk")
    assert history["USD"][date(2026, 3, 2)] == Day(rate=480.3, change=0.3, source="nbk")
    assert history["RUB"][date(2026, 3, 31)] == Day(rate=5.15, change=0.0)  # 51.5 per 10 roubles
    assert history["KRW"][date(2026, 3, 20)] == Day(rate=0.3129, change=-0.0047)  # 31.29 per 100 won
    assert len({history["USD"][day].rate for day in window}) == 30  # each date its own document's value


async def test_the_pace_is_recorded_pauses_of_one_over_the_rate(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = documents(6)
    client, sleeps = await start(start_app, make_settings, clock, history={"days": 6, "rate": 2})
    started = clock()
    await client.app[BACKFILL].run_pass()
    assert len(fdates(upstream)) == 6
    assert sleeps.slept == [0.5] * 5  # the first at once, then every half second at 2 requests/s
    assert (clock() - started).total_seconds() == 2.5


async def test_the_pacer_counts_time_already_gone_by() -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    pacer = Pacer(4, clock, sleeps)
    await pacer.wait()
    clock.advance(0.1)
    await pacer.wait()  # 0.25 s after the first start
    clock.advance(1.0)
    await pacer.wait()  # long enough since the last: at once
    await pacer.wait()
    assert sleeps.slept == [0.15, 0.25]


async def test_a_restart_asks_only_the_dates_it_lacks(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(12)
    first, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 5})
    await first.app[BACKFILL].run_pass()
    assert len(fdates(upstream)) == 5
    await first.close()

    again, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 5})
    assert set(again.app[STORE].history["USD"]) == {TODAY - timedelta(days=n) for n in range(1, 6)}  # from Redis
    assert (await again.app[BACKFILL].run_pass()).asked == []
    assert len(fdates(upstream)) == 5  # a restart asks nothing it has
    await again.close()

    longer, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 12})
    await longer.app[BACKFILL].run_pass()
    assert fdates(upstream)[5:] == [spelled(TODAY - timedelta(days=n)) for n in range(6, 13)]  # only the new ones


async def test_a_configured_currency_nbk_does_not_publish_is_not_asked_for_again_and_again(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(6)  # USD, EUR, RUB and KRW: never XAU
    settings = make_settings(
        currencies=["USD", "EUR", "RUB", "KRW", "XAU"], redis_url=redis_url, history={"days": 5, "rate": 1000}
    )
    first = await start_app(settings, backfill_sleep=Sleeps(clock))
    await first.app[BACKFILL].run_pass()
    assert len(fdates(upstream)) == 5
    assert (await first.app[BACKFILL].run_pass()).asked == []
    await first.close()
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:  # the answered dates' claims lapse (CLAIM_TTL, on Redis's own clock): a restart the next day
        await redis.delete(*[key async for key in redis.scan_iter("ticker:{v2}:claim:history:*")])
    finally:
        await redis.aclose()

    again = await start_app(settings, backfill_sleep=Sleeps(clock))
    assert (await again.app[BACKFILL].run_pass()).asked == []  # XAU lacks every date, and always will
    assert len(fdates(upstream)) == 5
    assert "XAU" not in again.app[STORE].history  # nothing invented for it
    await again.close()


async def test_two_replicas_on_one_redis_ask_each_date_once(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(20)
    a, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 20})
    b, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 20})
    done = await asyncio.gather(a.app[BACKFILL].run_pass(), b.app[BACKFILL].run_pass())

    asked = Counter(fdates(upstream))
    assert len(asked) == 20 and set(asked.values()) == {1}  # every date, each once, across both
    assert done[0].asked and done[1].asked  # both took part
    assert sorted(done[0].asked + done[1].asked) == sorted(TODAY - timedelta(days=n) for n in range(1, 21))
    for replica in (a, b):  # each hears of the other's dates through Redis
        store = replica.app[STORE]
        async with asyncio.timeout(10):
            while len(store.history.get("KRW", {})) < 20:
                await store.history_changed.wait()
    assert a.app[STORE].history == b.app[STORE].history

    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        claims = [key async for key in client.scan_iter("ticker:{v2}:claim:*")]
        stored = await client.hgetall("ticker:{v2}:history:RUB")
    finally:
        await client.aclose()
    assert claims and all(key.startswith("ticker:{v2}:claim:history:") for key in claims)  # none of the strip's
    assert stored["2026-03-31"] == '{"rate":5.15,"change":0.0,"source":"nbk"}'
    assert await a.app[REFRESHER].run("nbk") == "ok"  # the strip's run is not claimed by the backfill


async def test_replicas_share_the_pace_never_two_requests_in_one_slot_across_the_pool(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(12)
    timeline = Timeline(clock)
    settings = make_settings(currencies=["USD", "EUR"], history={"days": 12, "rate": 2}, redis_url=redis_url)
    parties = [timeline.party(), timeline.party()]
    replicas = [await start_app(settings, backfill_sleep=party) for party in parties]

    async def backfill(replica: Client, party: Party) -> Any:
        try:
            return await replica.app[BACKFILL].run_pass()
        finally:
            party.leave()

    done = await asyncio.gather(*(backfill(replica, party) for replica, party in zip(replicas, parties, strict=True)))
    asked = Counter(fdates(upstream))
    assert len(asked) == 12 and set(asked.values()) == {1}  # every date, each once, across both
    assert done[0].asked and done[1].asked and parties[0].slept and parties[1].slept  # both asked, both waited
    times = upstream.fake.asked_at(GET_RATES)
    slots = Counter(math.floor(at.timestamp() * 2) for at in times)  # #12's slot: floor(epoch seconds x rate)
    assert max(slots.values()) == 1, sorted(at.isoformat() for at in times)  # never two starts in one slot
    assert max(Counter(int(at.timestamp()) for at in times).values()) == 2  # 2 per second of the clock, pool-wide
    # 12 requests at 2/s take the pool over 5 s of the clock, not the 2.5 s each replica's own pace allows its 6
    assert (times[-1] - times[0]).total_seconds() >= 5.0


async def test_a_lone_replica_on_redis_keeps_its_pace_with_its_own_slots(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(12)
    client, sleeps = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 6, "rate": 2})
    await client.app[BACKFILL].run_pass()
    assert len(fdates(upstream)) == 6 and sleeps.slept == [0.5] * 5  # as without Redis: its own slots never block it
    await client.close()

    clock.advance(3600)  # 1/3 s is no whole number of microseconds: slot 333,334 µs, gap 333,333 µs
    client, sleeps = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 12, "rate": 3})
    started = clock()
    await client.app[BACKFILL].run_pass()
    assert len(fdates(upstream)) == 12  # the 6 dates not held yet, none lost to a slot
    assert sleeps.slept and all(pause <= 1 / 3 for pause in sleeps.slept)
    assert 5 / 3 - 0.001 < (clock() - started).total_seconds() < 5 / 3 + 0.001
    await client.close()


async def test_the_strip_is_not_delayed_by_a_backfill_request_in_flight(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = documents(3)
    upstream.fake.nbk_hang = {date(2026, 3, 31)}  # the backfill's first request hangs
    client, _ = await start(start_app, make_settings, clock, history={"days": 3}, nbk={"timeout": 30})
    backfill = asyncio.ensure_future(client.app[BACKFILL].run_pass())
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)
    assert fdates(upstream) == ["31.03.2026"]
    async with asyncio.timeout(5):  # far less than the hanging request's 30 s
        assert await client.app[REFRESHER].run("nbk") == "ok"
    assert fdates(upstream) == ["31.03.2026", "01.04.2026"]
    upstream.fake.release.set()
    done = await asyncio.wait_for(backfill, 10)
    assert done.asked == [date(2026, 3, 31), date(2026, 3, 30), date(2026, 3, 29)]


async def test_the_backfill_waits_while_the_strip_fetches_nbk(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = documents(3)
    upstream.fake.nbk_hang = {TODAY}  # the strip's request for today hangs
    client, _ = await start(start_app, make_settings, clock, history={"days": 3}, nbk={"timeout": 30})
    strip = asyncio.ensure_future(client.app[REFRESHER].run("nbk"))
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)
    backfill = asyncio.ensure_future(client.app[BACKFILL].run_pass())
    for _ in range(200):  # loop turns, not time: a backfill that did not wait would have asked by now
        await asyncio.sleep(0)
    assert fdates(upstream) == ["01.04.2026"] and not backfill.done()
    upstream.fake.release.set()
    assert await asyncio.wait_for(strip, 10) == "ok"
    await asyncio.wait_for(backfill, 10)
    assert fdates(upstream) == ["01.04.2026", "31.03.2026", "30.03.2026", "29.03.2026"]


async def test_a_failed_date_is_not_stored_and_is_asked_again_by_the_next_pass(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = documents(4)
    client, _ = await start(start_app, make_settings, clock, history={"days": 4})
    upstream.fake.fault["nbk"] = "500"
    done = await client.app[BACKFILL].run_pass()
    assert len(done.failed) == 3 and len(done.asked) == 3  # three failures in a row end the pass
    assert client.app[STORE].history.get("USD", {}) == {}  # nothing invented
    upstream.fake.fault["nbk"] = "ok"
    done = await client.app[BACKFILL].run_pass()
    assert done.asked == [TODAY - timedelta(days=n) for n in range(1, 5)] and not done.failed
    assert len(client.app[STORE].history["USD"]) == 4


async def test_a_date_nbk_answers_with_another_dates_document_stays_missing(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    docs = documents(4)
    del docs[date(2026, 3, 30)]  # asked for the 30th, the fake answers the 29th's document
    upstream.fake.nbk_days = docs
    client, _ = await start(start_app, make_settings, clock, history={"days": 4})
    done = await client.app[BACKFILL].run_pass()
    assert done.absent == [date(2026, 3, 30)]
    usd = client.app[STORE].history["USD"]
    assert date(2026, 3, 30) not in usd  # never carried over from another date
    assert usd[date(2026, 3, 29)] == Day(rate=453.03, change=0.03)
    assert (await client.app[BACKFILL].run_pass()).asked == []  # answered once: not asked again by this process


async def test_the_strip_records_todays_rate_and_tomorrows_once_in_force(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = {**documents(0), TODAY + timedelta(days=1): documents(0)[TODAY]}
    client, _ = await start(start_app, make_settings, clock, history={"days": 3})
    refresher, store = client.app[REFRESHER], client.app[STORE]
    assert await refresher.run("nbk") == "ok"
    assert store.history["USD"] == {TODAY: Day(rate=450.0, change=0.0)}
    clock.now = clock.now.replace(hour=11, minute=5)  # 16:05 Astana: tomorrow's document is out
    assert "ok" in await refresher.run_due()
    assert set(store.history["USD"]) == {TODAY}  # tomorrow's rate is not history yet
    clock.now = clock.now.replace(hour=19, minute=2)  # 00:02 Astana on the 2nd: the confirming fetch
    await refresher.run_due()
    assert set(store.history["USD"]) == {TODAY, TODAY + timedelta(days=1)}


async def test_history_off_with_zero_days_or_without_nbk(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client, _ = await start(start_app, make_settings, clock, history={"days": 0})
    assert BACKFILL not in client.app
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert client.app[STORE].history == {}  # the strip's rates are not recorded either
    assert fdates(upstream) == ["01.04.2026"]
    assert "ticker_history_days" not in await (await client.get("/metrics")).text()
    assert (await (await client.get("/readyz")).json())["history"] is None
    cbr_only, _ = await start(start_app, make_settings, clock, rate_sources=["cbr"])
    assert BACKFILL not in cbr_only.app


async def test_past_days_are_immutable_today_is_not(redis_url: str) -> None:
    from ticker.store.redis_backend import RedisBackend

    a, b = Store(RedisBackend(redis_url)), Store(RedisBackend(redis_url))
    yesterday = TODAY - timedelta(days=1)
    try:
        await a.put_history({"USD": {yesterday: Day(rate=470.0), TODAY: Day(rate=471.0)}}, TODAY)
        await b.put_history({"USD": {yesterday: Day(rate=999.0), TODAY: Day(rate=472.0)}}, TODAY)
        await a.reload_history("USD")
        await b.reload_history("USD")
        for store in (a, b):  # the past day kept its first confirmed value everywhere; today's took the newer
            assert store.history["USD"] == {yesterday: Day(rate=470.0), TODAY: Day(rate=472.0)}
        await a.put_history({"USD": {yesterday: Day(rate=1.0)}}, TODAY)  # locally refused as well
        assert a.history["USD"][yesterday] == Day(rate=470.0)
    finally:
        await a.close()
        await b.close()
    local = Store()
    await local.put_history({"USD": {yesterday: Day(rate=470.0)}}, TODAY)
    await local.put_history({"USD": {yesterday: Day(rate=999.0)}}, TODAY)
    assert local.history["USD"] == {yesterday: Day(rate=470.0)}


async def test_a_pass_at_start_then_daily_at_one_in_the_morning_astana(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    assert next_pass(clock()).isoformat() == "2026-04-01T20:00:00+00:00"  # 01:00 on the 2nd in Astana
    upstream.fake.nbk_days = documents(2)
    slept: list[float] = []
    waiting = asyncio.Event()

    async def pause(seconds: float) -> None:  # the pace's pauses return; the wait for the next pass parks here
        slept.append(seconds)
        if seconds > 60:
            waiting.set()
            await asyncio.Event().wait()

    settings = make_settings(history={"days": 2, "rate": 1000})
    client = await start_app(settings, backfill_sleep=pause)
    loop = asyncio.ensure_future(client.app[BACKFILL].loop())
    await asyncio.wait_for(waiting.wait(), 10)
    loop.cancel()
    assert fdates(upstream) == ["31.03.2026", "30.03.2026"]  # the pass at start
    assert slept == [0.001, 9.75 * 3600]  # one pace's pause, then until 01:00 Astana (20:00Z), from 10:15Z


@pytest.mark.parametrize(("retry_after", "pause"), [("120", 3600.0), ("7200", 7200.0), ("86400", 86400.0)])
async def test_after_a_pass_nbk_turned_away_the_next_waits_an_hour_or_its_retry_after_if_longer(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
    retry_after: str,
    pause: float,
) -> None:
    upstream.fake.nbk_days = documents(2)
    upstream.fake.fault["nbk"], upstream.fake.retry_after = "429", retry_after
    slept: list[float] = []
    waiting = asyncio.Event()

    async def park(seconds: float) -> None:  # the pace's pauses return; the wait for the next pass parks here
        slept.append(seconds)
        if seconds > 60:
            waiting.set()
            await asyncio.Event().wait()

    client = await start_app(make_settings(history={"days": 2, "rate": 1000}), backfill_sleep=park)
    loop = asyncio.ensure_future(client.app[BACKFILL].loop())
    await asyncio.wait_for(waiting.wait(), 10)
    loop.cancel()
    assert len(fdates(upstream)) == 1  # turned away: the pass ends at once
    assert slept[-1] == pause  # 10:15Z: the daily pass (20:00Z) is further off than any of these


async def test_readyz_and_metrics_tell_how_far_the_backfill_is_without_changing_readiness(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    docs = documents(10)
    for n in range(6, 11):
        del docs[TODAY - timedelta(days=n)]  # NBK has nothing that early: the fake answers an empty document
    upstream.fake.nbk_days = docs
    client, _ = await start(start_app, make_settings, clock, history={"days": 10})
    before = await client.get("/readyz")
    assert before.status == 503  # no strip data yet; history does not change that
    assert (await before.json())["history"] == {"days": 10, "stored": {"USD": 0, "EUR": 0, "RUB": 0, "KRW": 0}}

    await client.app[BACKFILL].run_pass()
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    after = await client.get("/readyz")
    assert after.status == 200  # ready, though the backfill holds half of what it wants
    assert (await after.json())["history"] == {"days": 10, "stored": {"USD": 5, "EUR": 5, "RUB": 5, "KRW": 5}}
    text = await (await client.get("/metrics")).text()
    assert 'ticker_history_days{currency="RUB"} 5.0' in text
    assert 'ticker_history_requests_total{outcome="ok"} 5.0' in text
    assert 'ticker_history_requests_total{outcome="failed"} 3.0' in text  # then the pass gave up for today


async def test_a_pace_slot_stays_claimed_across_five_seconds_of_clock_spread(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    """README: replicas share slots of 1/RATE s (`ticker:{v2}:claim:history:pace:<slot>`); clocks a few
    milliseconds apart change nothing, "clocks more than 5 s apart no longer share slots". So a slot's claim
    outlives 5 s of clock spread (a replica whose clock is up to 5 s behind still meets it), and then lapses."""
    upstream.fake.nbk_days = documents(2)
    client, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 2, "rate": 2})
    await client.app[BACKFILL].run_pass()
    slots = {math.floor(at.timestamp() * 2) for at in upstream.fake.asked_at(GET_RATES)}  # floor(epoch s x RATE)
    assert len(slots) == 2
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        for slot in slots:
            left = await redis.pttl(f"ticker:{{v2}}:claim:history:pace:{slot}")
            assert 5000 < left <= 5000 + 3 * 500, (slot, left)  # 5 s of spread, and a slot or two of margin
    finally:
        await redis.aclose()
