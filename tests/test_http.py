"""The strip as a web product: validators and 304s, Cache-Control, codings, CORS, filters, errors."""

from __future__ import annotations

import gzip
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import brotli
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.app import REFRESHER

Client = TestClient[Any, Any]


@pytest.fixture
async def client(start_app: AppFactory, make_settings: SettingsFactory) -> Client:
    settings = make_settings(
        currencies=["USD", "EUR", "RUB"],
        cities=[
            {"id": "astana", "name": "Astana", "latitude": 51.1801, "longitude": 71.446,
             "names": {"ru": "Астана", "kk": "Астана"}},
            {"id": "almaty", "name": "Almaty", "latitude": 43.2565, "longitude": 76.9285,
             "names": {"ru": "Алматы", "kk": "Алматы"}},
        ],
    )  # fmt: skip
    started = await start_app(settings)
    await started.app[REFRESHER].run("nbk")
    await started.app[REFRESHER].run("open_meteo")
    return started


async def test_validators_and_conditional_requests(client: Client) -> None:
    first = await client.get("/v1/ticker")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")  # strong
    assert parsedate_to_datetime(last_modified).isoformat() == "2026-04-01T10:15:00+00:00"
    again = await client.get("/v1/ticker", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    assert "max-age" in again.headers["Cache-Control"]
    assert (await client.get("/v1/ticker", headers={"If-None-Match": '"other", ' + etag})).status == 304
    assert (await client.get("/v1/ticker", headers={"If-None-Match": '"other"'})).status == 200
    assert (await client.get("/v1/ticker", headers={"If-Modified-Since": last_modified})).status == 304
    earlier = format_datetime(parsedate_to_datetime(last_modified).replace(year=2025), usegmt=True)
    assert (await client.get("/v1/ticker", headers={"If-Modified-Since": earlier})).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    both = {"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    assert (await client.get("/v1/ticker", headers=both)).status == 200
    assert (await client.get("/v1/ticker", headers={"If-Modified-Since": "garbage"})).status == 200


async def test_cache_control_follows_the_interval_and_errors_are_not_stored(client: Client) -> None:
    ticker = (await client.get("/v1/ticker")).headers["Cache-Control"]
    assert ticker == "public, max-age=450, stale-while-revalidate=900, stale-if-error=86400"
    rates = (await client.get("/v1/rates")).headers["Cache-Control"]
    assert rates == "public, max-age=900, stale-while-revalidate=1800, stale-if-error=86400"
    for bad in ("/v1/ticker?currencies=XXX", "/nowhere", "/v1/ticker?foo=1"):
        resp = await client.get(bad)
        assert resp.status in (400, 404)
        assert resp.headers["Cache-Control"] == "no-store"


async def test_gzip_and_brotli_are_negotiated(client: Client) -> None:
    plain = await client.get("/v1/ticker", headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        resp = await client.get("/v1/ticker", headers={"Accept-Encoding": coding}, auto_decompress=False)
        assert resp.headers["Content-Encoding"] == coding
        assert resp.headers["Vary"] == "Accept-Encoding"
        assert decode(await resp.read()) == body
        assert resp.headers["ETag"] != plain.headers["ETag"]  # a different representation
        revalidate = {"Accept-Encoding": coding, "If-None-Match": resp.headers["ETag"]}
        assert (await client.get("/v1/ticker", headers=revalidate)).status == 304
    preferred = await client.get("/v1/ticker", headers={"Accept-Encoding": "gzip, br;q=0"}, auto_decompress=False)
    assert preferred.headers["Content-Encoding"] == "gzip"


async def test_cors_any_origin_by_default_with_exposed_validators(client: Client) -> None:
    resp = await client.get("/v1/ticker", headers={"Origin": "https://news.example.kz"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    exposed = resp.headers["Access-Control-Expose-Headers"]
    assert "ETag" in exposed
    assert "Last-Modified" in exposed
    preflight = await client.options(
        "/v1/ticker",
        headers={
            "Origin": "https://news.example.kz",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status == 204
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    error = await client.get("/v1/ticker?lang=xx", headers={"Origin": "https://news.example.kz"})
    assert error.headers["Access-Control-Allow-Origin"] == "*"  # pages can read our errors


async def test_cors_allow_list(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await start_app(make_settings(cors_origins=["https://news.example.kz"]))
    allowed = await client.get("/v1/ticker", headers={"Origin": "https://news.example.kz"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example.kz"
    assert "Origin" in allowed.headers["Vary"]
    other = await client.get("/v1/ticker", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = await client.options("/v1/ticker", headers={"Origin": "https://evil.example"})
    assert preflight.status == 403
    assert (await preflight.json())["allowed"] == ["https://news.example.kz"]


async def test_filters_keep_the_asked_order_and_lang_localizes(client: Client) -> None:
    body = await (await client.get("/v1/ticker?currencies=rub,USD&cities=almaty&lang=ru")).json()
    assert [r["currency"] for r in body["rates"]] == ["RUB", "USD"]
    assert [(w["city"], w["name"]) for w in body["weather"]] == [("almaty", "Алматы")]
    rates = await (await client.get("/v1/rates?currencies=EUR")).json()
    assert list(rates) == ["updated_at", "rates"]
    assert [r["currency"] for r in rates["rates"]] == ["EUR"]
    weather = await (await client.get("/v1/weather?lang=kk&cities=astana")).json()
    assert list(weather) == ["updated_at", "weather"]
    assert weather["weather"][0]["name"] == "Астана"


@pytest.mark.parametrize(
    ("query", "parameter", "allowed"),
    [
        ("currencies=GBP", "currencies", ["USD", "EUR", "RUB"]),
        ("currencies=", "currencies", ["USD", "EUR", "RUB"]),
        ("currencies=USD,,EUR", "currencies", ["USD", "EUR", "RUB"]),
        ("cities=paris", "cities", ["astana", "almaty"]),
        ("lang=de", "lang", ["en", "ru", "kk"]),
        ("callback=f", "callback", ["currencies", "cities", "lang"]),  # no JSONP
        ("lang=ru&lang=kk", "lang", ["en", "ru", "kk"]),
    ],
)
async def test_bad_parameters_get_400_naming_what_is_allowed(
    client: Client, query: str, parameter: str, allowed: list[str]
) -> None:
    for route in ("/v1/ticker", "/v1/rates", "/v1/weather", "/v1/stream"):
        resp = await client.get(f"{route}?{query}")
        assert resp.status == 400
        assert resp.content_type == "application/json"
        body = await resp.json()
        assert body["parameter"] == parameter
        assert body["allowed"] == allowed


async def test_a_refresh_with_new_values_changes_etag_and_last_modified(
    client: Client, clock: FakeClock, upstream: Upstreams
) -> None:
    before = await client.get("/v1/rates")
    clock.advance(1800)
    upstream.fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
    await client.app[REFRESHER].run("nbk")
    after = await client.get("/v1/rates")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) > parsedate_to_datetime(
        before.headers["Last-Modified"]
    )
    assert (await client.get("/v1/rates", headers={"If-None-Match": before.headers["ETag"]})).status == 200
    assert (await after.json())["updated_at"] == "2026-04-01T10:45:00Z"


async def test_head_is_answered_without_a_body(client: Client) -> None:
    resp = await client.head("/v1/ticker")
    assert resp.status == 200
    assert "ETag" in resp.headers
    assert await resp.read() == b""


async def test_metrics_count_requests_and_fetches(client: Client) -> None:
    await client.get("/v1/ticker")
    await client.get("/v1/ticker?lang=xx")
    text = await (await client.get("/metrics")).text()
    assert 'ticker_http_requests_total{route="/v1/ticker",status="200"}' in text
    assert 'ticker_http_requests_total{route="/v1/ticker",status="400"}' in text
    assert 'ticker_fetches_total{outcome="ok",source="nbk"}' in text
    assert 'ticker_data_age_seconds{source="nbk"} 0.0' in text
    assert "ticker_fetch_duration_seconds_bucket" in text
    assert "ticker_store_up 1.0" in text


async def test_readyz_reports_each_source(client: Client, clock: FakeClock) -> None:
    clock.advance(60)
    body = await (await client.get("/readyz")).json()
    assert body["ready"] is True
    assert body["store"] == "memory"
    sources = {s["source"]: s for s in body["sources"]}
    assert sources["nbk"]["age_seconds"] == 60
    assert sources["nbk"]["items"] == 3
    assert sources["cbr"]["items"] == 0
    assert sources["cbr"]["stale"] is True


async def test_last_modified_and_updated_at_move_forward_whenever_the_body_changes(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    """nbk -> (nbk stale) cbr -> nbk again: three bodies, three ever later Last-Modified values."""
    client = await start_app(make_settings(nbk={"interval": 60}, cbr={"interval": 60}))
    refresher = client.app[REFRESHER]
    seen = []

    async def look() -> None:
        client.app[REFRESHER].snapshot.invalidate()  # what the stale timer does at a deadline
        resp = await client.get("/v1/rates?currencies=USD", headers={"Accept-Encoding": "identity"})
        body = await resp.json()
        seen.append(
            (body["rates"][0]["source"], resp.headers["ETag"], resp.headers["Last-Modified"], body["updated_at"])
        )

    await refresher.run("nbk")
    await look()
    upstream.fake.fault["nbk"] = "500"
    clock.advance(60)
    assert await refresher.run("nbk") == "failed"  # cbr fetched at once; nbk still fresh
    clock.advance(130)  # nbk's 180 s have passed: cbr shows
    await look()
    upstream.fake.fault["nbk"] = "ok"
    assert await refresher.run("nbk") == "ok"  # same value as before it failed: back to nbk
    await look()
    assert [source for source, *_ in seen] == ["nbk", "cbr", "nbk"]
    assert len({etag for _, etag, *_ in seen}) == 3
    modified = [parsedate_to_datetime(lm) for _, _, lm, _ in seen]
    assert modified[0] < modified[1] < modified[2]
    assert seen[0][3] < seen[1][3] < seen[2][3]
    # a cache holding the cbr body revalidates by date and gets the new body, not a 304
    revalidate = {"If-Modified-Since": seen[1][2]}
    assert (await client.get("/v1/rates?currencies=USD", headers=revalidate)).status == 200
