"""Never blank, never wrong: every upstream fault and a dying Redis, seen as a reader of the strip sees them.

Fake upstreams answer over real HTTP (tests/fakes.py) and read the same injected clock as the app; Redis is a
real redis-server the test kills and starts again. Time moves by hand (``clock.advance``) and the plan's due
runs start with ``refresher.run_due()``; retry pauses are recorded, not slept; waiting is on events (the
snapshot's changes, log records, Redis announcements), never a sleep, and no duration is asserted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from providers.base import Rate
from tests.conftest import START, AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import open_meteo_point
from tests.redis_proc import RedisProcess
from ticker.fetch.refresh import Refresher, RetryPolicy
from ticker.fetch.sources import build_providers
from ticker.state import Entry, SourceStatus, confirm
from ticker.store.redis_backend import CHANNEL, PREFIX, RedisBackend
from ticker.web.appkeys import METRICS, REFRESHER, SESSION, SETTINGS, SNAPSHOT, STORE

T = TypeVar("T")
Client = TestClient[Any, Any]

NBK_INTERVAL = 1800  # conftest's SLOTS
OPEN_METEO_INTERVAL = 900  # its default; STALE_AFTER is 3 x 900 s after the observation's own time
COOLDOWN = 30  # TICKER_BREAKER_COOLDOWN's default
TIMEOUT = 0.3  # the faulted source's whole-fetch timeout: a hang costs this much real time, never asserted
MB = 1 << 20
FALLBACK = {"nbk": "cbr", "open_meteo": "met_no"}
MIDNIGHT = datetime(2026, 4, 1, 19, 0, tzinfo=UTC)  # 2026-04-02 00:00 Astana: the day START's rates end

# every fault that makes a fetch unusable ("absurd" NBK is usable: one bad value among good ones, tested below)
RATE_FAULTS = [
    "500", "503", "429", "404", "hang", "slow", "truncated", "html", "empty", "bomb", "huge", "wrongroot", "down",
]  # fmt: skip
WEATHER_FAULTS = [*RATE_FAULTS, "streamerror", "absurd"]  # absurd Open-Meteo: 500 °C everywhere, nothing usable
CASES = [("nbk", fault) for fault in RATE_FAULTS] + [("open_meteo", fault) for fault in WEATHER_FAULTS]


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


async def items_of(client: Client, source: str) -> dict[str, dict[str, Any]]:
    """The half of the strip ``source`` feeds."""
    return await (rates(client) if source in ("nbk", "cbr") else weather(client))


def move_to(client: Client, clock: FakeClock, instant: datetime) -> None:
    """Set the clock and do what the snapshot's timer does when an instant it waits for comes."""
    clock.now = instant
    client.app[SNAPSHOT].invalidate()


def status(client: Client, source: str) -> SourceStatus:
    return client.app[STORE].status_of(source)


async def fetches(client: Client, source: str, outcome: str) -> float:
    """``ticker_fetches_total{source, outcome}`` as /metrics shows it (0 when never counted)."""
    text = await (await client.get("/metrics")).text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ticker_fetches_total" and sample.labels == {"source": source, "outcome": outcome}:
                return float(sample.value)
    return 0.0


def fetch_log(caplog: pytest.LogCaptureFixture, source: str, phrase: str) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("ticker.fetch")]
    about = (f"{source}: ", f"no data yet from {source}: ")  # a source without data says so first
    return [m for m in messages if m.startswith(about) and phrase in m]


async def peak_memory(awaitable: Awaitable[T]) -> tuple[T, int]:
    """The awaitable's result and the peak of Python allocations (fake upstream included) while it ran."""
    tracemalloc.start()
    try:
        result = await awaitable
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def nbk_requests(upstream: Upstreams, path: str = "/rss/get_rates.cfm") -> int:
    return len(upstream.fake.asked(path))


# --- a fault from the start: the fallback at once, the breaker, recovery when it opens ---------------------


@pytest.mark.parametrize(("source", "fault"), CASES)
async def test_a_fault_hands_over_at_once_opens_the_breaker_and_the_source_is_asked_again_when_it_opens(
    source: str,
    fault: str,
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN, **{source: {"timeout": TIMEOUT}}))
    refresher = client.app[REFRESHER]
    fallback = FALLBACK[source]
    upstream.fake.fault[source] = fault

    assert "failed" in await refresher.run_due()
    cooldown = 120 if fault == "429" else COOLDOWN  # the fake's Retry-After: 120 outlasts the 30 s cool-off
    state = status(client, source)
    assert (state.failures, state.open_until) == (1, START + timedelta(seconds=cooldown))
    assert upstream.fake.hits[fallback] > 0  # handed over in the same round, not a tick or an interval later
    shown = await items_of(client, source)
    assert {(item["source"], item["stale"]) for item in shown.values()} == {(fallback, False)}
    assert await fetches(client, source, "failed") == 1
    assert len(fetch_log(caplog, source, "no data yet from")) == 1

    upstream.fake.fault[source] = "ok"
    hits = upstream.fake.hits[source]
    clock.advance(cooldown - 1)
    await refresher.run_due()
    assert upstream.fake.hits[source] == hits  # the breaker is still open: the upstream is left alone
    clock.advance(1)  # the breaker opens: asked again now, not an interval later
    assert await refresher.run_due() == ["ok"]
    assert upstream.fake.hits[source] > hits
    shown = await items_of(client, source)
    assert {(item["source"], item["stale"]) for item in shown.values()} == {(source, False)}
    assert status(client, source).healthy
    assert await fetches(client, source, "ok") == 1
    assert len(fetch_log(caplog, source, "no data yet from")) == 1
    assert len(fetch_log(caplog, source, "after 1 failures")) == 1  # one line on recovery


# --- a fault after good data: kept, current while its own time says so, then the fallback -------------------


@pytest.mark.parametrize("fault", RATE_FAULTS)
async def test_a_failing_nbk_keeps_its_rates_current_until_astana_midnight_then_cbr_is_asked_at_once(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN, nbk={"timeout": TIMEOUT}))
    refresher = client.app[REFRESHER]
    assert await refresher.run_due() == ["ok", "ok"]  # nbk (and cbr's cross-check), open_meteo
    cbr_hits = upstream.fake.hits["cbr"]
    upstream.fake.fault["nbk"] = fault

    clock.advance(NBK_INTERVAL)
    await refresher.run_due()
    assert status(client, "nbk").failures == 1
    usd = (await rates(client))["USD"]
    assert (usd["rate"], usd["source"], usd["stale"]) == (478.77, "nbk", False)  # dated today: still current
    assert usd["stale_at"] == "2026-04-01T19:00:00Z"  # the next Astana midnight
    assert upstream.fake.hits["cbr"] == cbr_hits  # every rate is covered: nothing to hand over
    assert (await client.get("/healthz")).status == 200

    move_to(client, clock, MIDNIGHT - timedelta(seconds=1))
    assert (await rates(client))["USD"]["stale"] is False
    move_to(client, clock, MIDNIGHT)
    usd = (await rates(client))["USD"]
    assert (usd["rate"], usd["source"], usd["stale"]) == (478.77, "nbk", True)  # stale, never blank

    await refresher.run_due()  # nbk's breaker is long open: asked for the new day, fails, cbr at once
    assert upstream.fake.hits["cbr"] > cbr_hits
    shown = await rates(client)
    assert {code: (item["source"], item["stale"], item["date"]) for code, item in shown.items()} == {
        code: ("cbr", False, "2026-04-02") for code in ("USD", "EUR", "RUB", "CNY")
    }


@pytest.mark.parametrize("fault", WEATHER_FAULTS)
async def test_a_failing_open_meteo_keeps_its_temperatures_until_they_turn_stale_then_met_no_is_asked_at_once(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN, open_meteo={"timeout": TIMEOUT}))
    refresher = client.app[REFRESHER]
    assert await refresher.run_due() == ["ok", "ok"]
    assert upstream.fake.hits["met_no"] == 0  # a healthy primary: the fallback stands by
    upstream.fake.fault["open_meteo"] = fault

    clock.advance(OPEN_METEO_INTERVAL)
    await refresher.run_due()
    assert status(client, "open_meteo").failures == 1
    astana = (await weather(client))["astana"]
    assert (astana["temperature"], astana["source"], astana["stale"]) == (-3.4, "open_meteo", False)
    assert astana["stale_at"] == "2026-04-01T11:00:00Z"  # observed 10:15Z + 2700 s
    assert upstream.fake.hits["met_no"] == 0  # its last good values are current: nothing to hand over

    move_to(client, clock, datetime(2026, 4, 1, 10, 59, 59, tzinfo=UTC))
    assert (await weather(client))["astana"]["stale"] is False
    move_to(client, clock, datetime(2026, 4, 1, 11, 0, tzinfo=UTC))
    astana = (await weather(client))["astana"]
    assert (astana["temperature"], astana["source"], astana["stale"]) == (-3.4, "open_meteo", True)

    await refresher.run_due()
    assert upstream.fake.hits["met_no"] == 2  # at once: one request per city
    shown = await weather(client)
    assert {city: (item["source"], item["stale"]) for city, item in shown.items()} == {
        "astana": ("met_no", False),
        "almaty": ("met_no", False),
    }
    assert shown["astana"]["temperature"] == pytest.approx(5.11801)  # the fake MET Norway: lat / 10 at 11:00Z


@pytest.mark.parametrize(
    ("kind", "source", "fault"),
    [("rates", "nbk", fault) for fault in RATE_FAULTS] + [("weather", "open_meteo", fault) for fault in WEATHER_FAULTS],
)
async def test_without_a_fallback_or_earlier_data_the_item_stays_null_and_the_strip_stays_up(
    kind: str, source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    settings = make_settings(rate_sources=["nbk"], weather_sources=["open_meteo"], **{source: {"timeout": TIMEOUT}})
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    assert await client.app[REFRESHER].run(source) == "failed"
    body = await strip(client)
    items = body[kind]
    assert items and all(item["stale"] and item["source"] is None for item in items)
    assert all(item["rate" if kind == "rates" else "temperature"] is None for item in items)
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200


# --- the breaker: 30 s, doubling while it keeps failing, at most the interval, at least Retry-After ---------


async def test_the_breaker_doubles_while_the_source_keeps_failing_up_to_ten_minutes(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN, weather_sources=["open_meteo"]))
    refresher = client.app[REFRESHER]
    upstream.fake.fault["open_meteo"] = "500"
    pauses = []
    for _ in range(8):
        hits = upstream.fake.hits["open_meteo"]
        assert "failed" in await refresher.run_due()
        assert upstream.fake.hits["open_meteo"] == hits + 1
        state = status(client, "open_meteo")
        assert state.open_until is not None
        pauses.append((state.open_until - clock.now).total_seconds())
        clock.now = state.open_until - timedelta(seconds=1)
        await refresher.run_due()
        assert upstream.fake.hits["open_meteo"] == hits + 1  # not a second early
        clock.advance(1)
    assert pauses == [30, 60, 120, 240, 480, 600, 600, 600]  # capped at 10 minutes, however long it fails


async def test_a_retry_after_longer_than_the_interval_is_honoured(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN, rate_sources=["nbk"], nbk={"interval": 60}))
    refresher = client.app[REFRESHER]
    upstream.fake.fault["nbk"] = "429"  # Retry-After: 120, twice the interval
    assert "failed" in await refresher.run_due()
    assert nbk_requests(upstream) == 1  # not retried in the run, nor sent to the other NBK document
    assert nbk_requests(upstream, "/rss/rates_all.xml") == 0
    assert status(client, "nbk").open_until == START + timedelta(seconds=120)
    ready = by((await (await client.get("/readyz")).json())["sources"], "source")["nbk"]
    assert ready["failures"] == 1 and ready["open_until"] == "2026-04-01T10:17:00Z"

    upstream.fake.fault["nbk"] = "ok"
    clock.advance(119)
    await refresher.run_due()
    assert upstream.fake.hits["nbk"] == 1
    clock.advance(1)
    assert await refresher.run_due() == ["ok"]
    assert upstream.fake.hits["nbk"] == 2


# --- every parse failure is a provider failure (#8 point 6) -------------------------------------------------


def open_meteo_body(*temperatures: str) -> bytes:
    """Open-Meteo's answer for the two default cities with each temperature as raw JSON text."""
    points = [open_meteo_point(i, 999.25, "2026-04-01T15:15") for i in range(len(temperatures))]
    text = json.dumps(points)
    for raw in temperatures:
        text = text.replace("999.25", raw, 1)
    return text.encode()


@pytest.mark.parametrize(
    "temperature",
    ["1" * 400, "-" + "9" * 400, "1e400", "NaN", '"warm"', "[[[[[[]]]]]]"],
)
async def test_a_crafted_open_meteo_body_goes_the_failure_path(
    temperature: str,
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN))
    upstream.fake.body["open_meteo"] = open_meteo_body(temperature, "12.0")
    await client.app[REFRESHER].run_due()
    state = status(client, "open_meteo")
    assert state.failures == 1 and state.open_until == START + timedelta(seconds=COOLDOWN)
    assert state.last_error is not None and state.last_error.startswith("FormatError")
    assert upstream.fake.hits["met_no"] == 2  # the fallback at once
    assert {item["source"] for item in (await weather(client)).values()} == {"met_no"}
    assert await fetches(client, "open_meteo", "failed") == 1
    assert len(fetch_log(caplog, "open_meteo", "no data yet from")) == 1


# --- nulls (#8 point 5): never blank a city; no-cache only until every source answered once ---------------


async def test_a_null_never_replaces_a_good_temperature_and_met_no_takes_over_when_it_turns_stale(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN))
    refresher = client.app[REFRESHER]
    await refresher.run_due()
    upstream.fake.temperatures = [-3.4, None]  # almaty: null
    clock.advance(OPEN_METEO_INTERVAL)
    assert await refresher.run_due() == ["ok"]  # astana is usable
    shown = await weather(client)
    assert (shown["almaty"]["temperature"], shown["almaty"]["source"], shown["almaty"]["stale"]) == (
        12.0,
        "open_meteo",
        False,
    )  # the last good value stays: observed 10:15Z, current until 11:00Z
    assert shown["astana"]["observed_at"] == "2026-04-01T10:30:00Z"

    clock.now = datetime(2026, 4, 1, 11, 0, tzinfo=UTC)  # almaty's value turns stale: met_no at once for it
    met_no = upstream.fake.hits["met_no"]
    await refresher.run_due()
    assert upstream.fake.hits["met_no"] > met_no
    shown = await weather(client)
    assert (shown["almaty"]["source"], shown["almaty"]["stale"]) == ("met_no", False)


async def test_a_null_asks_met_no_at_once_even_while_the_last_good_value_is_current(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN))
    refresher = client.app[REFRESHER]
    await refresher.run_due()
    upstream.fake.temperatures = [-3.4, None]
    clock.advance(OPEN_METEO_INTERVAL)
    await refresher.run_due()
    assert (await weather(client))["almaty"]["temperature"] == 12.0  # never blanked
    assert upstream.fake.hits["met_no"] > 0  # asked for almaty in the same round


async def test_a_null_with_no_earlier_value_asks_met_no_at_once(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN))
    upstream.fake.temperatures = [-3.4, None]
    assert await client.app[REFRESHER].run_due() == ["ok", "ok"]
    assert upstream.fake.hits["met_no"] == 2
    shown = await weather(client)
    assert {city: item["source"] for city, item in shown.items()} == {"astana": "open_meteo", "almaty": "met_no"}


async def test_a_city_no_source_has_turns_caching_off_only_until_every_source_answered_once(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(breaker_cooldown=COOLDOWN))
    upstream.fake.temperatures = [-3.4, None]  # Open-Meteo's model has nothing for almaty
    upstream.fake.fault["met_no"] = "404"  # and MET Norway answers, with nothing
    before = await client.get("/v1/weather")
    assert before.headers["Cache-Control"] == "no-cache"  # no source has answered yet
    await client.app[REFRESHER].run_due()
    resp = await client.get("/v1/weather")
    body = await resp.json()
    assert by(body["weather"], "city")["almaty"]["temperature"] is None
    assert resp.headers["Cache-Control"] != "no-cache"
    assert "max-age=450" in resp.headers["Cache-Control"]  # the weather policy: half of 900 s, less than stale_at


# --- retries: transient errors only, bounded, jittered pauses (recorded, not slept) ------------------------


def recording_refresher(client: Client, policy: RetryPolicy) -> tuple[Refresher, list[float]]:
    """A Refresher built from the app's own parts whose pauses are recorded instead of slept."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    app = client.app
    settings, clock = app[SETTINGS], app[SNAPSHOT].clock
    refresher = Refresher(
        settings,
        build_providers(settings, clock),
        app[STORE],
        app[SESSION],
        app[METRICS],
        clock,
        retry=policy,
        sleep=sleep,
    )
    return refresher, delays


@pytest.mark.parametrize(("fault", "attempts"), [("503", 3), ("500", 3), ("404", 1), ("html", 1)])
async def test_only_transient_errors_are_retried(
    fault: str, attempts: int, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    settings = make_settings(rate_sources=["nbk"], weather_sources=["open_meteo"])
    client = await start_app(settings)
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=3, base_delay=0.5, max_delay=5))
    upstream.fake.fault["open_meteo"] = upstream.fake.fault["nbk"] = fault
    assert await refresher.run("open_meteo") == "failed"
    assert upstream.fake.hits["open_meteo"] == attempts
    assert await refresher.run("nbk") == "failed"
    assert nbk_requests(upstream) == attempts
    assert len(delays) == 2 * (attempts - 1)


async def test_a_transient_failure_then_success_is_one_ok_run(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(weather_sources=["open_meteo"]))
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=3, base_delay=0.5, max_delay=5))
    upstream.fake.fault["open_meteo"] = "503"
    run = asyncio.ensure_future(refresher.run("open_meteo"))
    upstream.fake.arrived.clear()
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)  # the first attempt reached the fake
    upstream.fake.fault["open_meteo"] = "ok"
    assert await asyncio.wait_for(run, 10) == "ok"  # without the retry, this run would have failed
    assert upstream.fake.hits["open_meteo"] == 2
    assert len(delays) == 1 and 0 <= delays[0] <= 0.5


async def test_retry_pauses_are_bounded_and_jittered(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(weather_sources=["open_meteo"]))
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=6, base_delay=0.5, max_delay=5))
    upstream.fake.fault["open_meteo"] = "503"
    runs = 8
    for _ in range(runs):
        assert await refresher.run("open_meteo") == "failed"
        clock.advance(1)  # a run asked at the same instant would be the same claimed run
    assert upstream.fake.hits["open_meteo"] == runs * 6
    assert len(delays) == runs * 5
    caps = [0.5, 1.0, 2.0, 4.0, 5.0]  # 0.5 s doubling, capped at 5 s
    for run in range(runs):
        pauses = delays[run * 5 : run * 5 + 5]
        assert all(0 <= pause <= cap for pause, cap in zip(pauses, caps, strict=True)), pauses
    assert len(set(delays)) > runs  # jittered: not one fixed schedule
    assert max(delays) > 1.0  # the later pauses do grow past the first cap


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


# --- hangs and trickles: bounded by the timeout, and the strip is served meanwhile -----------------------


@pytest.mark.parametrize("fault", ["hang", "slow"])
async def test_a_hanging_upstream_is_retried_within_its_budget_while_the_strip_is_served(
    fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    timeout = 0.5
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"timeout": timeout}))
    refresher, delays = recording_refresher(client, RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.01))
    assert await refresher.run("nbk") == "ok"
    body = await (await client.get("/v1/ticker")).read()
    clock.advance(60)
    upstream.fake.fault["nbk"] = fault
    upstream.fake.arrived.clear()
    run = asyncio.ensure_future(refresher.run("nbk"))
    await asyncio.wait_for(upstream.fake.arrived.wait(), 10)  # the fetch is inside the upstream now

    resp = await client.get("/v1/ticker")  # answered from memory while the fetch still hangs
    assert resp.status == 200 and await resp.read() == body
    assert not run.done()

    assert await asyncio.wait_for(run, 30) == "failed"
    # transient: retried (a second attempt reached the fake), never past the budget of 3
    assert 2 <= nbk_requests(upstream) - 1 <= 3
    assert len(delays) == nbk_requests(upstream) - 2
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
async def test_one_attempt_at_a_hanging_source_is_given_up_as_a_timeout(
    source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    rate_chain = [source] if source in ("nbk", "cbr") else ["nbk"]
    weather_chain = [source] if source in ("open_meteo", "met_no") else ["open_meteo"]
    settings = make_settings(rate_sources=rate_chain, weather_sources=weather_chain, **{source: {"timeout": TIMEOUT}})
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    assert await asyncio.wait_for(client.app[REFRESHER].run(source), 30) == "failed"
    error = status(client, source).last_error
    assert error is not None and "within" in error and " s" in error  # "no (complete) answer within N s"


# --- absurd values: the impossible is dropped, the implausible held until confirmed ----------------------


async def test_an_impossible_rate_is_dropped_and_an_implausible_jump_is_held_until_confirmed(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    cbr = upstream.fake.hits["cbr"]
    before = await rates(client)
    clock.advance(60)
    upstream.fake.fault["nbk"] = "absurd"  # USD 47,877,000 and EUR -5
    assert await refresher.run("nbk") == "ok"
    shown = await rates(client)
    assert shown["USD"] == before["USD"]  # held back: the strip keeps 478.77
    assert shown["EUR"] == before["EUR"]  # dropped: EUR keeps its last good value
    assert (shown["USD"]["stale"], shown["EUR"]["stale"]) == (False, False)
    assert upstream.fake.hits["cbr"] == cbr  # a usable answer: no hand-over

    clock.advance(60)
    assert await refresher.run("nbk") == "ok"  # the same jump again: confirmed
    shown = await rates(client)
    assert (shown["USD"]["rate"], shown["USD"]["source"]) == (47877000.0, "nbk")
    assert shown["EUR"]["rate"] == 548.62  # -5 is never shown, however often it is sent


async def test_a_held_jump_that_is_not_repeated_is_forgotten(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    for fault in ("absurd", "ok", "absurd"):
        clock.advance(60)
        upstream.fake.fault["nbk"] = fault
        assert await refresher.run("nbk") == "ok"
        assert (await rates(client))["USD"]["rate"] == 478.77  # a one-off, twice, never two in a row


async def test_impossible_temperatures_are_never_shown_however_often_they_come(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(weather_sources=["open_meteo"]))
    refresher = client.app[REFRESHER]
    assert await refresher.run("open_meteo") == "ok"
    upstream.fake.fault["open_meteo"] = "absurd"  # 500 °C everywhere
    for _ in range(2):
        clock.advance(60)
        assert await refresher.run("open_meteo") == "failed"  # nothing usable: a failure
        assert {city: item["temperature"] for city, item in (await weather(client)).items()} == {
            "astana": -3.4,
            "almaty": 12.0,
        }


# --- bombs and giants: fail, memory stays small ---------------------------------------------------------


@pytest.mark.parametrize("source", ["nbk", "open_meteo"])
@pytest.mark.parametrize("fault", ["bomb", "huge"])
async def test_bombs_and_giant_bodies_fail_in_little_memory(
    source: str, fault: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    settings = make_settings(rate_sources=["nbk"], weather_sources=["open_meteo"])
    client = await start_app(settings)
    upstream.fake.fault[source] = fault
    outcome, peak = await peak_memory(client.app[REFRESHER].run(source))
    assert outcome == "failed"
    assert peak < 10 * MB  # the 64 MB body is never held; the cap (2 MB) is
    error = status(client, source).last_error
    assert error and ("ResponseTooLarge" if fault == "huge" else "FormatError") in error
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

    async def wait_for(self, *phrases: str, since: int = 0, timeout: float = 15) -> str:
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages[since:]:
                    if any(phrase in message for phrase in phrases):
                        return message
                self._wakeup.clear()
                await self._wakeup.wait()


@pytest.fixture
def store_log(caplog: pytest.LogCaptureFixture) -> Iterator[LogWatch]:
    caplog.set_level(logging.INFO, logger="ticker.store.store")
    watch = LogWatch()
    logger = logging.getLogger("ticker.store.store")
    logger.addHandler(watch)
    yield watch
    logger.removeHandler(watch)


REACHABLE = "store reachable again"  # store.py logs it after the write-back
USD_TODAY = "USD@2026-04-01"


async def readyz(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get("/readyz")).json()
    return body


async def stored_usd(url: str) -> float | None:
    async with aioredis.from_url(url, decode_responses=True) as client:
        text = await client.hget(PREFIX + "data:nbk", USD_TODAY)
    if text is None:
        return None
    record = Entry.model_validate_json(text).record
    assert isinstance(record, Rate)
    return record.rate


async def wait_for_write_back(url: str, timeout: float = 15) -> None:
    """Until data:nbk is back in a Redis that restarted empty: subscribe, then look, then wait."""
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
    """Until each replica's follow loop has applied every announcement so far: announce one more change
    through a backend of our own and wait for every store to take it. Tests settle their replicas before
    closing them, so no follow loop is caught mid-reload."""
    stores = [client.app[STORE] for client in clients]
    source, entries = next((name, held) for name, held in stores[0].all_held().items() if held)
    key, entry = next(iter(entries.items()))
    at = max(s.held(source).get(key, entry).fetched_at for s in stores) + timedelta(milliseconds=1)
    backend = RedisBackend(url)
    try:
        await backend.write(source, confirm(entries, source, [entry.record], at), [])
    finally:
        await backend.close()
    async with asyncio.timeout(10):
        for client, store in zip(clients, stores, strict=True):
            while True:
                changed = client.app[SNAPSHOT].changed  # taken before looking: nothing is missed
                if store.held(source).get(key, entry).fetched_at >= at:
                    break
                await changed.wait()


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

    own_redis.stop()
    resp = await client.get("/v1/ticker")
    assert resp.status == 200 and await resp.read() == body
    clock.advance(60)
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
    assert (await rates(client))["USD"]["rate"] == 480.05  # still the newer strip from memory
    await settle(own_redis.url, client)
    await client.close()  # before the fixture kills this Redis for good


async def test_starting_while_redis_is_down_serves_and_fills_redis_once_it_is_up(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    own_redis: RedisProcess,
    store_log: LogWatch,
) -> None:
    own_redis.stop()
    client = await start_app(make_settings(redis_url=own_redis.url))
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


async def test_a_failed_store_write_shows_in_readyz_and_metrics_at_once_and_recovers_with_redis(
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
    assert "ticker_store_up 1.0" in await (await client.get("/metrics")).text()
    await settle(own_redis.url, client)  # no announcement left for the follow loop to trip over
    own_redis.stop()
    clock.advance(60)
    assert await refresher.run("nbk") == "ok"  # its store write failed: /metrics says so already
    assert "ticker_store_up 0.0" in await (await client.get("/metrics")).text()
    assert (await readyz(client))["store_ok"] is False
    mark = store_log.mark()
    own_redis.start()
    await store_log.wait_for(REACHABLE, since=mark)  # written back, then reported healthy
    await wait_for_write_back(own_redis.url)  # Redis holds our data again
    assert "ticker_store_up 1.0" in await (await client.get("/metrics")).text()
    await settle(own_redis.url, client)
    await client.close()
