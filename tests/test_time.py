"""Time-true data (issue #8), driven by one injected clock shared by the service and the fake upstreams:
a run through Astana midnight with tomorrow's rate switching in, an evening with CBR already dated tomorrow,
a weekend, documents years old, nulls, recovery after an outage at start-up, two sources that disagree, and
the publication-aware schedule over a whole day. No sleeps; expected instants are worked out by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.fetch.crosscheck import Divergence
from ticker.web.appkeys import REFRESHER, SNAPSHOT

Client = TestClient[Any, Any]
DAY1 = {"USD": ("478.77", 1, "DOWN", "-2.77"), "EUR": ("548.62", 1, "UP", "+1.05"), "RUB": ("5.87", 1, "", "0.00"),
        "CNY": ("69.31", 1, "DOWN", "-0.40")}  # fmt: skip
DAY2 = {"USD": ("479.10", 1, "UP", "+0.33"), "EUR": ("547.00", 1, "DOWN", "-1.62"), "RUB": ("5.87", 1, "", "0.00"),
        "CNY": ("69.50", 1, "UP", "+0.19")}  # fmt: skip


def at(text: str) -> datetime:
    """An Astana wall-clock time as a UTC instant: at("2026-04-01 15:50") is 10:50Z."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=5)


async def strip(client: Client, path: str = "/v1/ticker") -> dict[str, Any]:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def rates(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["currency"]: item for item in body["rates"]}


async def run_due(client: Client) -> list[str]:
    """What the scheduler's ticks would start at this instant: every run due, until none is (at most 5 rounds)."""
    outcomes: list[str] = []
    for _ in range(5):
        ran = list(await client.app[REFRESHER].run_due())
        if not ran:
            break
        outcomes += ran
    return outcomes


async def test_tomorrows_rate_is_next_until_astana_midnight_then_current_without_a_fetch(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days = {date(2026, 4, 1): DAY1, date(2026, 4, 2): DAY2}
    clock.now = at("2026-04-01 15:40")
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"interval": 14400}, breaker_cooldown=30))
    await run_due(client)
    body = rates(await strip(client))
    assert body["USD"]["rate"] == 478.77 and body["USD"]["date"] == "2026-04-01" and body["USD"]["next"] is None
    assert body["USD"]["stale_at"] == "2026-04-01T19:00:00Z"  # Astana midnight

    clock.now = at("2026-04-01 15:50")  # polls from 15:45; NBK (the fake) publishes at 16:00
    await run_due(client)
    assert rates(await strip(client))["USD"]["next"] is None
    assert upstream.fake.asked("/rss/get_rates.cfm")[-1]["fdate"] == "02.04.2026"

    clock.now = at("2026-04-01 16:01")
    await run_due(client)  # the 15:55 poll is due, and this time tomorrow's document is out
    usd = rates(await strip(client))["USD"]
    assert usd["rate"] == 478.77 and usd["stale"] is False
    assert usd["next"] == {"rate": 479.1, "change": 0.33, "trend": "up", "date": "2026-04-02"}
    hits = upstream.fake.hits["nbk"]

    # 0.1 s before midnight: the snapshot arms its timer for midnight; the clock passes it; the timer re-renders
    clock.now = at("2026-04-01 23:59:59.9")
    snapshot = client.app[SNAPSHOT]
    snapshot.invalidate()
    changed = snapshot.changed
    assert rates(await strip(client))["USD"]["rate"] == 478.77
    clock.now = at("2026-04-02 00:00:00.1")
    await asyncio.wait_for(changed.wait(), 5)  # the switch needs no request and no fetch
    usd = rates(await strip(client))["USD"]
    assert (usd["rate"], usd["date"], usd["stale"], usd["next"]) == (479.1, "2026-04-02", False, None)
    assert usd["stale_at"] == "2026-04-02T19:00:00Z"
    assert upstream.fake.hits["nbk"] == hits

    clock.now = at("2026-04-02 00:00:30")
    await run_due(client)
    assert upstream.fake.hits["nbk"] == hits  # nothing asked before the confirmation minute
    clock.now = at("2026-04-02 00:01:05")
    await run_due(client)
    assert upstream.fake.hits["nbk"] == hits + 1  # today's confirmed once after midnight
    assert upstream.fake.asked("/rss/get_rates.cfm")[-1]["fdate"] == "02.04.2026"
    await run_due(client)
    assert upstream.fake.hits["nbk"] == hits + 1


async def test_an_evening_with_nbk_down_shows_cbr_for_today_never_tomorrows_as_current(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    clock.now = at("2026-04-01 20:00")  # a Wednesday: CBR published Thursday's document at 17:30 Astana
    upstream.fake.fault["nbk"] = "503"
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    usd = rates(await strip(client))["USD"]
    assert usd["source"] == "cbr"
    assert usd["date"] == "2026-04-01" and usd["stale"] is False
    assert upstream.fake.asked("/scripts/XML_daily.asp")[0]["date_req"] == "01/04/2026"
    assert usd["next"] is not None and usd["next"]["date"] == "2026-04-02"  # tomorrow's, kept aside
    ready = await (await client.get("/readyz")).json()
    nbk = next(s for s in ready["sources"] if s["source"] == "nbk")
    assert nbk["stale"] is True and "HTTP 503" in nbk["reason"]


async def test_a_sunday_shows_saturdays_cbr_document_as_current_and_nbk_dates_sunday(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    clock.now = at("2026-04-05 12:00")  # Sunday
    flat = {code: (value, quant, "", "0.00") for code, (value, quant, _, _) in DAY1.items()}
    upstream.fake.nbk_days = {date(2026, 4, 4): flat, date(2026, 4, 5): flat}
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    usd = rates(await strip(client))["USD"]
    assert (usd["source"], usd["date"], usd["stale"], usd["trend"], usd["change"]) == (
        "nbk", "2026-04-05", False, "flat", 0.0
    )  # fmt: skip

    upstream.fake.fault["nbk"] = "503"  # a fresh replica on Sunday with NBK down: CBR's Saturday document
    other = await start_app(make_settings(breaker_cooldown=30))
    await other.app[REFRESHER].run_due()
    usd = rates(await strip(other))["USD"]
    assert (usd["source"], usd["date"], usd["stale"]) == ("cbr", "2026-04-04", False)
    assert upstream.fake.asked("/scripts/XML_daily.asp")[-1]["date_req"] == "05/04/2026"


async def test_documents_years_old_are_never_current_and_readyz_says_why(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    clock.now = at("2026-11-30 12:00")
    upstream.fake.nbk_days = {date(2023, 11, 30): DAY1}
    upstream.fake.cbr_published_through = date(2023, 11, 30)
    upstream.fake.local_time = "2026-11-27T12:00"  # Open-Meteo three days behind
    upstream.fake.met_no_age = timedelta(days=3)
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    body = await strip(client)
    assert all(item["stale"] for item in body["rates"] + body["weather"])
    assert all(item["rate"] is None for item in body["rates"])  # nothing from 2023 is shown at all
    assert all(item["temperature"] is not None for item in body["weather"])  # an old value, marked stale
    resp = await client.get("/readyz")
    assert resp.status == 503
    reasons = {s["source"]: s["reason"] for s in (await resp.json())["sources"]}
    assert "newest data dated 2023-11-30, today is 2026-11-30" in reasons["nbk"]
    assert "newest data dated 2023-11-30, today is 2026-11-30" in reasons["cbr"]
    assert "2026-11-27T07:00Z" in reasons["open_meteo"]


async def test_null_temperatures_never_blank_a_city_and_updated_at_is_never_in_the_future(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    first = await strip(client, "/v1/weather")
    assert [w["source"] for w in first["weather"]] == ["open_meteo", "open_meteo"]

    clock.advance(900)
    upstream.fake.temperatures = [None, 12.5]  # the model has nothing for Astana this time
    await run_due(client)
    body = await strip(client, "/v1/weather")
    astana, almaty = body["weather"]
    assert astana["temperature"] is not None and astana["stale"] is False  # kept, or met_no's at once
    assert almaty["temperature"] == 12.5
    assert upstream.fake.hits["met_no"] >= 1  # asked at once for the city Open-Meteo lacked
    for view in ("/v1/ticker", "/v1/weather", "/v1/weather?cities=astana", "/v1/ticker?cities=almaty"):
        resp = await client.get(view)
        updated = datetime.fromisoformat((await resp.json())["updated_at"].replace("Z", "+00:00"))
        assert updated <= clock.now, view


async def test_recovery_after_an_outage_at_start_up_within_the_cool_off(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        upstream.fake.fault[source] = "503"
    start = clock.now
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    asked = sum(upstream.fake.hits.values())
    clock.now = start + timedelta(seconds=15)
    upstream.fake.fault.clear()  # the network comes up
    assert await run_due(client) == []  # no storm while the breakers are open
    assert sum(upstream.fake.hits.values()) == asked
    clock.now = start + timedelta(seconds=31)
    await run_due(client)
    body = await strip(client)
    assert all(not item["stale"] for item in body["rates"] + body["weather"]), body
    assert (await client.get("/readyz")).status == 200


async def test_a_primary_far_from_the_cross_rate_is_named_but_stays_shown(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.rates = {**DAY1, "USD": ("512.40", 1, "UP", "+33.63")}
    # RUB per KZT 0.170358 (5.87 KZT per RUB, as NBK says); USD 80.0852 RUB = 470.10 KZT
    upstream.fake.cbr_rates = {"USD": (1, "80,0852"), "KZT": (100, "17,0358")}
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    assert rates(await strip(client))["USD"]["rate"] == 512.4
    ready = await (await client.get("/readyz")).json()
    assert ready["warnings"] == ["USD: nbk 512.40 vs cbr cross 470.10 (9.0 % apart)"]
    metrics = await (await client.get("/metrics")).text()
    line = next(x for x in metrics.splitlines() if x.startswith('ticker_rate_divergence_ratio{currency="USD"}'))
    assert abs(float(line.split()[-1]) - 0.08998) < 1e-4


async def test_max_age_never_outlives_the_rates_in_force(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings(breaker_cooldown=30))
    await run_due(client)
    assert "max-age=900," in (await client.get("/v1/rates")).headers["Cache-Control"]
    clock.now = at("2026-04-01 23:55")
    assert "max-age=300," in (await client.get("/v1/rates")).headers["Cache-Control"]


async def test_a_whole_day_of_the_default_nbk_schedule_stays_within_twenty_requests(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_date = None  # the same rates on every date
    clock.now = at("2026-04-01 00:00:10")
    settings = make_settings(rate_sources=["nbk"], nbk={"interval": 14400}, breaker_cooldown=30)
    client = await start_app(settings)
    known_next = None
    while clock.now < at("2026-04-02 00:00:10"):  # the scheduler's ticks, one a minute of fake time
        asked = upstream.fake.hits["nbk"]
        await run_due(client)
        fetched = known_next is None and upstream.fake.hits["nbk"] > asked
        if fetched and rates(await strip(client))["USD"]["next"] is not None:
            known_next = clock.now
        clock.advance(60)
    print("nbk requests in a day:", upstream.fake.hits["nbk"], "next known at", known_next)
    assert upstream.fake.hits["nbk"] <= 20, upstream.fake.hits["nbk"]
    assert known_next is not None and known_next <= at("2026-04-01 16:10")  # published at 16:00
    assert rates(await strip(client))["USD"]["date"] == "2026-04-02"


async def test_a_day_on_which_nbk_never_publishes_tomorrow_stays_within_twenty_requests(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_date = None
    clock.now = at("2026-04-01 00:00:10")
    upstream.fake.nbk_published_through = date(2026, 4, 1)  # tomorrow's never comes out today
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"interval": 14400}, breaker_cooldown=30))
    while clock.now < at("2026-04-01 23:59:10"):
        await run_due(client)
        clock.advance(60)
    print("nbk requests on a day without publication:", upstream.fake.hits["nbk"])
    assert 10 <= upstream.fake.hits["nbk"] <= 20, upstream.fake.hits["nbk"]  # it did keep asking, politely
    assert rates(await strip(client))["USD"]["next"] is None


def test_a_divergence_of_a_rate_under_one_tenge_is_written_with_its_digits() -> None:
    """NBK quotes the Iranian rial per one unit at a few ten-thousandths of a tenge: two decimals would read
    "nbk 0.00 vs cbr cross 0.00", which names no difference at all."""
    assert Divergence("IRR", "nbk", 0.00042, "cbr", 0.00038).describe() == (
        "IRR: nbk 0.00042 vs cbr cross 0.00038 (10.5 % apart)"
    )
    assert (
        Divergence("USD", "nbk", 512.4, "cbr", 470.1).describe() == "USD: nbk 512.40 vs cbr cross 470.10 (9.0 % apart)"
    )
