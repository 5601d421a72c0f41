"""The HTTP API against a running app, fed by fake upstreams over real HTTP, all on one driven clock.

The clock starts at 2026-04-01T10:15Z, 15:15 in Astana (UTC+5): today's rates are in force until Astana
midnight, 2026-04-01T19:00Z; a temperature is current until its own observed_at + its source's STALE_AFTER.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.web.appkeys import REFRESHER, SNAPSHOT


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_before_any_data_every_item_is_null_and_stale(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    client = await start_app(make_settings())
    resp = await client.get("/v1/ticker")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"  # no source has answered yet: caches revalidate
    assert "Last-Modified" not in resp.headers
    body = await resp.json()
    assert body["updated_at"] is None
    assert [w["city"] for w in body["weather"]] == ["astana", "almaty"]
    assert [r["currency"] for r in body["rates"]] == ["USD", "EUR", "RUB", "CNY"]
    items = body["weather"] + body["rates"]
    assert all(item["stale"] and item["source"] is None and item["stale_at"] is None for item in items)
    assert all(r["rate"] is None and r["trend"] is None and r["next"] is None for r in body["rates"])
    ready = await client.get("/readyz")
    assert ready.status == 503
    readiness = await ready.json()
    assert readiness["reason"] == "no current rates data yet; no current weather data yet"
    assert readiness["tasks_down"] == [] and readiness["warnings"] == []
    assert {s["source"]: s["reason"] for s in readiness["sources"]} == {
        "nbk": "no data yet", "cbr": "no data yet", "open_meteo": "no data yet", "met_no": "no data yet",
    }  # fmt: skip
    assert (await client.get("/healthz")).status == 200


async def test_after_a_fetch_the_strip_carries_normalised_values_and_when_they_turn_stale(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(currencies=["USD", "KRW", "RUB"], open_meteo={"stale_after": 3600}))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    body = await (await client.get("/v1/ticker")).json()
    rates = by(body["rates"], "currency")
    assert list(rates) == ["USD", "KRW", "RUB"]
    assert rates["USD"] == {
        "currency": "USD", "rate": 478.77, "change": -2.77, "trend": "down", "date": "2026-04-01",
        "source": "nbk", "stale": False, "stale_at": "2026-04-01T19:00:00Z", "next": None,
    }  # fmt: skip
    assert rates["KRW"]["rate"] == 0.3129 and rates["KRW"]["change"] == -0.0047
    assert rates["RUB"]["trend"] == "flat"
    weather = by(body["weather"], "city")
    assert weather["astana"] == {
        "city": "astana", "name": "Astana", "temperature": -3.4, "unit": "°C",
        "observed_at": "2026-04-01T10:15:00Z", "source": "open_meteo", "stale": False,
        "stale_at": "2026-04-01T11:30:00Z",  # observed at 15:15 Astana, current for an hour
        "condition": "snow",  # WMO 71, the fake's first code
    }  # fmt: skip
    assert weather["almaty"]["temperature"] == 12.0
    assert body["updated_at"] == "2026-04-01T10:15:00Z"
    ready = await client.get("/readyz")
    assert ready.status == 200
    readiness = await ready.json()
    assert readiness["reason"] is None
    reports = by(readiness["sources"], "source")
    assert reports["nbk"]["stale"] is False and reports["nbk"]["reason"] is None
    assert upstream.fake.hits["open_meteo"] == 1  # one request carried every city


async def test_a_refresh_with_the_same_values_changes_nothing_in_the_body(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.local_time = "2026-04-01T15:15"  # the same observation, though the clock moves on
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    await refresher.run("nbk")
    await refresher.run("open_meteo")
    first = await client.get("/v1/ticker")
    body = await first.read()
    clock.advance(1800)
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    second = await client.get("/v1/ticker")
    assert await second.read() == body
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Last-Modified"] == first.headers["Last-Modified"] == "Wed, 01 Apr 2026 10:15:00 GMT"


async def test_a_temperature_turns_stale_when_its_observation_is_older_than_stale_after(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    """By the observation's own time, not by when it was fetched: a fresh fetch of an old value is stale."""
    upstream.fake.local_time = "2026-04-01T15:15"  # observed at 10:15Z
    upstream.fake.fault["met_no"] = "500"  # the fallback has nothing to offer
    client = await start_app(make_settings(open_meteo={"interval": 600, "stale_after": 1200}))
    refresher, snapshot = client.app[REFRESHER], client.app[SNAPSHOT]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"

    async def astana() -> tuple[dict[str, Any], dict[str, Any]]:
        snapshot.invalidate()  # what the snapshot's timer does at each stale_at
        resp = await client.get("/v1/weather?cities=astana")
        body = await resp.json()
        return body["weather"][0], {"updated_at": body["updated_at"], "last_modified": resp.headers["Last-Modified"]}

    clock.now = datetime(2026, 4, 1, 10, 49, 59, tzinfo=UTC)
    item, _ = await astana()
    assert item["stale"] is False and item["stale_at"] == "2026-04-01T10:50:00Z"
    clock.now = datetime(2026, 4, 1, 10, 50, 0, tzinfo=UTC)
    item, times = await astana()
    assert item["stale"] is True
    assert item["temperature"] == -3.4 and item["source"] == "open_meteo"  # the last good value stays
    assert item["stale_at"] == "2026-04-01T10:50:00Z"
    # what the body shows changed at the flip: that instant, not a fetch time, not later
    assert times == {"updated_at": "2026-04-01T10:50:00Z", "last_modified": "Wed, 01 Apr 2026 10:50:00 GMT"}

    # asked again, Open-Meteo answers the same old observation: fetched now, still not current
    clock.advance(60)
    assert await refresher.run("open_meteo") == "failed"
    item, _ = await astana()
    assert item["stale"] is True and item["temperature"] == -3.4
    reason = by((await (await client.get("/readyz")).json())["sources"], "source")["open_meteo"]["reason"]
    assert reason.startswith("newest observation 2026-04-01T10:15Z")

    # a newer observation makes it current again
    upstream.fake.local_time = "2026-04-01T15:30"
    clock.advance(1)
    assert await refresher.run("open_meteo") == "ok"
    item, times = await astana()
    assert item["stale"] is False and item["observed_at"] == "2026-04-01T10:30:00Z"
    assert item["stale_at"] == "2026-04-01T11:05:00Z"
    assert times["updated_at"] == "2026-04-01T10:51:01Z"


async def test_rates_turn_stale_at_astana_midnight_whenever_they_were_fetched(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.fault["cbr"] = "500"  # no fallback: what nbk held is what is shown
    client = await start_app(make_settings(currencies=["USD"]))
    refresher, snapshot = client.app[REFRESHER], client.app[SNAPSHOT]
    clock.now = datetime(2026, 4, 1, 18, 59, 0, tzinfo=UTC)  # 23:59 Astana: fetched a minute before midnight
    assert await refresher.run("nbk") == "ok"
    clock.now = datetime(2026, 4, 1, 18, 59, 59, tzinfo=UTC)
    snapshot.invalidate()
    usd = (await (await client.get("/v1/rates")).json())["rates"][0]
    assert usd["stale"] is False and usd["stale_at"] == "2026-04-01T19:00:00Z"
    clock.now = datetime(2026, 4, 1, 19, 0, 0, tzinfo=UTC)  # 00:00 on 2 April in Astana
    snapshot.invalidate()
    resp = await client.get("/v1/rates")
    body = await resp.json()
    usd = body["rates"][0]
    assert usd["stale"] is True and usd["rate"] == 478.77 and usd["date"] == "2026-04-01"
    assert body["updated_at"] == "2026-04-01T19:00:00Z"
    # NBK's document for 2 April: current again, until the next midnight
    upstream.fake.nbk_date = None  # the same rates on every date
    clock.advance(120)
    assert await refresher.run("nbk") == "ok"
    usd = (await (await client.get("/v1/rates")).json())["rates"][0]
    assert usd["stale"] is False and usd["date"] == "2026-04-02" and usd["stale_at"] == "2026-04-02T19:00:00Z"


async def test_tomorrows_rate_is_next_until_midnight_then_the_rate_without_a_fetch(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.fault["cbr"] = "500"
    upstream.fake.nbk_days = {
        datetime(2026, 4, 1).date(): dict(upstream.fake.rates),
        datetime(2026, 4, 2).date(): {**upstream.fake.rates, "USD": ("479.10", 1, "UP", "+0.33")},
    }
    client = await start_app(make_settings(currencies=["USD"], nbk={"interval": 14400}))
    refresher, snapshot = client.app[REFRESHER], client.app[SNAPSHOT]
    assert await refresher.run("nbk") == "ok"
    usd = (await (await client.get("/v1/rates")).json())["rates"][0]
    assert usd["next"] is None  # 15:15 Astana: NBK has not published tomorrow's rate
    clock.now = datetime(2026, 4, 1, 11, 30, tzinfo=UTC)  # 16:30 Astana: published at 16:00
    await refresher.run_due()  # the scheduler's tick: tomorrow's rates are asked for
    assert upstream.fake.asked("/rss/get_rates.cfm")[-1] == {"fdate": "02.04.2026"}
    usd = (await (await client.get("/v1/rates")).json())["rates"][0]
    assert usd["rate"] == 478.77 and usd["date"] == "2026-04-01" and usd["stale"] is False
    assert usd["next"] == {"rate": 479.1, "change": 0.33, "trend": "up", "date": "2026-04-02"}
    hits = upstream.fake.hits["nbk"]
    clock.now = datetime(2026, 4, 1, 19, 0, 0, tzinfo=UTC)
    snapshot.invalidate()
    resp = await client.get("/v1/rates")
    body = await resp.json()
    usd = body["rates"][0]
    assert (usd["rate"], usd["date"], usd["stale"], usd["next"]) == (479.1, "2026-04-02", False, None)
    assert usd["stale_at"] == "2026-04-02T19:00:00Z"
    assert body["updated_at"] == "2026-04-01T19:00:00Z"
    assert upstream.fake.hits["nbk"] == hits  # switched in at midnight by time alone


async def test_errors_are_json_with_the_right_status(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await start_app(make_settings())
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.headers["Cache-Control"] == "no-store"
    assert (await resp.json())["status"] == 404
    resp = await client.post("/v1/ticker")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert (await resp.json())["status"] == 405


async def test_handlers_never_call_an_upstream_even_when_a_fetch_is_due(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    clock.advance(86400)  # a day later everything is stale and every source is due
    client.app[SNAPSHOT].invalidate()
    assert refresher.due("nbk") is not None and refresher.due("open_meteo") is not None
    hits = sum(upstream.fake.hits.values())
    for path in ("/v1/ticker", "/v1/rates", "/v1/weather", "/v1/ticker?currencies=USD&cities=almaty",
                 "/readyz", "/healthz", "/metrics", "/openapi.json"):  # fmt: skip
        assert (await client.get(path)).status < 500
    stream = await client.get("/v1/stream")
    assert (await asyncio.wait_for(stream.content.readline(), 10)).startswith(b"retry:")
    stream.close()
    assert sum(upstream.fake.hits.values()) == hits
    assert all(item["stale"] for item in (await (await client.get("/v1/rates")).json())["rates"])
    # the same counter does see the refresher's requests
    await refresher.run_due()
    assert sum(upstream.fake.hits.values()) > hits


async def test_the_snapshots_timer_rebuilds_the_strip_when_a_value_turns_stale(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    """No request, no fetch: the timer armed for the next stale_at invalidates the snapshot by itself."""
    upstream.fake.local_time = (
        "2026-04-01T15:15"  # observed at 10:15Z, stale at 10:50Z (observed_at + its 900 s slot + 1200 s grace)
    )
    client = await start_app(make_settings(open_meteo={"interval": 600, "stale_after": 1200}))
    snapshot = client.app[SNAPSHOT]
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    clock.now = datetime(2026, 4, 1, 10, 49, 59, 900000, tzinfo=UTC)  # a tenth of a second before stale_at
    snapshot.invalidate()  # re-arms the timer from this clock: it fires a moment from now
    changed = snapshot.changed
    before = await client.get("/v1/weather?cities=astana")
    assert (await before.json())["weather"][0]["stale"] is False
    clock.now = datetime(2026, 4, 1, 10, 50, 1, tzinfo=UTC)
    await asyncio.wait_for(changed.wait(), 10)  # a bound, not a timing: only the armed timer sets it
    after = await client.get("/v1/weather?cities=astana")
    body = await after.json()
    assert body["weather"][0]["stale"] is True
    assert body["updated_at"] == "2026-04-01T10:50:00Z"
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == at("2026-04-01T10:50:00Z")
    assert after.headers["ETag"] != before.headers["ETag"]


async def test_readyz_stays_ready_when_an_upstream_answers_the_observation_that_went_stale(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    """Data that was current when stored keeps /readyz at 200 when it turns stale (a stale strip beats no
    strip), also after the upstream answers that same old observation again."""
    upstream.fake.local_time = "2026-04-01T15:15"  # observed at 10:15Z, current until 10:50Z
    upstream.fake.fault["met_no"] = "500"
    client = await start_app(make_settings(open_meteo={"interval": 600, "stale_after": 1200}))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    clock.now = datetime(2026, 4, 1, 10, 55, tzinfo=UTC)
    ready = await client.get("/readyz")
    assert ready.status == 200  # turned stale by time alone: still ready
    assert by((await ready.json())["sources"], "source")["open_meteo"]["stale"] is True
    assert await refresher.run("open_meteo") == "failed"  # the same observation, now too old
    ready = await client.get("/readyz")
    body = await ready.json()
    assert (ready.status, body["ready"], body["reason"]) == (200, True, None), body


async def test_readyz_stays_ready_when_nbk_answers_yesterdays_document_after_midnight(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.fault["cbr"] = "500"
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    clock.now = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)  # 08:00 Astana; NBK still serves 1 April's document
    assert (await client.get("/readyz")).status == 200
    assert await refresher.run("nbk") == "failed"  # "newest data dated 2026-04-01, today is 2026-04-02"
    resp = await client.get("/readyz")
    body = await resp.json()
    assert (resp.status, body["reason"]) == (200, None), body
    nbk = by(body["sources"], "source")["nbk"]
    assert nbk["stale"] is True and nbk["reason"].startswith("newest data dated 2026-04-01, today is 2026-04-02")
