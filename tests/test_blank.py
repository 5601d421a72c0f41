"""No data, no caching: while a kind has no value at all (every rate null, or every temperature null), the embedding
routes answer 503 with ``no-store`` and ``Retry-After`` so that every cache in front keeps its last good copy, the
JSON answers 200 with the nulls but ``no-store``, and nothing hands a cache a 304 for that state. A partly filled strip
is served and cached as ever; data arriving ends the state (README "For pollers, embedders and proxies")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.web.appkeys import REFRESHER

Client = TestClient[Any, Any]
EMBEDDING = ("/v1/ticker.txt", "/v1/ticker.html")
JSON_VIEWS = ("/v1/ticker", "/v1/rates", "/v1/weather")


async def assert_unavailable(client: Client, route: str, kind: str) -> None:
    resp = await client.get(route)
    assert resp.status == 503, route
    assert resp.headers["Cache-Control"] == "no-store"
    assert int(resp.headers["Retry-After"]) > 0
    assert "ETag" not in resp.headers and "Last-Modified" not in resp.headers  # nothing to revalidate against
    body = await resp.json()
    assert body["status"] == 503 and kind in body["error"]
    # conditional requests change nothing: a cache holding a good copy never hears "still the same"
    for headers in ({"If-None-Match": "*"}, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}):
        assert (await client.get(route, headers=headers)).status == 503


@pytest.fixture
def failing(upstream: Upstreams) -> Upstreams:
    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        upstream.fake.fault[source] = "503"
    return upstream


async def test_before_any_value_the_embedding_routes_are_503_no_store(
    start_app: AppFactory, make_settings: SettingsFactory, failing: Upstreams
) -> None:
    client = await start_app(make_settings())
    for route in EMBEDDING:
        await assert_unavailable(client, route, "rates and weather")
        await assert_unavailable(client, route + "?currencies=USD&cities=almaty&lang=ru", "rates and weather")
    for source in ("nbk", "cbr", "open_meteo", "met_no"):  # every source answered (failing): still nothing
        await client.app[REFRESHER].run(source)
    for route in EMBEDDING:
        await assert_unavailable(client, route, "rates and weather")
    for route in JSON_VIEWS:
        resp = await client.get(route)
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        body = await resp.json()
        assert all(
            item.get("rate", item.get("temperature")) is None
            for item in body.get("rates", []) + body.get("weather", [])
        )
        assert (await client.get(route, headers={"If-None-Match": resp.headers["ETag"]})).status == 200


async def test_one_kind_without_any_value_is_enough(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.fault["open_meteo"] = "503"
    upstream.fake.fault["met_no"] = "503"
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("nbk") == "ok"
    await client.app[REFRESHER].run("open_meteo")
    for route in EMBEDDING:
        await assert_unavailable(client, route, "weather")
    assert (await client.get("/v1/ticker")).headers["Cache-Control"] == "no-store"
    assert (await client.get("/v1/weather")).headers["Cache-Control"] == "no-store"
    rates = await client.get("/v1/rates")  # the half that has values is kept as ever
    assert rates.status == 200 and rates.headers["Cache-Control"].startswith("public, max-age=")
    assert (await client.get("/v1/rates", headers={"If-None-Match": rates.headers["ETag"]})).status == 304


async def test_a_partly_filled_strip_is_served_and_cached_as_ever(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.temperatures = [None, 12.0]  # Astana null at Open-Meteo, MET Norway failing
    upstream.fake.fault["met_no"] = "503"
    upstream.fake.rates = {code: row for code, row in upstream.fake.rates.items() if code != "USD"}
    upstream.fake.fault["cbr"] = "503"
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("nbk") == "ok"
    await client.app[REFRESHER].run("open_meteo")
    for route in (*EMBEDDING, *JSON_VIEWS):
        resp = await client.get(route)
        assert resp.status == 200, route
        assert resp.headers["Cache-Control"].startswith("public, max-age="), route
        assert "Retry-After" not in resp.headers
        assert (await client.get(route, headers={"If-None-Match": resp.headers["ETag"]})).status == 304
    assert (await (await client.get("/v1/ticker.txt")).text()).startswith(
        "Astana: \u2013 °C  Almaty: 12 °C  USD \u2013"
    )


async def test_the_first_value_of_the_kind_ends_the_state(
    start_app: AppFactory, make_settings: SettingsFactory, failing: Upstreams, clock: FakeClock
) -> None:
    client = await start_app(make_settings())
    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        await client.app[REFRESHER].run(source)
    await assert_unavailable(client, "/v1/ticker.html", "rates and weather")
    clock.advance(3600)  # the next time slot of every source
    failing.fake.fault["nbk"] = "ok"
    assert await client.app[REFRESHER].run("nbk") == "ok"
    await assert_unavailable(client, "/v1/ticker.html", "weather")  # rates back, weather still wholly empty
    failing.fake.fault["open_meteo"] = "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    for route in (*EMBEDDING, *JSON_VIEWS):
        resp = await client.get(route)
        assert resp.status == 200, route
        assert resp.headers["Cache-Control"].startswith("public, max-age="), route
        assert "Retry-After" not in resp.headers
    text = await (await client.get("/v1/ticker.txt")).text()
    assert "\u2013" not in text and text.startswith("Astana: \u22123 °C")


async def test_a_partly_filled_strip_while_a_source_has_not_answered_is_revalidated_not_kept(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    """Not the blank state: some values shown, one item empty while the next source of its chain is still being asked:
    caches revalidate (no-cache), the routes answer 200."""
    upstream.fake.rates = {code: row for code, row in upstream.fake.rates.items() if code != "EUR"}  # NBK lacks EUR
    upstream.fake.fault["cbr"] = "hang"  # and CBR, asked for it at once, has not answered yet
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    fetching = asyncio.create_task(client.app[REFRESHER].run("nbk"))
    while not upstream.fake.asked("/scripts/XML_daily.asp"):
        upstream.fake.arrived.clear()
        await asyncio.wait_for(upstream.fake.arrived.wait(), 10)
    for route in (*EMBEDDING, *JSON_VIEWS[:2]):
        resp = await client.get(route)
        assert resp.status == 200, route
        assert resp.headers["Cache-Control"] == "no-cache", route
    assert "EUR \u2013" in await (await client.get("/v1/ticker.txt")).text()
    upstream.fake.release.set()
    await fetching
