"""Air quality as a third kind, end to end: the fake upstream's Air Quality API -> the store -> /v1/air, /v1/ticker,
/v1/ticker.txt, /v1/ticker.html and /v1/stream, in three languages; off by default; the last good value kept, stale by
its own time, while the source fails; and, with every city, every currency and air on, one request per kind
(history too: one NBK request per date for all 39 currencies).

Expected values come from the README ("Air quality"): the US EPA and European bands, "AQI 152" after a city's
temperature, a reading current until observed_at + the answer's interval (3600 s) + STALE_AFTER. The fake answers the
hour of its clock: START (10:15Z) is the 10:00Z reading, and cycles (us_aqi, european_aqi, pm2_5, pm10) over the
cities asked: (74, 47, 23.4, 31.9), (152, 101, 57.8, 66.1), (38, 18, 8.2, 12.5).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpServer

from tests.browser import browser_tab, needs_chromium
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import nbk_rates_of
from tests.test_backfill import Sleeps
from tests.test_stream import next_event
from tests.test_widget import EMBED, PROBE, page_clock, seen, shadow_of, strip, words
from ticker.run.app import create_app
from ticker.web.appkeys import BACKFILL, REFRESHER, STORE

Client = TestClient[Any, Any]
AIR = {"air_sources": ["open_meteo_air"], "open_meteo_air": {"stale_after": 1800}}
NBK_SAMPLE = Path(__file__).parent / "samples" / "nbk" / "nbk_get_rates_2026-04-01.xml"  # real, 39 currencies


async def started(start_app: AppFactory, make_settings: SettingsFactory, **overrides: Any) -> Client:
    client = await start_app(make_settings(**{**AIR, **overrides}))
    for source in ("nbk", "open_meteo", "open_meteo_air"):
        assert await client.app[REFRESHER].run(source) == "ok", source
    return client


async def test_air_for_several_cities_comes_from_one_request(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await started(start_app, make_settings, cities="astana,almaty,karaganda,oskemen")
    assert len(upstream.fake.asked("/v1/air-quality")) == 1
    body = await (await client.get("/v1/air")).json()
    assert [item["city"] for item in body["air"]] == ["astana", "almaty", "karaganda", "oskemen"]
    astana, almaty, karaganda, oskemen = body["air"]
    assert astana == {
        "city": "astana", "name": "Astana", "aqi": 74.0, "index": "us", "category": "moderate", "label": "Moderate",
        "pm2_5": 23.4, "pm10": 31.9, "observed_at": "2026-04-01T10:00:00Z", "source": "open_meteo_air",
        "stale": False, "stale_at": "2026-04-01T11:30:00Z",  # 10:00 + the answer's 3600 s + STALE_AFTER 1800 s
    }  # fmt: skip
    assert (almaty["aqi"], almaty["category"]) == (152.0, "unhealthy")
    assert (karaganda["aqi"], karaganda["category"]) == (38.0, "good")
    assert (oskemen["aqi"], oskemen["category"]) == (74.0, "moderate")  # the fake's cycle starts again
    assert body["updated_at"] is not None


async def test_the_european_index_when_configured(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await started(start_app, make_settings, air={"index": "european"}, cities="astana,almaty,karaganda")
    body = await (await client.get("/v1/air")).json()
    assert [(i["aqi"], i["index"], i["category"]) for i in body["air"]] == [
        (47.0, "european", "moderate"), (101.0, "european", "extremely_poor"), (18.0, "european", "good"),
    ]  # fmt: skip
    text = await (await client.get("/v1/ticker.txt?currencies=USD")).text()
    assert text == "Astana: \u22123 °C EAQI 47  Almaty: 12 °C EAQI 101  Karaganda: 22 °C EAQI 18  USD 478.77"


async def test_all_three_strip_formats_show_the_index_after_the_temperature(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    client = await started(start_app, make_settings)
    strip = await (await client.get("/v1/ticker")).json()
    assert [(i["city"], i["aqi"], i["category"]) for i in strip["air"]] == [
        ("astana", 74.0, "moderate"), ("almaty", 152.0, "unhealthy"),
    ]  # fmt: skip
    text = await (await client.get("/v1/ticker.txt")).text()
    assert text == "Astana: \u22123 °C AQI 74  Almaty: 12 °C AQI 152  USD 478.77  EUR 548.62  RUB 5.87  CNY 69.31"
    for lang, said, credit in (
        ("en", ["Moderate", "Unhealthy"], "Air quality: CAMS via Open-Meteo"),
        ("ru", ["Умеренно", "Вредно"], "Качество воздуха: CAMS через Open-Meteo"),
        ("kk", ["Орташа", "Зиянды"], "Ауа сапасы: CAMS, Open-Meteo арқылы"),
    ):
        html = await (await client.get(f"/v1/ticker.html?lang={lang}")).text()
        spans = Spans.of(html)
        items = [s for s in spans.items if "ticker-air" in s.classes]
        assert [s.text for s in items] == [f"AQI 74 {said[0]}", f"AQI 152 {said[1]}"]
        assert [s.classes for s in items] == [
            {"ticker-item", "ticker-air", "ticker-aqi-moderate"},
            {"ticker-item", "ticker-air", "ticker-aqi-unhealthy"},
        ]
        # each follows its city's temperature
        kinds = [next(c for c in s.classes if c in ("ticker-weather", "ticker-air", "ticker-fx")) for s in spans.items]
        assert kinds[:5] == ["ticker-weather", "ticker-air", "ticker-weather", "ticker-air", "ticker-fx"]
        assert credit in spans.attribution


async def test_words_follow_lang_on_the_json_routes(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await started(start_app, make_settings)
    kk = await (await client.get("/v1/air?lang=kk&cities=almaty")).json()
    assert [(i["name"], i["label"]) for i in kk["air"]] == [("Алматы", "Зиянды")]
    ru = await (await client.get("/v1/ticker?lang=ru&cities=astana")).json()
    assert [(i["name"], i["label"]) for i in ru["air"]] == [("Астана", "Умеренно")]


async def test_off_by_default_nothing_changes(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    await client.app[REFRESHER].run_due()
    assert "air" not in await (await client.get("/v1/ticker")).json()
    assert "AQI" not in await (await client.get("/v1/ticker.txt")).text()
    assert "ticker-air" not in await (await client.get("/v1/ticker.html")).text()
    off = await client.get("/v1/air")
    assert off.status == 404
    assert "TICKER_AIR_SOURCES" in (await off.json())["error"]
    assert upstream.fake.asked("/v1/air-quality") == []


async def test_filters_validators_cors_and_400s_as_on_the_strip(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    client = await started(start_app, make_settings, cors_origins=["https://news.example.kz"])
    first = await client.get("/v1/air?cities=almaty", headers={"Origin": "https://news.example.kz"})
    assert first.status == 200
    assert first.headers["Access-Control-Allow-Origin"] == "https://news.example.kz"
    assert "max-age=" in first.headers["Cache-Control"]
    again = await client.get("/v1/air?cities=almaty", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    other = await client.get("/v1/air?cities=astana")
    assert other.headers["ETag"] != first.headers["ETag"]
    bad = await client.get("/v1/air?cities=paris")
    assert bad.status == 400
    assert await bad.json() == {
        "error": "unknown cities: paris", "status": 400, "parameter": "cities", "allowed": ["astana", "almaty"],
    }  # fmt: skip
    assert (await client.get("/v1/air?lang=de")).status == 400


async def test_the_stream_carries_air(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await started(start_app, make_settings)
    resp = await client.get("/v1/stream?cities=almaty&lang=kk")
    assert (await next_event(resp)) == {"retry": "5000"}
    strip = json.loads((await next_event(resp))["data"])
    assert [(i["city"], i["aqi"], i["label"]) for i in strip["air"]] == [("almaty", 152.0, "Зиянды")]
    resp.close()


async def test_a_failing_source_keeps_the_last_good_value_stale_by_its_own_time(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    client = await started(start_app, make_settings)
    upstream.fake.fault["open_meteo_air"] = "503"
    clock.advance(3600)  # 11:15: the 10:00 reading is still current (until 11:30)
    assert await client.app[REFRESHER].run("open_meteo_air") == "failed"
    held = (await (await client.get("/v1/air?cities=almaty")).json())["air"][0]
    assert (held["aqi"], held["stale"], held["observed_at"]) == (152.0, False, "2026-04-01T10:00:00Z")
    clock.advance(15 * 60)  # 11:30: past it, still failing
    assert await client.app[REFRESHER].run("open_meteo_air") == "failed"
    stale = (await (await client.get("/v1/air?cities=almaty")).json())["air"][0]
    assert (stale["aqi"], stale["category"], stale["stale"]) == (152.0, "unhealthy", True)
    assert (stale["observed_at"], stale["stale_at"]) == ("2026-04-01T10:00:00Z", "2026-04-01T11:30:00Z")
    html = await (await client.get("/v1/ticker.html?cities=almaty")).text()
    assert [s.classes for s in Spans.of(html).items if "ticker-air" in s.classes] == [
        {"ticker-item", "ticker-air", "ticker-aqi-unhealthy", "ticker-stale"}
    ]
    ready_resp = await client.get("/readyz")
    ready = await ready_resp.json()
    assert ready_resp.status == 200 and ready["ready"]  # air quality, an extra, never makes the service unready
    (report,) = [s for s in ready["sources"] if s["source"] == "open_meteo_air"]
    assert report["kind"] == "air" and report["stale"] and report["failures"] == 2
    # recovery: the source answers again with the 11:00 reading
    upstream.fake.fault.pop("open_meteo_air")
    clock.advance(20 * 60)
    assert await client.app[REFRESHER].run("open_meteo_air") == "ok"
    fresh = (await (await client.get("/v1/air?cities=almaty")).json())["air"][0]
    assert (fresh["stale"], fresh["observed_at"]) == (False, "2026-04-01T11:00:00Z")


async def test_all_cities_all_currencies_and_air_are_one_request_per_kind(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.body["nbk"] = NBK_SAMPLE.read_bytes()  # NBK's real document of START's date: all 39
    client = await start_app(make_settings(cities="all", currencies="all", **AIR))
    outcomes = await client.app[REFRESHER].run_due()
    assert outcomes.count("ok") == 3, outcomes
    # one request per source, whatever the numbers of cities and currencies: CBR's is the cross-check it answers
    # while standing by (its one document for every currency)
    assert upstream.fake.hits == {"nbk": 1, "cbr": 1, "open_meteo": 1, "open_meteo_air": 1}
    strip = await (await client.get("/v1/ticker")).json()
    assert len(strip["rates"]) == 39 and not any(item["stale"] for item in strip["rates"])
    assert len(strip["weather"]) == 20 and not any(item["stale"] for item in strip["weather"])
    assert len(strip["air"]) == 20 and not any(item["stale"] for item in strip["air"])
    text = await (await client.get("/v1/ticker.txt")).text()
    assert text.count(" AQI ") == 20 and text.endswith("JPY 3.00")
    # NBK quotes the rial per 1,000 (0.4 KZT): per ONE unit it is 0.0004, never shown as "0.00"
    assert "  IRR 0.0004  " in text and "  UZS 0.04  " in text and "  KRW 0.31  " in text


async def test_history_backfills_every_currency_with_one_request_per_date(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.rates = nbk_rates_of(NBK_SAMPLE.read_bytes())
    upstream.fake.nbk_date = None  # NBK's document on every date
    settings = make_settings(currencies="all", history={"days": 7, "rate": 1000})
    client = await start_app(settings, backfill_sleep=Sleeps(clock))
    done = await client.app[BACKFILL].run_pass()
    assert len(done.asked) == 7 and not done.failed
    assert len(upstream.fake.asked("/rss/get_rates.cfm")) == 7  # one per date, whatever the number of currencies
    history = client.app[STORE].history
    assert len(history) == 39 and all(len(days) == 7 for days in history.values())
    assert {round(day.rate, 6) for day in history["IRR"].values()} == {0.0004}  # 0.4 KZT per 1,000 rials


@needs_chromium
async def test_the_widget_shows_air_in_three_languages(
    aiohttp_server: AiohttpServer, make_settings: SettingsFactory, clock: FakeClock, tmp_path: Path
) -> None:
    app = create_app(make_settings(**AIR, currencies=["USD"]), clock=clock, schedule=False)
    api = await aiohttp_server(app)
    for source in ("nbk", "open_meteo", "open_meteo_air"):
        assert await app[REFRESHER].run(source) == "ok", source
    hosts = "".join(f'<div id="{lang}" data-ticker data-lang="{lang}"></div>' for lang in ("kk", "ru", "en"))
    html = EMBED.format(
        title="air", clock=page_clock(clock.now), probe=PROBE, css="", api=str(api.make_url("")).rstrip("/"),
        script="", body=hosts,
    )  # fmt: skip

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    embed = web.Application()
    embed.router.add_get("/air", page)
    site = await aiohttp_server(embed)  # another origin than the API's
    async with browser_tab(tmp_path) as tab:
        await tab.goto(str(site.make_url("/air")))
        kk, ru, en = [await shadow_of(tab, host) for host in ("kk", "ru", "en")]

    # each city's index follows its temperature, with the category in words (the colour is a dot beside them)
    assert strip(en) == [
        "Astana: \u22123 °C",
        "● AQI 74 Moderate",
        "Almaty: 12 °C",
        "● AQI 152 Unhealthy",
        "USD 478.77 ▼",
    ]
    assert strip(ru)[1::2][:2] == ["● AQI 74 Умеренно", "● AQI 152 Вредно"]
    assert strip(kk)[1::2][:2] == ["● AQI 74 Орташа", "● AQI 152 Зиянды"]
    for widget in (kk, ru, en):
        dots = [n for n in widget.walk() if "ticker-aqi-dot" in n.classes]
        assert [d.attrs["aria-hidden"] for d in dots] == ["true", "true"]  # colour for the eye, never alone
        assert len({d.attrs.get("style", "") for d in dots}) == 2  # two categories, two colours
    # the attribution, in each language, wherever air is shown
    assert "Air quality: CAMS via Open-Meteo" in words(en.by_class("ticker-credit")[0])
    assert "Качество воздуха: CAMS через Open-Meteo" in words(ru.by_class("ticker-credit")[0])
    assert "Ауа сапасы: CAMS, Open-Meteo арқылы" in words(kk.by_class("ticker-credit")[0])
    assert seen(en.by_class("ticker-air")[0]) == "● AQI 74 Moderate"


@pytest.mark.parametrize("index", ["us", "european"])
def test_the_openapi_document_describes_air(index: str) -> None:
    from ticker.settings import Settings
    from ticker.web.openapi import spec

    document = spec(Settings(air_sources=["open_meteo_air"], air={"index": index}))
    assert "/v1/air" in document["paths"]
    item = document["components"]["schemas"]["AirItem"]
    assert set(item["properties"]) >= {"city", "aqi", "index", "category", "pm2_5", "pm10", "observed_at", "stale"}
    assert "unhealthy_for_sensitive 101-150" in item["properties"]["category"]["description"]
    assert "air" in document["components"]["schemas"]["Ticker"]["properties"]


class Span:
    def __init__(self, classes: set[str]) -> None:
        self.classes = classes
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


class Spans(HTMLParser):
    """The fragment's items (their classes and visible text) and its attribution."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Span] = []
        self.open: list[Span | None] = []
        self.attribution = ""
        self._small = False

    @classmethod
    def of(cls, html: str) -> Spans:
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "small":
            self._small = True
        if tag == "span":
            span = Span(classes) if "ticker-item" in classes else None
            if span is not None:
                self.items.append(span)
            self.open.append(span)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.open:
            self.open.pop()
        if tag == "small":
            self._small = False

    def handle_data(self, data: str) -> None:
        if self._small:
            self.attribution += data
        for span in self.open:
            if span is not None:
                span.parts.append(data)


async def test_a_replica_serves_air_from_redis(
    start_app: AppFactory, make_settings: SettingsFactory, redis_url: str
) -> None:
    """The fetcher's air entries go through Redis as JSON and come back as air readings, not as temperatures."""
    fetcher = await started(start_app, make_settings, redis_url=redis_url, role="all")
    api = await start_app(make_settings(**AIR, redis_url=redis_url, role="api"))
    await api.app[STORE].reload()
    body = await (await api.get("/v1/air?cities=almaty")).json()
    assert [(i["aqi"], i["category"], i["stale"]) for i in body["air"]] == [(152.0, "unhealthy", False)]
    assert (await (await fetcher.get("/v1/air")).read()) == (await (await api.get("/v1/air")).read())


async def test_all_currencies_fall_back_to_cbr_where_it_has_them_and_keep_nbks_last_where_not(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.rates = nbk_rates_of(NBK_SAMPLE.read_bytes())
    client = await start_app(make_settings(currencies="all"))
    await client.app[REFRESHER].run_due()
    upstream.fake.fault["nbk"] = "503"
    clock.advance(24 * 3600)  # the next day: NBK fails, CBR is asked for what NBK no longer covers
    await client.app[REFRESHER].run_due()
    rates = {item["currency"]: item for item in (await (await client.get("/v1/rates")).json())["rates"]}
    assert len(rates) == 39
    lacking = {"KWD", "MXN", "MYR"}  # not in CBR's document (tests/samples/cbr): NBK's last rate, stale
    assert {code for code, item in rates.items() if item["source"] == "nbk"} == lacking
    assert all(rates[code]["stale"] and rates[code]["date"] == "2026-04-01" for code in lacking)
    assert {code for code, item in rates.items() if item["source"] == "cbr" and not item["stale"]} == (
        set(rates) - lacking
    )
