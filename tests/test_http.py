"""The strip as a web product: validators and 304s, Cache-Control, codings, CORS, filters, errors."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import brotli
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.settings import Settings
from ticker.web.appkeys import REFRESHER, RESPONDER, SNAPSHOT

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
    # q is read wherever it stands among the parameters: a refused coding is never sent
    refused = await client.get("/v1/ticker", headers={"Accept-Encoding": "gzip;level=1;q=0"}, auto_decompress=False)
    assert "Content-Encoding" not in refused.headers


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


async def test_origins_a_client_makes_up_never_grow_the_header_sets_kept(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    """Header sets are kept per allowed origin only: a client sending a new Origin on every request (a scanner, a
    bot) must not grow the process's memory by one kept set per request. White-box on purpose: the only place
    this can be seen is what the responder keeps."""
    client = await start_app(make_settings(cors_origins=["https://news.example.kz"]))
    responder = client.app[RESPONDER]
    for n in range(50):
        resp = await client.get("/v1/ticker", headers={"Origin": f"https://made-up-{n}.example"})
        assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers
    allowed = await client.get("/v1/ticker", headers={"Origin": "https://news.example.kz"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example.kz"
    assert len(responder._variants) == 2  # one set without an origin, one for the allowed one


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


async def test_readyz_reports_each_source_and_why_it_holds_nothing_current(
    client: Client, clock: FakeClock, upstream: Upstreams
) -> None:
    clock.advance(60)
    body = await (await client.get("/readyz")).json()
    assert (body["ready"], body["reason"], body["store"]) == (True, None, "memory")
    assert body["tasks_down"] == [] and body["warnings"] == []
    sources = {s["source"]: s for s in body["sources"]}
    assert sources["nbk"]["age_seconds"] == 60
    assert sources["nbk"]["items"] == 3
    assert (sources["nbk"]["stale"], sources["nbk"]["reason"]) == (False, None)
    assert sources["cbr"]["items"] == 3  # standing by, asked for the cross-check
    assert sources["open_meteo"]["stale"] is False
    assert (sources["met_no"]["items"], sources["met_no"]["stale"]) == (0, True)
    assert sources["met_no"]["reason"] == "no data yet"  # never needed, never asked

    # the next morning in Astana, with both rate sources down: yesterday's rates are all there is
    upstream.fake.fault.update(nbk="500", cbr="500")
    clock.now = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)  # 08:00 Astana
    assert await client.app[REFRESHER].run("nbk") == "failed"
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200 and body["ready"] is True  # it was current when stored: a stale strip beats none
    nbk = {s["source"]: s for s in body["sources"]}["nbk"]
    assert nbk["stale"] is True and nbk["failures"] == 1
    assert nbk["reason"] == (
        "newest data dated 2026-04-01, today is 2026-04-02; last error: UpstreamStatusError: upstream answered HTTP 500"
    )
    assert nbk["open_until"] is not None


async def test_no_store_while_a_kind_has_no_value_and_an_item_no_source_has_does_not_stop_caching(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.temperatures = [-3.4, None]  # the model has no value for Almaty
    upstream.fake.fault["met_no"] = "500"  # and the fallback has none either
    client = await start_app(make_settings(currencies=["USD"]))
    refresher = client.app[REFRESHER]
    for view in ("ticker", "rates", "weather"):  # no value at all: nothing a cache should keep (test_blank.py)
        assert (await client.get(f"/v1/{view}")).headers["Cache-Control"] == "no-store"
    assert await refresher.run("nbk") == "ok"
    assert (await client.get("/v1/rates")).headers["Cache-Control"] == (
        "public, max-age=900, stale-while-revalidate=1800, stale-if-error=86400"
    )
    # the weather half is still wholly empty: never kept
    assert (await client.get("/v1/weather")).headers["Cache-Control"] == "no-store"
    assert (await client.get("/v1/ticker")).headers["Cache-Control"] == "no-store"
    assert (await client.get("/v1/ticker?cities=astana")).headers["Cache-Control"] == "no-store"
    assert await refresher.run("open_meteo") == "ok"  # Almaty null: met_no is asked for it at once, and fails
    assert upstream.fake.asked("/weatherapi/locationforecast/2.0/compact")
    weather = await client.get("/v1/weather")
    almaty = (await weather.json())["weather"][1]
    assert (almaty["city"], almaty["temperature"], almaty["stale"]) == ("almaty", None, True)
    # every source of the chain has answered once: an item none of them can supply does not turn caching off
    assert weather.headers["Cache-Control"] == "public, max-age=450, stale-while-revalidate=900, stale-if-error=86400"
    assert (await client.get("/v1/ticker")).headers["Cache-Control"].startswith("public, max-age=")


async def test_max_age_never_outlives_the_earliest_stale_at(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 1, 18, 55, tzinfo=UTC)  # 23:55 Astana: today's rates have five minutes left
    client = await start_app(make_settings(currencies=["USD"]))
    refresher = client.app[REFRESHER]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    rates = await client.get("/v1/rates")
    assert (await rates.json())["rates"][0]["stale_at"] == "2026-04-01T19:00:00Z"
    assert rates.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=1800, stale-if-error=86400"
    ticker = await client.get("/v1/ticker")
    assert ticker.headers["Cache-Control"].startswith("public, max-age=300,")
    weather = await client.get("/v1/weather")  # observed 18:45Z, current until 19:30Z: its own 450 s stand
    assert weather.headers["Cache-Control"].startswith("public, max-age=450,")
    clock.advance(100)  # the same body a little later: the header counts down, it is not cached with the body
    later = await client.get("/v1/rates")
    assert later.headers["ETag"] == rates.headers["ETag"]
    assert later.headers["Cache-Control"].startswith("public, max-age=200,")
    revalidated = await client.get("/v1/rates", headers={"If-None-Match": rates.headers["ETag"]})
    assert revalidated.status == 304
    assert revalidated.headers["Cache-Control"].startswith("public, max-age=200,")
    clock.now = datetime(2026, 4, 1, 18, 59, 59, tzinfo=UTC)
    assert (await client.get("/v1/rates")).headers["Cache-Control"].startswith("public, max-age=1,")


async def test_default_max_age_is_900_for_rates_and_450_for_the_strip(
    start_app: AppFactory, upstream: Upstreams
) -> None:
    sections: dict[str, Any] = {name: {"base_url": upstream.url} for name in ("nbk", "cbr", "open_meteo", "met_no")}
    sections["met_no"]["user_agent"] = "ticker-tests/1.0 tests@example.kz"
    client = await start_app(Settings(**sections))  # the default intervals: nbk and cbr 14400, open_meteo 900
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    assert (await client.get("/v1/rates")).headers["Cache-Control"] == (
        "public, max-age=900, stale-while-revalidate=1800, stale-if-error=86400"
    )
    assert (await client.get("/v1/ticker")).headers["Cache-Control"] == (
        "public, max-age=450, stale-while-revalidate=900, stale-if-error=86400"
    )


@dataclass
class Watch:
    """GETs views and checks, at every look, that updated_at and Last-Modified are one instant, never in the
    future by the app's clock, and never earlier than the view showed before."""

    client: Client
    clock: FakeClock
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def look(self, path: str) -> dict[str, Any]:
        self.client.app[SNAPSHOT].invalidate()  # what the snapshot's timer does at each stale_at and midnight
        resp = await self.client.get(path, headers={"Accept-Encoding": "identity"})
        body = await resp.json()
        modified = parsedate_to_datetime(resp.headers["Last-Modified"])
        updated = datetime.fromisoformat(body["updated_at"].replace("Z", "+00:00"))
        assert modified == updated, (path, resp.headers["Last-Modified"], body["updated_at"])
        assert updated <= self.clock.now, f"{path}: updated_at {updated} is after now {self.clock.now}"
        history = self.seen.setdefault(path, [])
        if history:
            assert updated >= history[-1]["at"], f"{path}: updated_at moved back from {history[-1]['at']}"
            if resp.headers["ETag"] != history[-1]["etag"]:
                assert updated > history[-1]["at"], f"{path}: a new body kept Last-Modified {updated}"
        seen = {"at": updated, "etag": resp.headers["ETag"], "last_modified": resp.headers["Last-Modified"], **body}
        history.append(seen)
        return seen


async def test_last_modified_moves_forward_across_a_source_switch_in_every_view(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    """nbk -> (nbk failing after midnight) cbr -> nbk again: ever later Last-Modified in every view."""
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    watch = Watch(client, clock)
    views = ("/v1/rates?currencies=USD", "/v1/rates?currencies=EUR", "/v1/rates", "/v1/ticker")

    async def look_all() -> dict[str, Any]:
        for view in views:
            await watch.look(view)
        return watch.seen[views[0]][-1]

    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    first = await look_all()
    assert (first["rates"][0]["source"], first["updated_at"]) == ("nbk", "2026-04-01T10:15:00Z")
    clock.now = datetime(2026, 4, 1, 19, 0, 30, tzinfo=UTC)  # half a minute into 2 April in Astana
    midnight = await look_all()
    assert midnight["rates"][0]["stale"] is True and midnight["updated_at"] == "2026-04-01T19:00:00Z"

    upstream.fake.fault["nbk"] = "500"
    clock.now = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)  # 08:00 Astana
    assert await refresher.run("nbk") == "failed"  # and cbr is asked for the day at once
    fallback = await look_all()
    usd = fallback["rates"][0]
    assert (usd["source"], usd["date"], usd["stale"]) == ("cbr", "2026-04-02", False)
    assert fallback["updated_at"] == "2026-04-02T03:00:00Z"

    upstream.fake.fault["nbk"] = "ok"
    upstream.fake.nbk_date = None  # NBK's document for every date, 2 April's included
    clock.now = datetime(2026, 4, 2, 3, 30, tzinfo=UTC)
    assert await refresher.run("nbk") == "ok"
    back = await look_all()
    assert (back["rates"][0]["source"], back["updated_at"]) == ("nbk", "2026-04-02T03:30:00Z")
    # a cache holding the cbr body revalidates by date and gets the new body, not a 304
    revalidate = {"If-Modified-Since": fallback["last_modified"]}
    assert (await client.get("/v1/rates?currencies=USD", headers=revalidate)).status == 200


async def test_null_temperatures_never_blank_a_city_nor_move_updated_at_ahead(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.fault["met_no"] = "500"
    client = await start_app(make_settings())
    refresher = client.app[REFRESHER]
    watch = Watch(client, clock)
    views = ("/v1/weather?cities=astana", "/v1/weather?cities=almaty", "/v1/weather", "/v1/ticker?cities=astana")
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"  # observed 10:15Z, current until 11:00Z
    for view in views:
        await watch.look(view)

    upstream.fake.temperatures = [None, 12.5]  # Open-Meteo answers null for Astana
    clock.now = datetime(2026, 4, 1, 10, 45, tzinfo=UTC)
    assert await refresher.run("open_meteo") == "ok"
    astana = await watch.look("/v1/weather?cities=astana")
    assert (astana["weather"][0]["temperature"], astana["weather"][0]["stale"]) == (-3.4, False)
    assert astana["updated_at"] == "2026-04-01T10:15:00Z"  # nothing it shows changed
    almaty = await watch.look("/v1/weather?cities=almaty")
    assert almaty["weather"][0]["temperature"] == 12.5 and almaty["updated_at"] == "2026-04-01T10:45:00Z"
    assert (await watch.look("/v1/weather"))["updated_at"] == "2026-04-01T10:45:00Z"
    await watch.look("/v1/ticker?cities=astana")

    clock.now = datetime(2026, 4, 1, 11, 0, tzinfo=UTC)  # Astana's last value turns stale; still null upstream
    for view in views:
        await watch.look(view)
    astana = watch.seen["/v1/weather?cities=astana"][-1]
    assert astana["weather"][0]["temperature"] == -3.4 and astana["weather"][0]["stale"] is True
    assert astana["updated_at"] == "2026-04-01T11:00:00Z"
    clock.advance(5)
    assert await refresher.run("open_meteo") == "ok"  # Almaty is current; Astana stays null and stale
    for view in views:
        shown = await watch.look(view)
        assert all(item["temperature"] is not None for item in shown["weather"]), view
    # MET Norway comes back and fills Astana; later Open-Meteo has a value again and takes over
    upstream.fake.fault["met_no"] = "ok"
    clock.advance(60)
    assert await refresher.run("met_no") == "ok"
    astana = await watch.look("/v1/weather?cities=astana")
    assert (astana["weather"][0]["source"], astana["weather"][0]["stale"]) == ("met_no", False)
    assert astana["updated_at"] == "2026-04-01T11:01:05Z"
    upstream.fake.temperatures = [-2.9, 12.5]
    clock.now = datetime(2026, 4, 1, 11, 15, 10, tzinfo=UTC)
    assert await refresher.run("open_meteo") == "ok"
    for view in views:
        await watch.look(view)
    astana = watch.seen["/v1/weather?cities=astana"][-1]
    assert (astana["weather"][0]["source"], astana["weather"][0]["temperature"]) == ("open_meteo", -2.9)
    assert astana["updated_at"] == "2026-04-01T11:15:10Z"


async def test_a_header_cached_far_from_stale_at_is_capped_once_stale_at_comes_near(
    start_app: AppFactory, make_settings: SettingsFactory, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 1, 18, 40, tzinfo=UTC)  # 23:40 Astana: 20 minutes of today's rates left
    client = await start_app(make_settings(currencies=["USD"]))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    early = await client.get("/v1/rates", headers={"Accept-Encoding": "gzip"})
    assert early.headers["Cache-Control"].startswith("public, max-age=900,")
    clock.now = datetime(2026, 4, 1, 18, 50, tzinfo=UTC)  # nothing changed but time: the same body
    late = await client.get("/v1/rates", headers={"Accept-Encoding": "gzip"})
    assert late.headers["ETag"] == early.headers["ETag"]
    assert late.headers["Cache-Control"].startswith("public, max-age=600,")
    not_modified = await client.get("/v1/rates", headers={"If-None-Match": early.headers["ETag"]})
    assert not_modified.status == 304 and not_modified.headers["Cache-Control"].startswith("public, max-age=600,")


@pytest.mark.parametrize("path", ["/v1/ticker", "/v1/rates", "/v1/weather", "/v1/ticker.txt", "/v1/ticker.html"])
async def test_if_none_match_star_is_a_304_on_every_conditional_route(client: Client, path: str) -> None:
    """README: `If-None-Match` gets 304 with no body; `*` matches any current representation (RFC 9110 13.1.2),
    as a cache that revalidates "whatever you have" sends it."""
    resp = await client.get(path, headers={"If-None-Match": "*"})
    assert resp.status == 304 and await resp.read() == b""
    assert (await client.get(path, headers={"If-None-Match": '"not-this-one"'})).status == 200
