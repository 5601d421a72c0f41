"""Never blank, never wrong: every upstream fault and a dying Redis, seen as a reader of the strip sees them.

Fake upstreams answer over real HTTP (tests/fakes.py); Redis is a real redis-server the test kills and
starts again. Waiting is on events (the snapshot's changes, log records, Redis announcements), never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import tracemalloc
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.redis_proc import RedisProcess
from ticker.app import REFRESHER, SESSION, STORE
from ticker.appkeys import METRICS, SETTINGS, SNAPSHOT, STORE_HEALTH
from ticker.redis_store import CHANNEL, PREFIX, RedisStore
from ticker.refresh import Refresher, RetryPolicy
from ticker.sources import build_providers
from ticker.state import Entry, confirm

T = TypeVar("T")
Client = TestClient[Any, Any]

NBK_INTERVAL, NBK_STALE = 1800, 5400  # defaults: stale_after is 3 x interval
OPEN_METEO_INTERVAL, OPEN_METEO_STALE = 900, 2700
TIMEOUT = 0.5  # the faulted source's whole-fetch timeout in these tests
SLACK = 1.0  # scheduling and the fallback's own (fast) fetch
MB = 1 << 20

# every fault that makes a fetch unusable; "absurd" is a usable answer with bad values and has its own tests
RATE_FAULTS = ["500", "503", "429", "404", "hang", "slow", "truncated", "html", "empty", "bomb", "huge", "wrongroot"]
WEATHER_FAULTS = [*RATE_FAULTS, "streamerror"]


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def strip(client: Client) -> dict[str, Any]:
    """What a page sees: GET /v1/ticker answers 200 with valid JSON, whatever else is going on."""
    resp = await client.get("/v1/ticker")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = json.loads(await resp.read())
    return body


async def rates(client: Client) -> dict[str, dict[str, Any]]:
    return by((await strip(client))["rates"], "currency")


async def weather(client: Client) -> dict[str, dict[str, Any]]:
    return by((await strip(client))["weather"], "city")


async def peak_memory(awaitable: Awaitable[T]) -> tuple[T, int]:
    """The awaitable's result and the peak of Python allocations (fake upstream included) while it ran."""
    tracemalloc.start()
    try:
        result = await awaitable
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


async def timed(awaitable: Awaitable[T]) -> tuple[T, float]:
    started = time.monotonic()
    result = await awaitable
    return result, time.monotonic() - started


def nbk_requests(upstream: Upstreams, path: str = "/rss/get_rates.cfm") -> int:
    return sum(1 for request in upstream.fake.requests if request.path == path)


# --- a failing primary: last good kept, fallback at once, fallback shown once the primary is stale -------


@pytest.mark.parametrize("fault", RATE_FAULTS)
async def test_a_failing_nbk_keeps_its_last_good_rates_and_hands_over_to_cbr(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(nbk={"timeout": TIMEOUT}))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    clock.advance(NBK_INTERVAL)  # the next time slot: nbk's last good values are still fresh
    upstream.fake.fault["nbk"] = fault

    outcome, took = await timed(refresher.run("nbk"))
    assert outcome == "failed"
    assert took < TIMEOUT + SLACK
    assert upstream.fake.hits["cbr"] == 1  # the fallback was tried at once, in the same run
    usd = (await rates(client))["USD"]
    assert (usd["rate"], usd["source"], usd["stale"]) == (478.77, "nbk", False)  # never blank, not stale yet
    assert (await client.get("/healthz")).status == 200

    clock.advance(NBK_STALE - NBK_INTERVAL + 1)  # nbk's values turn stale; cbr's (3 x 3600 s) are fresh
    refresher.snapshot.invalidate()  # what the stale timer does at the deadline
    shown = await rates(client)
    assert {code: (item["source"], item["stale"]) for code, item in shown.items()} == {
        code: ("cbr", False) for code in ("USD", "EUR", "RUB", "CNY")
    }
    assert round(shown["USD"]["rate"], 2) == 462.87  # the CBR cross rate
    assert round(shown["EUR"]["rate"], 2) == 541.04
    assert upstream.fake.hits["cbr"] == 1


@pytest.mark.parametrize("fault", WEATHER_FAULTS)
async def test_a_failing_open_meteo_keeps_its_last_good_temperatures_and_hands_over_to_met_no(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(open_meteo={"timeout": TIMEOUT}))
    refresher = client.app[REFRESHER]
    assert await refresher.run("open_meteo") == "ok"
    clock.advance(OPEN_METEO_INTERVAL)
    upstream.fake.fault["open_meteo"] = fault

    outcome, took = await timed(refresher.run("open_meteo"))
    assert outcome == "failed"
    assert took < TIMEOUT + SLACK
    assert upstream.fake.hits["met_no"] == 2  # the fallback at once: one request per city
    astana = (await weather(client))["astana"]
    assert (astana["temperature"], astana["source"], astana["stale"]) == (-3.4, "open_meteo", False)

    clock.advance(OPEN_METEO_STALE - OPEN_METEO_INTERVAL + 1)
    refresher.snapshot.invalidate()
    shown = await weather(client)
    assert {city: (item["source"], item["stale"]) for city, item in shown.items()} == {
        "astana": ("met_no", False),
        "almaty": ("met_no", False),
    }
    assert shown["astana"]["temperature"] == pytest.approx(5.11801)  # the fake's MET Norway value: lat / 10
    assert upstream.fake.hits["met_no"] == 2


@pytest.mark.parametrize(
    ("kind", "source", "fault"),
    [("rates", "nbk", fault) for fault in RATE_FAULTS]
    + [("weather", "open_meteo", fault) for fault in [*WEATHER_FAULTS, "absurd"]],
)
async def test_without_a_fallback_or_earlier_data_the_item_stays_null_and_the_strip_stays_up(
    kind: str, source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    settings = make_settings(rate_sources=["nbk"], weather_sources=["open_meteo"], **{source: {"timeout": TIMEOUT}})
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    assert await client.app[REFRESHER].run(source) == "failed"  # absurd too: nothing usable is a failure
    body = await strip(client)
    items = body[kind]
    assert items and all(item["stale"] and item["source"] is None for item in items)
    assert all(item["rate" if kind == "rates" else "temperature"] is None for item in items)
    assert body["updated_at"] is None
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200


# --- hangs and trickles: bounded by the timeout, and the strip is served meanwhile -----------------------


@pytest.mark.parametrize("fault", ["hang", "slow"])
async def test_a_hanging_upstream_is_given_up_within_timeout_times_attempts(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    attempts = 3
    settings = make_settings(rate_sources=["nbk"], fetch_attempts=attempts, nbk={"timeout": TIMEOUT})
    client = await start_app(settings)
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    body = await (await client.get("/v1/ticker")).read()
    clock.advance(NBK_INTERVAL)
    upstream.fake.fault["nbk"] = fault
    upstream.fake.arrived.clear()
    started = time.monotonic()
    run = asyncio.ensure_future(refresher.run("nbk"))
    await asyncio.wait_for(upstream.fake.arrived.wait(), 5)  # the fetch is inside the upstream now

    resp, took = await timed(client.get("/v1/ticker"))  # served at once from memory, the fetch still hanging
    assert resp.status == 200 and await resp.read() == body
    assert took < 0.25
    assert not run.done()

    assert await asyncio.wait_for(run, TIMEOUT * attempts + SLACK) == "failed"
    assert time.monotonic() - started < TIMEOUT * attempts + SLACK
    assert 1 <= nbk_requests(upstream) - 1 <= attempts  # transient: retried, but never past the budget
    assert await (await client.get("/v1/ticker")).read() == body


@pytest.mark.parametrize(
    ("source", "fault"),
    [
        ("nbk", "hang"),
        ("nbk", "slow"),
        ("open_meteo", "hang"),
        ("open_meteo", "slow"),
        ("cbr", "hang"),
        ("met_no", "slow"),
    ],
)
async def test_one_attempt_at_a_hanging_source_ends_within_its_timeout(
    source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    rate_chain = [source] if source in ("nbk", "cbr") else ["nbk"]
    weather_chain = [source] if source in ("open_meteo", "met_no") else ["open_meteo"]
    settings = make_settings(rate_sources=rate_chain, weather_sources=weather_chain, **{source: {"timeout": TIMEOUT}})
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    outcome, took = await timed(client.app[REFRESHER].run(source))
    assert outcome == "failed"
    assert took < TIMEOUT + 0.3  # TICKER_<SOURCE>__TIMEOUT: "seconds for one whole fetch"


# --- Retry-After and the circuit breaker ---------------------------------------------------------------


async def test_429_with_retry_after_keeps_the_source_cooling_that_long(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    # a 60 s interval, so the Retry-After of 120 s outlasts the next time slot
    client = await start_app(make_settings(nbk={"interval": 60}))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    clock.advance(60)
    upstream.fake.fault["nbk"] = "429"  # Retry-After: 120
    failed_at = clock.now
    assert await refresher.run("nbk") == "failed"
    assert nbk_requests(upstream) == 2  # not retried in the run, nor sent to the other NBK document
    assert nbk_requests(upstream, "/rss/rates_all.xml") == 0
    status = refresher.snapshot.status["nbk"]
    assert status.open_until is not None and (status.open_until - failed_at).total_seconds() >= 120
    ready = by((await (await client.get("/readyz")).json())["sources"], "source")["nbk"]
    assert ready["failures"] == 1 and ready["open_until"] is not None

    upstream.fake.fault["nbk"] = "ok"
    clock.advance(60)  # a new time slot, but still inside Retry-After
    assert await refresher.run("nbk") == "cooling"
    assert upstream.fake.hits["nbk"] == 2  # the upstream was left alone
    clock.advance(61)  # past Retry-After, in the slot after
    assert await refresher.run("nbk") == "ok"
    assert upstream.fake.hits["nbk"] == 3
    assert refresher.snapshot.status["nbk"].healthy


async def test_the_breaker_skips_a_failed_source_for_the_cooldown_then_uses_it_again(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    # the cooldown is capped at the interval; a 30 s interval lets the recovery fall in the next slot
    client = await start_app(make_settings(breaker_cooldown=30, nbk={"interval": 30}))
    refresher = client.app[REFRESHER]
    upstream.fake.fault["nbk"] = "500"
    assert await refresher.run("nbk") == "failed"
    hits = upstream.fake.hits["nbk"]
    upstream.fake.fault["nbk"] = "ok"
    clock.advance(29)
    assert await refresher.run("nbk") == "cooling"
    assert upstream.fake.hits["nbk"] == hits
    clock.advance(1)
    assert await refresher.run("nbk") == "ok"
    assert upstream.fake.hits["nbk"] == hits + 1
    usd = (await rates(client))["USD"]
    assert (usd["rate"], usd["source"], usd["stale"]) == (478.77, "nbk", False)


# --- retries: transient errors only, bounded, jittered pauses --------------------------------------------


def recording_refresher(client: Client, policy: RetryPolicy) -> tuple[Refresher, list[float]]:
    """create_app has no way to inject the pause: build a Refresher from the app's own parts."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    app = client.app
    refresher = Refresher(
        app[SETTINGS],
        build_providers(app[SETTINGS], app[SNAPSHOT].clock),
        app[SNAPSHOT],
        app[STORE],
        app[SESSION],
        app[METRICS],
        app[STORE_HEALTH],
        retry=policy,
        sleep=sleep,
    )
    return refresher, delays


@pytest.mark.parametrize(("fault", "attempts"), [("503", 3), ("500", 3), ("404", 1), ("html", 1), ("absurd", 1)])
async def test_only_transient_errors_are_retried(
    fault: str,
    attempts: int,
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
) -> None:
    settings = make_settings(fetch_attempts=3, rate_sources=["nbk"], weather_sources=["open_meteo"])
    client = await start_app(settings)
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=3, base_delay=0.5, max_delay=5))
    upstream.fake.fault["open_meteo"] = upstream.fake.fault["nbk"] = fault
    await refresher.run("open_meteo")
    assert upstream.fake.hits["open_meteo"] == attempts
    await refresher.run("nbk")
    assert nbk_requests(upstream) == attempts
    assert len(delays) == 2 * (attempts - 1)


async def test_retry_pauses_are_bounded_and_jittered(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(weather_sources=["open_meteo"]))
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=5)
    refresher, delays = recording_refresher(client, policy)
    upstream.fake.fault["open_meteo"] = "503"
    runs = 8
    for _ in range(runs):
        assert await refresher.run("open_meteo") == "failed"
        clock.advance(OPEN_METEO_INTERVAL)  # one run per time slot
    assert upstream.fake.hits["open_meteo"] == runs * 6
    assert len(delays) == runs * 5
    caps = [min(5.0, 0.5 * 2**attempt) for attempt in range(5)]  # 0.5, 1, 2, 4, 5 (capped)
    for run in range(runs):
        pauses = delays[run * 5 : run * 5 + 5]
        assert all(0 <= pause <= cap for pause, cap in zip(pauses, caps, strict=True))
    assert len(set(delays)) > runs  # jittered: not one fixed schedule
    assert max(delays) <= 5


async def test_a_short_retry_after_is_the_pause_before_the_retry(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(weather_sources=["open_meteo"]))
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=3, base_delay=0.5, max_delay=5))
    upstream.fake.retry_after = "1"
    upstream.fake.fault["open_meteo"] = "429"
    assert await refresher.run("open_meteo") == "failed"
    assert upstream.fake.hits["open_meteo"] == 3
    assert delays == [1.0, 1.0]


# --- absurd values: the impossible is dropped, the implausible held until confirmed ----------------------


async def test_an_impossible_rate_is_dropped_and_an_implausible_jump_is_held_until_confirmed(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    before = await rates(client)
    clock.advance(NBK_INTERVAL)
    upstream.fake.fault["nbk"] = "absurd"  # USD 47,877,000 and EUR -5
    assert await refresher.run("nbk") == "ok"
    shown = await rates(client)
    assert shown["USD"] == before["USD"]  # held back: the strip keeps 478.77
    assert shown["EUR"] == before["EUR"]  # dropped: EUR keeps its last good value
    assert (shown["USD"]["stale"], shown["EUR"]["stale"]) == (False, False)
    assert upstream.fake.hits["cbr"] == 0  # a usable answer: no hand-over

    clock.advance(NBK_INTERVAL)
    assert await refresher.run("nbk") == "ok"  # the same jump again: confirmed
    shown = await rates(client)
    assert (shown["USD"]["rate"], shown["USD"]["source"]) == (47877000.0, "nbk")
    assert shown["EUR"]["rate"] == 548.62  # -5 is never shown, however often it is sent


async def test_a_held_jump_that_is_not_repeated_is_forgotten(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    await refresher.run("nbk")
    for fault in ("absurd", "ok", "absurd"):
        clock.advance(NBK_INTERVAL)
        upstream.fake.fault["nbk"] = fault
        assert await refresher.run("nbk") == "ok"
        assert (await rates(client))["USD"]["rate"] == 478.77  # a one-off, twice, never two in a row


async def test_impossible_temperatures_are_dropped(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("open_meteo") == "ok"
    before = await weather(client)
    clock.advance(OPEN_METEO_INTERVAL)
    upstream.fake.fault["open_meteo"] = "absurd"  # 500 °C everywhere
    await refresher.run("open_meteo")
    assert await weather(client) == before
    clock.advance(OPEN_METEO_INTERVAL)
    await refresher.run("open_meteo")  # repeating an impossible value never confirms it
    assert {city: item["temperature"] for city, item in (await weather(client)).items()} == {
        "astana": -3.4,
        "almaty": 12.0,
    }


async def test_an_answer_with_nothing_usable_counts_as_a_failure_and_hands_over(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("open_meteo") == "ok"
    clock.advance(OPEN_METEO_INTERVAL)
    upstream.fake.fault["open_meteo"] = "absurd"  # every temperature is 500 °C: nothing usable
    outcome = await refresher.run("open_meteo")
    assert upstream.fake.hits["met_no"] == 2  # MET Norway tried at once, as for any other failure
    assert outcome == "failed"
    assert not refresher.snapshot.status["open_meteo"].healthy


# --- bombs and giants: fail fast, memory stays small ----------------------------------------------------


@pytest.mark.parametrize("source", ["nbk", "open_meteo"])
@pytest.mark.parametrize("fault", ["bomb", "huge"])
async def test_bombs_and_giant_bodies_fail_fast_in_little_memory(
    source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    settings = make_settings(rate_sources=["nbk"], weather_sources=["open_meteo"])
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    (outcome, took), peak = await peak_memory(timed(client.app[REFRESHER].run(source)))
    assert outcome == "failed"
    assert peak < 10 * MB  # the 64 MB body is never held; the cap (2 MB) is
    if fault == "bomb":
        assert took < 1.0
    status = client.app[SNAPSHOT].status[source]
    assert status.last_error and ("ResponseTooLarge" if fault == "huge" else "FormatError") in status.last_error
    await strip(client)
    assert (await client.get("/healthz")).status == 200


# --- Redis dies and comes back empty ---------------------------------------------------------------------


class LogWatch(logging.Handler):
    """Turns log records into awaitable events: the store-health transitions are only visible there."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._wakeup = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self._wakeup.set()

    def mark(self) -> int:
        return len(self.messages)

    async def wait_for(self, *phrases: str, since: int = 0, timeout: float = 8) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages[since:]:
                    if any(phrase in message for phrase in phrases):
                        return message
                self._wakeup.clear()
                await self._wakeup.wait()


@pytest.fixture
def store_log(caplog: pytest.LogCaptureFixture) -> Iterator[LogWatch]:
    caplog.set_level(logging.INFO, logger="ticker.sync")
    watch = LogWatch()
    logger = logging.getLogger("ticker.sync")
    logger.addHandler(watch)
    yield watch
    logger.removeHandler(watch)


UNREACHABLE = ("store unreachable", "store stopped answering")  # sync.reload / sync.watch
REACHABLE = "store reachable again"  # logged after the write-back


async def readyz(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get("/readyz")).json()
    return body


async def stored_usd(url: str) -> float | None:
    async with aioredis.from_url(url, decode_responses=True) as client:
        text = await client.hget(PREFIX + "data:nbk", "USD")
    return None if text is None else Entry.model_validate_json(text).record.rate  # type: ignore[union-attr]


async def wait_for_write_back(url: str, timeout: float = 8) -> None:
    """Until ticker:v1:data:nbk is back in a Redis that restarted empty: subscribe, then look, then wait."""
    async with aioredis.from_url(url, decode_responses=True) as client, client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        if await client.exists(PREFIX + "data:nbk"):
            return
        async with asyncio.timeout(timeout):
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                if message is not None and message["data"] == "data:nbk":
                    return


async def settle(url: str, *clients: Client) -> None:
    """Until each replica's follow loop has applied every announcement so far: announce one more change through
    a store of our own (data only, so no status announcement trails it) and wait for every snapshot to take it.
    Tests settle their replicas before closing them: an app closed while its follow loop is busy can leak a
    Redis connection (app.py closes the store before the cancelled follow task has ended)."""
    snapshots = [client.app[SNAPSHOT] for client in clients]
    source, entries = next((name, held) for name, held in snapshots[0].entries.items() if held)
    key, entry = next(iter(entries.items()))
    at = max(snap.entries.get(source, {}).get(key, entry).fetched_at for snap in snapshots) + timedelta(milliseconds=1)
    store = RedisStore(url)
    try:
        await store.write(source, confirm(entries, source, [entry.record], at))
    finally:
        await store.close()
    async with asyncio.timeout(5):
        for snap in snapshots:
            while key not in snap.entries.get(source, {}) or snap.entries[source][key].fetched_at < at:
                await snap.changed()


async def test_redis_dies_the_strip_stays_and_redis_is_refilled_when_it_comes_back_empty(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    own_redis: RedisProcess,
    clock: FakeClock,
    store_log: LogWatch,
) -> None:
    client = await start_app(make_settings(redis_url=own_redis.url))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    body = await (await client.get("/v1/ticker")).read()
    assert await stored_usd(own_redis.url) == 478.77

    mark = store_log.mark()
    own_redis.stop()
    resp = await client.get("/v1/ticker")
    assert resp.status == 200 and await resp.read() == body
    clock.advance(NBK_INTERVAL)
    upstream.fake.rates["USD"] = ("480.05", 1, "UP", "+1.28")
    assert await refresher.run("nbk") == "ok"  # fetched anyway, kept in memory
    usd = (await rates(client))["USD"]
    assert (usd["rate"], usd["source"], usd["stale"]) == (480.05, "nbk", False)
    ready = await readyz(client)  # the failed store write said so at once
    assert (ready["store"], ready["store_ok"], ready["ready"]) == ("redis", False, True)
    assert "store unreachable" in ready["reason"]
    assert (await client.get("/healthz")).status == 200

    mark = store_log.mark()
    own_redis.start()  # the same port, empty
    await store_log.wait_for(REACHABLE, since=mark)  # the follow (or watch) loop reconnected and wrote back
    assert await stored_usd(own_redis.url) == 480.05
    ready = await readyz(client)
    assert (ready["store_ok"], ready["ready"], ready["reason"]) == (True, True, None)
    assert await (await client.get("/v1/ticker")).read() != body  # still the newer strip from memory
    assert (await rates(client))["USD"]["rate"] == 480.05
    await settle(own_redis.url, client)
    await client.close()  # before the fixture kills this Redis for good


async def test_starting_while_redis_is_down_serves_and_fills_redis_once_it_is_up(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    own_redis: RedisProcess,
    store_log: LogWatch,
) -> None:
    own_redis.stop()
    client, took = await timed(start_app(make_settings(redis_url=own_redis.url)))
    assert took < 6  # the start-up load is bounded
    assert (await readyz(client))["store_ok"] is False
    assert (await rates(client))["USD"]["rate"] is None
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert (await rates(client))["USD"]["rate"] == 478.77

    mark = store_log.mark()
    own_redis.start()
    await store_log.wait_for(REACHABLE, since=mark)
    assert await stored_usd(own_redis.url) == 478.77
    assert (await readyz(client))["store_ok"] is True
    await settle(own_redis.url, client)
    await client.close()


async def test_a_failed_store_write_shows_in_readyz_at_once(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    own_redis: RedisProcess,
    clock: FakeClock,
) -> None:
    client = await start_app(make_settings(redis_url=own_redis.url))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    await settle(own_redis.url, client)  # no announcement left for the follow loop to trip over
    own_redis.stop()
    clock.advance(NBK_INTERVAL)
    assert await refresher.run("nbk") == "ok"  # its store write failed: /metrics says so already
    assert "ticker_store_up 0.0" in await (await client.get("/metrics")).text()
    assert (await readyz(client))["store_ok"] is False


async def test_the_store_up_metric_recovers_with_redis(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    own_redis: RedisProcess,
    clock: FakeClock,
) -> None:
    client = await start_app(make_settings(redis_url=own_redis.url))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    own_redis.stop()
    clock.advance(NBK_INTERVAL)
    assert await refresher.run("nbk") == "ok"
    assert "ticker_store_up 0.0" in await (await client.get("/metrics")).text()
    own_redis.start()
    await wait_for_write_back(own_redis.url)  # Redis holds our data again
    assert "ticker_store_up 1.0" in await (await client.get("/metrics")).text()
