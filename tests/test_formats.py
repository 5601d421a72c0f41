"""The strip as a text line (/v1/ticker.txt) and an HTML fragment (/v1/ticker.html): the exact line, rounding,
missing values, filters, errors, caching (validators, 304, codings, CORS, HEAD), and a fragment that stays inert
whatever the configuration calls a city."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import brotli
import pytest
from aiohttp.test_utils import TestClient

from providers import REGISTRY
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.render.fragment import CREDIT_URLS, credit_text
from ticker.web.appkeys import REFRESHER, SNAPSHOT
from ticker.web.openapi import spec

Client = TestClient[Any, Any]
TXT, HTML = "/v1/ticker.txt", "/v1/ticker.html"
FORMATS = (TXT, HTML)
LINE = "Astana: \u22123 °C  Almaty: 12 °C  USD 478.77  EUR 548.62  RUB 5.87  CNY 69.31"  # the fake's state


def city(id_: str, name: str, **names: str) -> dict[str, Any]:
    return {"id": id_, "name": name, "latitude": 51.1801, "longitude": 71.446, "names": names}


@pytest.fixture
async def client(start_app: AppFactory, make_settings: SettingsFactory) -> Client:
    started = await start_app(make_settings())
    assert await started.app[REFRESHER].run("nbk") == "ok"
    assert await started.app[REFRESHER].run("open_meteo") == "ok"
    return started


# --- the text line ------------------------------------------------------------------------------------------


async def test_the_text_line_is_exactly_the_strip(client: Client) -> None:
    resp = await client.get(TXT)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert (await resp.read()).decode("utf-8") == LINE


async def test_temperatures_round_half_away_from_zero_and_never_show_minus_zero(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    temperatures = [-0.4, -0.5, 0.5, 2.5, -2.5, -0.0, 1.49, -12.6, 0.0]
    upstream.fake.temperatures = list(temperatures)
    cities = [city(f"c{i}", f"C{i}") for i in range(len(temperatures))]
    client = await start_app(make_settings(cities=cities, currencies=["USD"]))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    text = await (await client.get(TXT)).text()
    shown = [item.partition(": ")[2] for item in text.split("  ")[:-1]]
    expected = ["0", "\u22121", "1", "3", "\u22123", "0", "1", "\u221213", "0"]
    assert shown == [f"{t} °C" for t in expected]
    assert "-" not in text  # U+2212, never a hyphen-minus


async def test_rates_have_two_decimals_rounded_in_decimal(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    # 478.775 and 1.005 are just below the half as binary floats: round(x, 2) would give 478.77 and 1.0
    upstream.fake.rates = {
        "USD": ("478.775", 1, "UP", "+0.10"),
        "EUR": ("1.005", 1, "UP", "+0.10"),
        "RUB": ("5.8", 1, "", "0.00"),
        "KRW": ("31.29", 100, "DOWN", "-0.47"),  # 0.3129 per won
    }
    client = await start_app(make_settings(currencies=["USD", "EUR", "RUB", "KRW"]))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    text = await (await client.get(TXT)).text()
    assert text.endswith("USD 478.78  EUR 1.01  RUB 5.80  KRW 0.31")


def readme_says_missing() -> tuple[str, str]:
    """The README's own words for the text line's missing temperature and missing rate."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"a missing temperature is `(?P<t>[^`]+)` and a missing rate `(?P<r>[^`]+)`", readme)
    assert found, "README.md no longer says how the text line writes a missing value"
    return found["t"], found["r"]


async def test_missing_values_are_written_as_the_readme_says(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    temperature, rate = readme_says_missing()
    assert temperature == "\u2013 °C" and rate == "\u2013"  # U+2013 EN DASH, never a hyphen
    upstream.fake.temperatures = [None, 7.0]  # Open-Meteo's null for Astana
    upstream.fake.fault["met_no"] = "500"
    upstream.fake.rates = {code: row for code, row in upstream.fake.rates.items() if code != "EUR"}  # NBK lacks EUR
    upstream.fake.fault["cbr"] = "500"
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("nbk") == "ok"
    await client.app[REFRESHER].run("open_meteo")
    resp = await client.get(TXT)
    assert resp.status == 200  # a partly filled strip is served as ever
    assert (await resp.text()) == f"Astana: {temperature}  Almaty: 7 °C  USD 478.77  EUR {rate}  RUB 5.87  CNY 69.31"


async def test_filters_order_and_lang(client: Client) -> None:
    text = await (await client.get(TXT + "?cities=almaty,ASTANA&currencies=cny,usd&lang=ru")).text()
    assert text == "Алматы: 12 °C  Астана: \u22123 °C  CNY 69.31  USD 478.77"
    assert await (await client.get(TXT + "?currencies=EUR&cities=almaty&lang=kk")).text() == (
        "Алматы: 12 °C  EUR 548.62"
    )
    assert await (await client.get(TXT + "?lang=en")).text() == LINE


async def test_names_stay_on_one_line(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await start_app(make_settings(cities=[city("x", "New\nYork\r\n  City\t")]))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    text = await (await client.get(TXT)).text()
    assert text.startswith("New York City: \u22123 °C  USD")
    assert "\n" not in text and "\r" not in text


# --- both formats: errors and caching -----------------------------------------------------------------------


@pytest.mark.parametrize("route", FORMATS)
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("currencies=GBP", "currencies"),
        ("currencies=", "currencies"),
        ("cities=paris", "cities"),
        ("cities=astana,,almaty", "cities"),
        ("lang=de", "lang"),
        ("format=json", "format"),
        ("lang=ru&lang=kk", "lang"),
    ],
)
async def test_bad_parameters_get_the_same_400_json(client: Client, route: str, query: str, parameter: str) -> None:
    resp = await client.get(f"{route}?{query}")
    json_resp = await client.get(f"/v1/ticker?{query}")
    assert resp.status == json_resp.status == 400
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body == await json_resp.json()
    assert body["parameter"] == parameter and body["allowed"]


@pytest.mark.parametrize("route", FORMATS)
async def test_validators_and_304s(client: Client, route: str) -> None:
    first = await client.get(route)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert last_modified == "Wed, 01 Apr 2026 10:15:00 GMT"
    assert first.headers["Cache-Control"] == (await client.get("/v1/ticker")).headers["Cache-Control"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-Modified-Since": last_modified}):
        again = await client.get(route, headers=headers)
        assert again.status == 304, headers
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
    assert (await client.get(route, headers={"If-None-Match": '"other"'})).status == 200
    earlier = "Wed, 01 Apr 2026 10:14:59 GMT"
    assert (await client.get(route, headers={"If-Modified-Since": earlier})).status == 200
    filtered = await client.get(route + "?currencies=USD")
    assert filtered.headers["ETag"] != etag


async def test_each_format_has_its_own_etag(client: Client) -> None:
    tags = {route: (await client.get(route)).headers["ETag"] for route in ("/v1/ticker", *FORMATS)}
    assert len(set(tags.values())) == 3
    for route in ("/v1/ticker", *FORMATS):
        for other, tag in tags.items():
            status = (await client.get(route, headers={"If-None-Match": tag})).status
            assert status == (304 if other == route else 200), (route, other)


async def test_a_new_value_changes_the_body_and_the_validators(
    client: Client, clock: FakeClock, upstream: Upstreams
) -> None:
    before = {route: await client.get(route) for route in FORMATS}
    clock.advance(1800)
    upstream.fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
    assert await client.app[REFRESHER].run("nbk") == "ok"
    after = await client.get(TXT, headers={"If-None-Match": before[TXT].headers["ETag"]})
    assert after.status == 200
    assert "USD 480.10" in await after.text()
    html = await client.get(HTML, headers={"If-None-Match": before[HTML].headers["ETag"]})
    assert html.status == 200 and ">480.10<" in await html.text()
    assert after.headers["Last-Modified"] == "Wed, 01 Apr 2026 10:45:00 GMT"


@pytest.mark.parametrize("route", FORMATS)
async def test_gzip_and_brotli(client: Client, route: str) -> None:
    plain = await client.get(route, headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        resp = await client.get(route, headers={"Accept-Encoding": coding}, auto_decompress=False)
        assert resp.headers["Content-Encoding"] == coding
        assert resp.headers["Content-Type"] == plain.headers["Content-Type"]
        assert decode(await resp.read()) == body
        assert resp.headers["ETag"] != plain.headers["ETag"]
        revalidate = {"Accept-Encoding": coding, "If-None-Match": resp.headers["ETag"]}
        assert (await client.get(route, headers=revalidate)).status == 304


@pytest.mark.parametrize("route", FORMATS)
async def test_cors(start_app: AppFactory, make_settings: SettingsFactory, client: Client, route: str) -> None:
    anyone = await client.get(route, headers={"Origin": "https://news.example.kz"})
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in anyone.headers["Access-Control-Expose-Headers"]
    listed = await start_app(make_settings(cors_origins=["https://news.example.kz"]))
    allowed = await listed.get(route, headers={"Origin": "https://news.example.kz"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example.kz"
    assert "Origin" in allowed.headers["Vary"]
    assert (
        "Access-Control-Allow-Origin" not in (await listed.get(route, headers={"Origin": "https://x.example"})).headers
    )
    preflight = await listed.options(
        route, headers={"Origin": "https://news.example.kz", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status == 204 and "GET" in preflight.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("route", FORMATS)
async def test_head_has_the_headers_and_no_body(client: Client, route: str) -> None:
    get = await client.get(route)
    head = await client.head(route)
    assert head.status == 200
    assert await head.read() == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[name] == get.headers[name]
    assert (await client.post(route)).status == 405


async def test_requests_are_counted_per_route(client: Client) -> None:
    await client.get(TXT)
    await client.get(HTML + "?lang=xx")
    text = await (await client.get("/metrics")).text()
    assert 'ticker_http_requests_total{route="/v1/ticker.txt",status="200"}' in text
    assert 'ticker_http_requests_total{route="/v1/ticker.html",status="400"}' in text


# --- the fragment ---------------------------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    content: list[Node | str] = field(default_factory=list)  # elements and text, in document order

    @property
    def children(self) -> list[Node]:
        return [part for part in self.content if isinstance(part, Node)]

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def walk(self) -> list[Node]:
        return [self, *(n for child in self.children for n in child.walk())]

    def all_text(self) -> str:
        return "".join(part if isinstance(part, str) else part.all_text() for part in self.content)

    def find(self, cls: str) -> list[Node]:
        return [n for n in self.walk() if cls in n.classes]


VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "area", "base", "col", "embed", "track"}


class Tree(HTMLParser):
    """Every element, nested as the browser would nest it; top-level text and markup oddities are recorded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.roots: list[Node] = []
        self.stack: list[Node] = []
        self.loose_text: list[str] = []
        self.odd: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        if self.stack:
            self.stack[-1].content.append(node)
        else:
            self.roots.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1].tag != tag:
            self.odd.append(f"</{tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1].content.append(data)
        elif data.strip():
            self.loose_text.append(data)

    def handle_comment(self, data: str) -> None:
        self.odd.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.odd.append(decl)

    def handle_pi(self, data: str) -> None:
        self.odd.append(data)


def parse(html: str) -> Node:
    tree = Tree()
    tree.feed(html)
    tree.close()
    assert not tree.stack, "unclosed elements"
    assert not tree.odd and not tree.loose_text
    assert len(tree.roots) == 1, "one root element"
    return tree.roots[0]


ALLOWED_LINKS = set(CREDIT_URLS.values())


def assert_inert(root: Node) -> None:
    """No script, no style, nothing loaded from anywhere; links only to the data's credits."""
    for node in root.walk():
        assert node.tag in {"div", "span", "small", "a"}, node.tag
        for name, value in node.attrs.items():
            assert not name.startswith("on"), name
            assert name not in {"src", "srcset", "style", "background", "poster", "action", "formaction"}, name
            if name == "href":
                assert node.tag == "a" and value in ALLOWED_LINKS, value


async def fragment(client: Client, query: str = "") -> Node:
    resp = await client.get(HTML + query)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    root = parse(await resp.text())
    assert_inert(root)
    return root


async def test_the_fragment_has_one_root_and_a_class_for_every_part(client: Client) -> None:
    root = await fragment(client)
    assert root.tag == "div" and "ticker-strip" in root.classes and root.attrs["lang"] == "en"
    assert [n.all_text() for n in root.find("ticker-city")] == ["Astana", "Almaty"]
    assert [n.all_text() for n in root.find("ticker-temperature")] == ["\u22123\u00a0°C", "12\u00a0°C"]
    assert [n.all_text() for n in root.find("ticker-currency")] == ["USD", "EUR", "RUB", "CNY"]
    assert [n.all_text() for n in root.find("ticker-rate")] == ["478.77", "548.62", "5.87", "69.31"]
    trends = root.find("ticker-trend")
    expected = [{"ticker-down"}, {"ticker-up"}, {"ticker-flat"}, {"ticker-down"}]
    assert [n.classes - {"ticker-trend"} for n in trends] == expected
    assert [(n.attrs["role"], n.attrs["aria-label"]) for n in trends[:3]] == [
        ("img", "down"), ("img", "up"), ("img", "unchanged"),
    ]  # fmt: skip
    conditions = root.find("ticker-condition")
    assert [n.classes for n in conditions] == [
        {"ticker-condition", "ticker-condition-snow"},  # WMO 71
        {"ticker-condition", "ticker-condition-overcast"},  # WMO 3
    ]
    assert [(n.attrs["role"], n.attrs["aria-label"]) for n in conditions] == [("img", "snow"), ("img", "overcast")]
    assert not [n for n in root.walk() if "title" in n.attrs]  # one name per icon, none a hover-only word
    assert not root.find("ticker-stale")
    # the items in the strip's order, weather first, as the text line reads
    items = [n for n in root.children if "ticker-item" in n.classes]
    assert len(items) == 6
    assert (
        " ".join(" ".join(n.all_text().split()) for n in items[2:])
        == "USD 478.77 ▼ EUR 548.62 ▲ RUB 5.87 = CNY 69.31 ▼"
    )


async def test_the_fragment_credits_the_sources_shown(
    start_app: AppFactory, make_settings: SettingsFactory, client: Client
) -> None:
    credits = (await fragment(client)).find("ticker-attribution")
    assert len(credits) == 1
    links = [(a.attrs["href"], a.all_text()) for a in credits[0].walk() if a.tag == "a"]
    assert links == [
        ("https://open-meteo.com/", "Weather data by Open-Meteo.com"),
        ("https://nationalbank.kz/", "Rates: National Bank of Kazakhstan"),
    ]
    fallback = await start_app(make_settings(rate_sources=["cbr"], weather_sources=["met_no"]))
    assert await fallback.app[REFRESHER].run("cbr") == "ok"
    assert await fallback.app[REFRESHER].run("met_no") == "ok"
    credits = (await fragment(fallback, "?lang=ru")).find("ticker-attribution")
    links = [(a.attrs["href"], a.all_text()) for a in credits[0].walk() if a.tag == "a"]
    assert links == [
        ("https://api.met.no/", "Данные о погоде: MET Norway"),
        ("https://www.cbr.ru/", "Курсы: Банк России"),
    ]
    before = await start_app(make_settings())
    assert (await before.get(HTML)).status == 503  # nothing shown: no fragment at all, so nothing to credit


def test_every_registered_source_has_a_credit() -> None:
    assert set(CREDIT_URLS) == set(REGISTRY)
    for source, url in CREDIT_URLS.items():
        assert url.startswith("https://") and all(credit_text(source, lang) for lang in ("en", "ru", "kk"))


async def test_lang_localises_names_and_labels(client: Client) -> None:
    root = await fragment(client, "?lang=kk&cities=almaty&currencies=EUR")
    assert root.attrs["lang"] == "kk"
    assert [n.all_text() for n in root.find("ticker-city")] == ["Алматы"]
    (sky,) = root.find("ticker-condition")
    assert sky.attrs["aria-label"] == "бұлыңғыр"
    (trend,) = root.find("ticker-trend")
    assert trend.attrs["aria-label"] == "өсу"  # the widget's word
    ru = await fragment(client, "?lang=ru&cities=astana&currencies=USD")
    assert [n.attrs["aria-label"] for n in ru.find("ticker-condition") + ru.find("ticker-trend")] == [
        "снег",
        "снижение",
    ]


async def test_stale_items_are_marked(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.temperatures = [None, 12.0]  # Open-Meteo's null for Astana, and MET Norway failing
    upstream.fake.fault["met_no"] = "500"
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("nbk") == "ok"
    await client.app[REFRESHER].run("open_meteo")
    partly = await fragment(client)
    (empty,) = [n for n in partly.children if "ticker-stale" in n.classes]  # the item without a value: stale
    assert empty.find("ticker-city")[0].all_text() == "Astana"
    assert [n.all_text() for n in empty.find("ticker-temperature")] == ["\u2013\u00a0°C"]
    assert not empty.find("ticker-condition")
    # a reader hears "Astana, no data", not "Astana dash": the dash is hidden from it, the words are text
    assert [n.attrs.get("aria-hidden") for n in empty.find("ticker-temperature")] == ["true"]
    assert [n.all_text() for n in empty.find("ticker-note")] == ["no data"]

    upstream.fake.temperatures = [-3.4, 12.0]
    client = await start_app(make_settings(open_meteo={"stale_after": 1800}))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    clock.advance(2701)  # past the temperatures' stale_at (their 900 s slot + 1800 s), rates still in force
    client.app[SNAPSHOT].invalidate()  # what the snapshot's timer does at stale_at
    root = await fragment(client)
    stale = [n for n in root.children if "ticker-stale" in n.classes]
    assert [n.find("ticker-city")[0].all_text() for n in stale] == ["Astana", "Almaty"]
    assert [[x.all_text() for x in n.find("ticker-note")] for n in stale] == [["not current"]] * 2  # text, not a title
    assert not [n for n in root.walk() if "title" in n.attrs]
    assert [n.all_text() for n in root.find("ticker-note")] == ["not current"] * 2  # the rates are current
    assert [n.all_text() for n in root.find("ticker-temperature")] == ["\u22123\u00a0°C", "12\u00a0°C"]  # kept


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "\"&'",
    "</div><script>alert(1)</script>",
    "<!-- x",
    "a & b <b>bold</b>",
]


async def test_hostile_names_from_the_configuration_are_text(
    start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    cities = [city(f"h{i}", name, ru=f"{name} ru") for i, name in enumerate(HOSTILE)]
    cities.append(city("kk", "plain", kk='<svg onload=alert(1)>"'))
    client = await start_app(make_settings(cities=cities))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    for lang, suffix in (("en", ""), ("ru", " ru")):
        root = await fragment(client, f"?lang={lang}")
        assert [n.all_text() for n in root.find("ticker-city")] == [name + suffix for name in HOSTILE] + ["plain"]
        assert not [n for n in root.walk() if n.tag in {"img", "script", "svg", "b"}]
    root = await fragment(client, "?lang=kk&cities=kk")
    assert [n.all_text() for n in root.find("ticker-city")] == ['<svg onload=alert(1)>"']
    raw = await (await client.get(HTML)).text()
    assert "<img" not in raw and "<script" not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
    assert "&quot;&amp;&#x27;" in raw
    text = await (await client.get(TXT)).text()  # text/plain carries the names as they are, with nosniff
    assert text.startswith("<img src=x onerror=alert(1)>: \u22123 °C  \"&': 12 °C")


# --- documented ------------------------------------------------------------------------------------------------


def test_openapi_documents_both_formats() -> None:
    document = spec()
    json_params = document["paths"]["/v1/ticker"]["get"]["parameters"]
    for route, media in ((TXT, "text/plain"), (HTML, "text/html")):
        get = document["paths"][route]["get"]
        assert get["parameters"] == json_params
        assert set(get["responses"]) == {"200", "304", "400", "503"}  # 503: a kind with no value at all
        assert "no-store" in get["responses"]["503"]["description"]
        assert list(get["responses"]["200"]["content"]) == [media]
        assert get["responses"]["200"]["content"][media]["schema"]["type"] == "string"
        assert get["responses"]["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
