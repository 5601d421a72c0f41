"""The HTTP API against a running app, fed by fake upstreams over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.app import REFRESHER


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def test_before_any_data_every_item_is_null_and_stale(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    client = await start_app(make_settings())
    resp = await client.get("/v1/ticker")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = await resp.json()
    assert body["updated_at"] is None
    assert [w["city"] for w in body["weather"]] == ["astana", "almaty"]
    assert [r["currency"] for r in body["rates"]] == ["USD", "EUR", "RUB", "CNY"]
    assert all(item["stale"] and item["source"] is None for item in body["weather"] + body["rates"])
    assert all(r["rate"] is None and r["trend"] is None for r in body["rates"])
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert "no rates data yet" in (await ready.json())["reason"]
    assert (await client.get("/healthz")).status == 200


async def test_after_a_fetch_the_strip_carries_normalised_values(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(currencies=["USD", "KRW", "RUB"]))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    body = await (await client.get("/v1/ticker")).json()
    rates = by(body["rates"], "currency")
    assert list(rates) == ["USD", "KRW", "RUB"]
    assert rates["USD"] == {
        "currency": "USD", "rate": 478.77, "change": -2.77, "trend": "down",
        "date": "2026-04-01", "source": "nbk", "stale": False,
    }  # fmt: skip
    assert rates["KRW"]["rate"] == 0.3129 and rates["KRW"]["change"] == -0.0047
    assert rates["RUB"]["trend"] == "flat"
    weather = by(body["weather"], "city")
    assert weather["astana"] == {
        "city": "astana", "name": "Astana", "temperature": -3.4, "unit": "°C",
        "observed_at": "2026-04-01T10:15:00Z", "source": "open_meteo", "stale": False,
    }  # fmt: skip
    assert weather["almaty"]["temperature"] == 12.0
    assert body["updated_at"] == "2026-04-01T10:15:00Z"
    assert (await client.get("/readyz")).status == 200
    # one request carried every city
    assert upstream.fake.hits["open_meteo"] == 1


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


async def test_items_turn_stale_after_stale_after_and_fresh_again_on_a_fetch(
    start_app: AppFactory, make_settings: SettingsFactory, clock: FakeClock
) -> None:
    client = await start_app(make_settings(nbk={"interval": 60, "stale_after": 120}))
    refresher = client.app[REFRESHER]
    await refresher.run("nbk")
    clock.advance(119)
    client.app[REFRESHER].snapshot.invalidate()
    assert not (await (await client.get("/v1/rates")).json())["rates"][0]["stale"]
    clock.advance(2)
    client.app[REFRESHER].snapshot.invalidate()  # what the stale timer does at the deadline
    rates = (await (await client.get("/v1/rates")).json())["rates"]
    assert rates[0]["stale"] and rates[0]["rate"] == 478.77  # last good value kept, marked stale
    await refresher.run("nbk")
    assert not (await (await client.get("/v1/rates")).json())["rates"][0]["stale"]


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


async def test_handlers_never_call_an_upstream(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings())
    for path in ("/v1/ticker", "/v1/rates", "/v1/weather", "/readyz", "/healthz"):
        await client.get(path)
    assert sum(upstream.fake.hits.values()) == 0


async def test_the_stale_flip_rebuilds_the_snapshot_by_itself(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    import asyncio

    from ticker.appkeys import SNAPSHOT
    from ticker.snapshot import utcnow

    client = await start_app(make_settings(nbk={"interval": 1, "stale_after": 1}), clock=utcnow)
    await client.app[REFRESHER].run("nbk")
    before = await (await client.get("/v1/rates")).json()
    assert before["rates"][0]["stale"] is False
    await asyncio.wait_for(client.app[SNAPSHOT].changed(), 5)  # the timer armed for the deadline fires
    after = await client.get("/v1/rates")
    assert (await after.json())["rates"][0]["stale"] is True
    assert after.headers["Last-Modified"] != ""
