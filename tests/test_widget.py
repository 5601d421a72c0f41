"""The embeddable widget in a real headless Chromium: the app on a real port, the embedding page on another
origin, the rendered DOM read back with --dump-dom, and a screenshot read back pixel by pixel. Then the page's
clock against each item's `stale_at`, and tomorrow's rate, against a fake strip server whose bodies carry them.
Then, over the DevTools protocol: a page with hostile CSS against a plain one (screenshots and computed styles
from inside the shadow root), layout shifts while data arrives, themes, languages, icons.

--dump-dom runs under --virtual-time-budget: its timers and its Date run on virtual time, which jumps ahead
whenever the page is idle and ends when the budget is spent, so nothing here sleeps or reads a wall clock. A dump
does not serialise shadow roots: the MIRROR harness copies each strip's shadow root into the light DOM. The
DevTools tests run on real time and wait only on page-side events (a render, animation frames)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from tests.browser import Node, Tab, browser_tab, chromium, dump_dom, needs_chromium, parse, png_rows, save_artifact
from tests.conftest import FakeClock, SettingsFactory, Upstreams
from tests.test_backfill import Sleeps, documents
from ticker.run.app import create_app
from ticker.settings import DEFAULT_CITIES
from ticker.web.appkeys import BACKFILL, REFRESHER, SETTINGS

WIDGET_JS = Path(__file__).resolve().parent.parent / "ticker" / "static" / "widget.js"

XSS = "<img src=x onerror=\"document.title='pwned'\">"

# Test harness, not part of the contract. Virtual time stands still while a request is open and a
# stream never ends, so --virtual-time-budget would never run out: count each stream's events (after the
# widget's own listener), ask the test for a change once every stream has shown its first, and close each
# stream after its second. Items on screen before the change are marked, to see which ones were replaced.
HARNESS = """<script>
(() => {
  const Native = window.EventSource;
  const streams = [];
  const after = (source) => {
    source.seen += 1;
    if (source.seen >= 2) return source.close();
    if (!streams.every((s) => s.seen >= 1)) return;
    const hosts = [...document.querySelectorAll("[data-ticker]")];
    const items = hosts.flatMap((host) => [...host.shadowRoot.querySelectorAll(".ticker-item")]);
    items.forEach((n) => n.setAttribute("data-probe", ""));
    document.getElementById("first").textContent = JSON.stringify(items.map(visible));
    fetch("/poke", { method: "POST" });
  };
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.seen = 0;
      streams.push(this);
    }
    addEventListener(type, listener, options) {
      const wrapped = type === "ticker" ? (e) => (listener(e), after(this)) : listener;
      super.addEventListener(type, wrapped, options);
    }
  };
})();
</script>"""

# Test harness: --dump-dom does not serialise shadow roots. After the widget's own DOMContentLoaded listener has
# mounted the strips, mirror each shadow root's markup into <output id="shadow-{host id}"> on every change.
# visible(node): the text a sighted reader sees, without the screen-reader-only words.
MIRROR = """<script>
window.visible = (node) => [...node.childNodes].map((c) => c.nodeType === 3 ? c.data
  : c.nodeType === 1 && !c.classList.contains("ticker-sr") ? visible(c) : "").join("");
document.addEventListener("DOMContentLoaded", () => {
  for (const host of document.querySelectorAll("[data-ticker]")) {
    const root = host.shadowRoot, out = document.createElement("output");
    out.id = "shadow-" + host.id;
    out.hidden = true;
    document.body.appendChild(out);
    const copy = () => (out.textContent = root.innerHTML);
    new MutationObserver(copy).observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    copy();
  }
});
</script>"""

# The public contract: a news site's page on its own origin. The script sits in <head>, before the
# elements exist; the inline scripts record the globals around it and the formatting helpers' answers.
EMBED_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>news.example.kz</title>
{clock}
<style>
  output {{ display: none; }}
  header [data-ticker] {{ display: flow-root; }}
  #ru {{ --ticker-bg: rgb(16, 42, 67); --ticker-color: rgb(240, 244, 248); --ticker-up-color: #7ee2a8; }}
</style>
<script>window.__before = Object.getOwnPropertyNames(window);</script>
{before}
<script src="{api}/widget.js"></script>
{mirror}
<script>
  const harness = ["__before", "visible"];
  const leaked = Object.getOwnPropertyNames(window).filter((k) => !__before.includes(k) && !harness.includes(k));
  const show = (x) => (Object.is(x, -0) ? "-0" : String(x));
  const css = (node, property) => getComputedStyle(node).getPropertyValue(property);
  const inner = (id) => document.getElementById(id).shadowRoot.querySelector(".ticker-strip");
  document.addEventListener("DOMContentLoaded", () => {{
    const w = window.TickerWidget;
    document.getElementById("checks").textContent = JSON.stringify({{
      leaked,
      round: [-0.5, -0.4, -2.5, -2.6, 0.5, 2.5, 22.4, -3.6].map((x) => show(w.roundHalfAway(x))),
      temperature: [-0.4, -0.5, 12.5, -7.5, null].map((x) => w.formatTemperature(x, "°C")),
      rate: [478.7, 0.31294, 5.875, 478.775, 0.31295, null].map(w.formatRate),
      ruStyle: [css(inner("ru"), "background-color"), css(inner("ru"), "color")],
      allDisplay: css(document.getElementById("all"), "display"),
      documentStyles: document.querySelectorAll("style").length + document.adoptedStyleSheets.length,
    }});
  }});
</script>
</head><body>
<header><div id="all" data-ticker></div></header>
<main><h1>News</h1>
<div id="ru" data-ticker data-currencies="USD" data-lang="ru" data-cities="almaty"></div>
{extra}
<output id="checks"></output><output id="first"></output></main>
</body></html>
"""


# The page's clock is the app's FakeClock (the widget greys an item once the page's clock passes its stale_at):
# it starts at the instant given and runs with the browser's virtual time.
PAGE_CLOCK = """<script>
(() => {
  const Native = Date, offset = Native.parse("%s") - Native.now();
  window.Date = class extends Native {
    constructor(...args) { if (args.length) super(...args); else super(Native.now() + offset); }
    static now() { return Native.now() + offset; }
  };
})();
</script>"""


def page_clock(now: datetime) -> str:
    return PAGE_CLOCK % now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shadow(dom: Node, host: str) -> Node:
    """The strip in host element `host`'s shadow root, as the MIRROR harness copied it."""
    return parse(dom.by_id("shadow-" + host).text)


def words(node: Node) -> str:
    return " ".join(node.text.split())


def seen(node: Node) -> str:
    return " ".join(node.visible.split())


def strip(widget: Node) -> list[str]:
    return [seen(item) for item in widget.by_class("ticker-item")]


def item(widget: Node, prefix: str) -> Node:
    return next(n for n in widget.by_class("ticker-item") if n.text.startswith(prefix))


def said(node: Node) -> list[str]:
    """The screen-reader-only words inside a node."""
    return [words(n) for n in node.by_class("ticker-sr")]


# --- servers and the browser -------------------------------------------------------------------------
@dataclass
class Sites:
    api: TestServer
    app: web.Application
    seen: list[tuple[str, int]]  # (path, status) of every response the API prepared
    embed: str  # base URL of the embedding site, another origin
    pokes: list[str]  # outcomes of the NBK runs the page asked for

    def count(self, path: str, status: int | None = None) -> int:
        return sum(1 for p, s in self.seen if p == path and status in (None, s))


@pytest.fixture
async def sites(
    aiohttp_server: AiohttpServer, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> Sites:
    astana = DEFAULT_CITIES[0].model_copy(update={"names": {**DEFAULT_CITIES[0].names, "kk": XSS}})
    settings = make_settings(currencies=["USD", "EUR", "RUB", "CNY", "KRW", "GBP"], cities=[astana, DEFAULT_CITIES[1]])
    app = create_app(settings, clock=clock, schedule=False)
    seen: list[tuple[str, int]] = []

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        seen.append((request.path, response.status))

    app.on_response_prepare.append(record)
    api = await aiohttp_server(app)
    refresher = app[REFRESHER]
    upstream.fake.temperatures = [-0.4, 12.5]  # Astana must not read "-0", Almaty rounds half up
    upstream.fake.fault["cbr"] = "500"  # NBK's items alone: no fallback fills what NBK lacks
    first_day, second_day = date(2026, 4, 1), date(2026, 4, 2)
    upstream.fake.nbk_days = {first_day: dict(upstream.fake.rates)}
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    # the next morning in Astana NBK's document lacks CNY: CNY keeps 1 April's rate, stale since midnight
    upstream.fake.nbk_days[second_day] = {k: v for k, v in upstream.fake.rates.items() if k != "CNY"}
    clock.now = datetime(2026, 4, 2, 4, 0, tzinfo=UTC)  # 09:00 Astana
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    # GBP is configured but no source ever had it: null and stale

    origin = str(api.make_url("")).rstrip("/")
    stub_es = "<script>delete window.EventSource;</script>"  # a browser without EventSource
    pages = {
        "/": EMBED_PAGE.format(clock=page_clock(clock.now), api=origin, before=HARNESS, mirror=MIRROR, extra=""),
        "/polling": EMBED_PAGE.format(
            clock=page_clock(clock.now),
            api=origin,
            before=stub_es,
            mirror=MIRROR,
            extra='<div id="kk" data-ticker data-lang="kk" data-currencies="USD"></div>',
        ),
    }

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.path], content_type="text/html")

    pokes: list[str] = []

    async def poke(request: web.Request) -> web.Response:
        """The page saw its first events: NBK publishes a new USD rate, fetched in the next time slot."""
        upstream.fake.nbk_days[second_day]["USD"] = ("480.10", 1, "UP", "+1.33")
        clock.advance(settings.source_config("nbk").interval)  # one fetch per slot: the next run is the next slot's
        pokes.append(await refresher.run("nbk"))
        return web.Response(status=204)

    embed_app = web.Application()
    for path in pages:
        embed_app.router.add_get(path, page)
    embed_app.router.add_post("/poke", poke)
    embed = await aiohttp_server(embed_app)
    assert embed.port != api.port
    return Sites(api, app, seen, str(embed.make_url("")).rstrip("/"), pokes)


# --- the tests ---------------------------------------------------------------------------------------
@needs_chromium
async def test_widget_renders_live_strips_on_another_origin(sites: Sites, tmp_path: Path) -> None:
    dom = await dump_dom(tmp_path, sites.embed + "/")

    # the first events, as rendered
    first = json.loads(dom.by_id("first").text)
    assert [" ".join(t.split()) for t in first] == [
        "Astana: 0 °C", "Almaty: 13 °C", "USD 478.77 ▼", "EUR 548.62 ▲", "RUB 5.87", "CNY 69.31 ▼",
        "KRW 0.3129 ▼", "GBP \u2013",
        "Алматы: 13 °C", "USD 478.77 ▼",
    ]  # fmt: skip
    assert sites.pokes == ["ok"]
    # then NBK's new USD rate arrived live in both strips; only the USD items were replaced
    full, ru = shadow(dom, "all"), shadow(dom, "ru")
    assert strip(full) == [
        "Astana: 0 °C", "Almaty: 13 °C", "USD 480.10 ▲", "EUR 548.62 ▲", "RUB 5.87", "CNY 69.31 ▼",
        "KRW 0.3129 ▼", "GBP \u2013",
    ]  # fmt: skip
    replaced = [n.text.split()[0] for s in (full, ru) for n in s.by_class("ticker-item") if "data-probe" not in n.attrs]
    assert replaced == ["USD", "USD"]
    # a labelled region; the change, and only it, announced politely, in words
    (region,) = full.by_class("ticker-strip")
    assert region.attrs["role"] == "region" and region.attrs["aria-label"] == "Exchange rates and weather"
    assert region.attrs["lang"] == "en" and "aria-busy" not in region.attrs
    (live,) = [n for n in full.walk() if "aria-live" in n.attrs]
    assert live.attrs["aria-live"] == "polite" and live.attrs["role"] == "status"
    assert words(live) == "USD 480.10, up 1.33"
    (ru_live,) = [n for n in ru.walk() if "aria-live" in n.attrs]
    assert words(ru_live) == "USD 480.10, рост 1.33"
    usd = item(full, "USD")
    assert "ticker-stale" not in usd.classes and "title" not in usd.attrs
    assert usd.by_class("ticker-trend")[0].classes >= {"ticker-up"}
    assert usd.by_class("ticker-trend")[0].attrs["title"] == "1.33"
    assert usd.by_class("ticker-trend")[0].attrs["aria-hidden"] == "true"  # the arrow is said in words
    assert said(usd) == [", up 1.33"]
    assert item(full, "KRW").by_class("ticker-trend")[0].classes >= {"ticker-down"}
    assert said(item(full, "KRW")) == [", down 0.0047"]  # per ONE won, like the rate
    assert not item(full, "RUB").by_class("ticker-trend")  # flat: no arrow
    assert said(item(full, "RUB")) == [", unchanged"]
    cny = item(full, "CNY")
    assert "ticker-stale" in cny.classes
    assert cny.attrs["title"] == "not current: last updated 2026-04-01"
    assert said(cny) == [", down 0.4", ", not current: last updated 2026-04-01"]  # stale, in words
    gbp = item(full, "GBP")
    assert "ticker-stale" in gbp.classes and gbp.attrs["title"] == "not current: no data"
    credit = full.by_class("ticker-credit")[0]
    link = next(n for n in credit.walk() if n.tag == "a")
    assert link.text == "Weather data by Open-Meteo.com" and link.attrs["href"] == "https://open-meteo.com/"
    assert "NBK" in credit.text

    assert strip(ru) == ["Алматы: 13 °C", "USD 480.10 ▲"]  # the filters and the language respected
    assert words(ru.by_class("ticker-credit")[0]) == "Данные о погоде: Open-Meteo.com · Курсы: НБРК"

    checks: dict[str, Any] = json.loads(dom.by_id("checks").text)
    assert checks["leaked"] == ["TickerWidget"]
    assert checks["round"] == ["-1", "0", "-3", "-3", "1", "3", "22", "-4"]  # half away from zero
    assert checks["temperature"] == ["0 °C", "\u22121 °C", "13 °C", "\u22128 °C", "\u2013"]  # as /v1/ticker.txt
    assert checks["rate"] == ["478.70", "0.3129", "5.88", "478.78", "0.3130", "\u2013"]  # as /v1/ticker.txt
    assert checks["ruStyle"] == ["rgb(16, 42, 67)", "rgb(240, 244, 248)"]  # the custom properties apply
    assert checks["allDisplay"] == "flow-root"  # the page styles the host's own box
    assert checks["documentStyles"] == 1  # the page's own <style>: the widget's CSS stays in its shadow roots

    assert sites.count("/widget.js", 200) == 1
    assert sites.count("/v1/stream", 200) == 2  # one stream per element, each with its own filters
    assert sites.count("/v1/ticker") == 0  # no polling while streaming works


@needs_chromium
async def test_without_eventsource_the_widget_polls_and_keeps_its_render_on_304(sites: Sites, tmp_path: Path) -> None:
    # 65 s of virtual time: the first poll at once, the second a minute later with If-None-Match
    dom = await dump_dom(tmp_path, sites.embed + "/polling", budget_ms=65_000)

    assert strip(shadow(dom, "all"))[:3] == ["Astana: 0 °C", "Almaty: 13 °C", "USD 478.77 ▼"]
    assert strip(shadow(dom, "ru")) == ["Алматы: 13 °C", "USD 478.77 ▼"]
    kk = shadow(dom, "kk")  # a city name with markup in it stays text
    assert strip(kk)[0] == XSS + ": 0 °C"
    assert not [n for n in kk.walk() if n.tag == "img"]
    assert dom.by_id("checks").text  # the page's own script ran to the end
    title = next(n for n in dom.walk() if n.tag == "title")
    assert title.text == "news.example.kz"
    assert sites.count("/v1/stream") == 0
    assert sites.count("/v1/ticker", 200) == 3  # one per element
    assert sites.count("/v1/ticker", 304) >= 3  # and a minute later each was told: not modified


@needs_chromium
async def test_screenshot_shows_the_strip_in_its_colours_with_text(sites: Sites, tmp_path: Path) -> None:
    png = tmp_path / "widget.png"
    await chromium(
        tmp_path,
        "--virtual-time-budget=5000",
        "--hide-scrollbars",
        f"--screenshot={png}",
        "--window-size=800,300",
        sites.embed + "/",
    )
    rows = png_rows(png.read_bytes())
    assert len(rows) == 300 and len(rows[0]) == 800
    # the #ru strip is painted in the page's --ticker-bg: a band of that colour across the page
    dark = (16, 42, 67)
    band = [row for row in rows if row.count(dark) > 400]
    # an empty element, or one with only the widget's padding (7 px), is no strip: one line of 14 px text is
    assert len(band) >= 14, f"{len(band)} rows of the strip's background"
    # and inside it, text in the page's --ticker-color (light), not just an empty box
    light = 0
    for row in band:
        inside = row[row.index(dark) : len(row) - row[::-1].index(dark)]
        light += sum(1 for px in inside if min(px) >= 200)
    assert light >= 40, f"{light} light pixels of text inside the strip"


async def test_widget_js_is_served_with_cors(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    client = await aiohttp_client(create_app(make_settings(), schedule=False))
    resp = await client.get("/widget.js", headers={"Origin": "https://news.example.kz"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = await resp.text()
    assert "EventSource" in body and "TickerWidget" in body and "innerHTML" not in body


async def test_index_page_shows_the_widget_and_how_to_embed_it(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(), schedule=False))
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    html = await resp.text()
    assert '<script src="/widget.js?v=' in html and '<div class="demo" data-ticker>' in html
    for needle in ("&lt;div data-ticker", "&lt;ticker-strip", "data-cities", "data-currencies", "data-lang",
                   "data-theme", "prefers-color-scheme", "data-next", "data-condition", "data-history", "stale_at",
                   "--ticker-color", "--ticker-background", "--ticker-font", "--ticker-up", "--ticker-down",
                   "::part(next)", "min-height: 46px", "all: unset", "screen readers",
                   "/v1/ticker", "/v1/stream", "/openapi.json", "CC BY 4.0", "non-commercial", "NBK"):  # fmt: skip
        assert needle in html, needle


# --- the page's clock against stale_at, and tomorrow's rate, from a fake strip server -----------------------
T0 = "2026-12-01T18:59:57Z"  # 23:59:57 in Astana: today's rates turn stale at midnight, three seconds later
MIDNIGHT = "2026-12-01T19:00:00Z"
MIDNIGHT_MS = 1_796_151_600_000  # the page logs its clock as Date.now(): ms since the epoch
FAR = "2031-01-01T00:00:00Z"  # further ahead than setTimeout can wait (2^31-1 ms, 24.8 days)


def weather_item(city: str, name: str, t: float | None, observed: str | None, stale_at: str | None) -> dict[str, Any]:
    return {"city": city, "name": name, "temperature": t, "unit": "°C", "observed_at": observed,
            "source": "open_meteo" if t is not None else None, "stale": False, "stale_at": stale_at}  # fmt: skip


def rate_item(code: str, rate: float | None, trend: str | None, stale_at: str | None, **more: Any) -> dict[str, Any]:
    return {"currency": code, "rate": rate, "change": None, "trend": trend, "date": "2026-12-01",
            "source": "nbk" if rate is not None else None, "stale": False, "stale_at": stale_at, **more}  # fmt: skip


STRIP: dict[str, Any] = {
    "updated_at": "2026-12-01T18:50:00Z",
    "weather": [
        # a cached body: stale: false, but the page's clock is already past its stale_at
        {**weather_item("astana", "Astana", -3.2, "2026-12-01T18:30:00Z", "2026-12-01T18:55:00Z"),
         "condition": "snow"},
        {**weather_item("almaty", "Almaty", 4.6, "2026-12-01T18:50:00Z", "2026-12-01T19:15:00Z"),
         "condition": None, "source": "met_no"},  # the fallback: credited too
    ],
    "rates": [
        rate_item("USD", 478.77, "down", MIDNIGHT, change=-0.5,
                  next={"rate": 479.1, "change": 0.33, "trend": "up", "date": "2026-12-02"}),
        rate_item("EUR", 548.62, "up", FAR, change=1.2, next=None),
        rate_item("RUB", 5.87, None, "2026-12-02T19:00:00Z", stale=True),  # the body says stale: it is
        rate_item("GBP", None, None, None, stale=True, date=None),
        rate_item("CNY", 69.31, "down", None, source="cbr"),  # a body from before stale_at: current as it says
    ],
}  # fmt: skip

# The page's clock starts at T0 and runs with the browser's (virtual) time. The strip is polled, as a
# browser without EventSource does (an open stream would hold virtual time still). Every timer the page
# sets, and every change to the strips, is logged with the page's time into <output id="log">.
CLOCK_PAGE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>clock</title>
<script>
(() => {
  const Native = Date, offset = Native.parse("%(t0)s") - Native.now();
  window.Date = class extends Native {
    constructor(...args) { if (args.length) super(...args); else super(Native.now() + offset); }
    static now() { return Native.now() + offset; }
  };
  delete window.EventSource;
  window.timers = [];
  const setTimer = window.setTimeout;
  window.setTimeout = (fn, ms, ...args) => (timers.push(ms), setTimer(fn, ms, ...args));
})();
</script>
<script src="/widget.js"></script>
%(mirror)s
</head><body>
<div id="tip" data-ticker></div>
<div id="inline" data-ticker data-next data-currencies="USD,EUR"></div>
<output id="log">[]</output><output id="timers">[]</output>
<script>
  const log = [];
  const root = (id) => document.getElementById(id).shadowRoot;
  const items = (id) => [...root(id).querySelectorAll(".ticker-item")].map((n) => ({
    key: n.getAttribute("data-key"), stale: n.classList.contains("ticker-stale"), title: n.title,
    text: visible(n).replace(/\s+/g, " "),
  }));
  const live = (id) => root(id).querySelector("[aria-live]").textContent;
  const observer = new MutationObserver(() => {
    log.push({ at: Date.now(), tip: items("tip"), inline: items("inline"), live: [live("tip"), live("inline")] });
    document.getElementById("log").textContent = JSON.stringify(log);
    document.getElementById("timers").textContent = JSON.stringify(timers);
  });
  document.addEventListener("DOMContentLoaded", () => {  // after the widget's own: the strips are mounted
    for (const id of ["tip", "inline"]) {
      observer.observe(root(id), { subtree: true, childList: true, attributes: true,
                                   attributeFilter: ["class", "title"] });
    }
  });
</script>
</body></html>
"""


@dataclass
class StripServer:
    url: str
    polls: list[str]  # the query string of every /v1/ticker request
    streams: list[str]  # the query string of every /v1/stream request (each answered 503, as at the cap)
    pages: dict[str, str]  # more pages: /p/{name}


@pytest.fixture
async def strip_server(aiohttp_server: AiohttpServer) -> StripServer:
    polls: list[str] = []
    streams: list[str] = []

    async def page(request: web.Request) -> web.Response:
        text = CLOCK_PAGE % {"t0": T0, "mirror": MIRROR}
        if "eventsource" in request.query:  # keep the browser's EventSource
            text = text.replace("delete window.EventSource;", "")
        return web.Response(text=text, content_type="text/html")

    async def full(request: web.Request) -> web.Response:
        streams.append(request.query_string)
        return web.json_response(
            {"error": "too many streams on this server (2); poll /v1/ticker instead", "status": 503},
            status=503,
            headers={"Retry-After": "30", "Cache-Control": "no-store"},
        )

    async def widget(request: web.Request) -> web.Response:  # and widget-history.js, next to it
        return web.Response(body=(WIDGET_JS.parent / request.path[1:]).read_bytes(), content_type="text/javascript")

    async def ticker(request: web.Request) -> web.Response:
        polls.append(request.query_string)
        wanted = request.query.get("currencies", "").split(",")
        body = {**STRIP, "rates": [r for r in STRIP["rates"] if wanted == [""] or r["currency"] in wanted]}
        if wanted != [""]:
            body["weather"] = []
        return web.json_response(body)

    pages: dict[str, str] = {}

    async def more(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.match_info["name"]], content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/p/{name}", more)
    app.router.add_get("/widget.js", widget)
    app.router.add_get("/widget-history.js", widget)
    app.router.add_get("/v1/ticker", ticker)
    app.router.add_get("/v1/stream", full)
    server = await aiohttp_server(app)
    return StripServer(str(server.make_url("")).rstrip("/"), polls, streams, pages)


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in items}


@needs_chromium
async def test_items_turn_stale_when_the_page_clock_passes_stale_at(strip_server: StripServer, tmp_path: Path) -> None:
    # ten seconds of the page's time: midnight passes three seconds in; the next poll would be at 60 s
    dom = await dump_dom(tmp_path, strip_server.url + "/", budget_ms=10_000)
    log: list[dict[str, Any]] = json.loads(dom.by_id("log").text)
    assert sorted(strip_server.polls) == ["", "currencies=USD,EUR"]  # one body per strip: no refetch, no stream

    first = by_key(next(entry["tip"] for entry in log if entry["tip"]))
    assert {k: v["stale"] for k, v in first.items()} == {
        "weather:astana": True,  # its stale_at had passed before the body arrived
        "weather:almaty": False,
        "rate:USD": False,  # three seconds to go
        "rate:EUR": False,
        "rate:RUB": True,  # stale: true in the body, whatever its stale_at
        "rate:GBP": True,
        "rate:CNY": False,
    }
    assert first["weather:astana"]["title"] == "not current: last updated 2026-12-01 18:30 UTC"
    assert first["rate:USD"]["title"] == "tomorrow: 479.10 ▲"
    assert first["rate:USD"]["text"] == "USD 478.77 ▼"  # tomorrow's rate is in the tooltip only
    assert first["rate:EUR"]["title"] == ""

    # USD turned stale at midnight by the page's clock, not before, and not a poll later
    usd = [(entry["at"], by_key(entry["tip"])["rate:USD"]) for entry in log if entry["tip"]]
    assert all(not shown["stale"] for at, shown in usd if at < MIDNIGHT_MS)
    flips = [at for at, shown in usd if shown["stale"]]
    assert flips, "USD never turned stale"
    assert MIDNIGHT_MS <= flips[0] < MIDNIGHT_MS + 1000
    last = by_key(log[-1]["tip"])
    assert last["rate:USD"]["title"] == "not current: last updated 2026-12-01 · 2026-12-02: 479.10 ▲"
    assert {k for k, v in last.items() if not v["stale"]} == {"weather:almaty", "rate:EUR", "rate:CNY"}
    # the first values and a stale flip are no news to announce: the live regions never spoke
    assert {tuple(entry["live"]) for entry in log} == {("", "")}

    # and the rendered strip at the end agrees with the log
    tip = shadow(dom, "tip")
    assert "ticker-stale" in item(tip, "USD").classes and "ticker-stale" not in item(tip, "EUR").classes
    assert not tip.by_class("ticker-next")

    # one timer per strip per stale_at ahead, no polling loop, and none past what setTimeout can wait:
    # after midnight the inline strip's only stale_at ahead is EUR's, years away
    timers: list[float] = json.loads(dom.by_id("timers").text)
    timers = [ms for ms in timers if ms != 10_000]  # each strip's aria-busy timeout, for an API that never answers
    assert 2 <= len(timers) <= 6, timers
    assert all(1000 <= ms <= 2**31 - 1 for ms in timers), timers


@needs_chromium
async def test_a_stream_refused_with_503_makes_the_widget_poll(strip_server: StripServer, tmp_path: Path) -> None:
    # EventSource kept; the stream answers 503 (the server's cap): each strip polls /v1/ticker instead, and
    # retries the stream only after a back-off (30 s or more), past this page's ten seconds
    dom = await dump_dom(tmp_path, strip_server.url + "/?eventsource", budget_ms=10_000)
    assert sorted(strip_server.streams) == ["", "currencies=USD,EUR"]  # each strip tried its stream once
    assert sorted(strip_server.polls) == ["", "currencies=USD,EUR"]  # then polled
    assert item(shadow(dom, "tip"), "EUR") is not None  # and shows the strip
    timers: list[float] = json.loads(dom.by_id("timers").text)
    assert sum(1 for ms in timers if 15_000 <= ms <= 30_000) == 2, timers  # one stream retry per strip


@needs_chromium
async def test_data_next_shows_tomorrows_rate_inline(strip_server: StripServer, tmp_path: Path) -> None:
    dom = await dump_dom(tmp_path, strip_server.url + "/", budget_ms=10_000)
    log: list[dict[str, Any]] = json.loads(dom.by_id("log").text)
    first = next(entry["inline"] for entry in log if entry["inline"])
    assert first == [
        {"key": "rate:USD", "stale": False, "title": "", "text": "USD 478.77 ▼ tomorrow: 479.10 ▲"},
        {"key": "rate:EUR", "stale": False, "title": "", "text": "EUR 548.62 ▲"},  # next: null
    ]

    usd = item(shadow(dom, "inline"), "USD")
    (nxt,) = usd.by_class("ticker-next")
    # past midnight "tomorrow" would be false: the rate is named by its date
    assert seen(nxt) == "2026-12-02: 479.10 ▲"
    assert said(nxt) == [", up 0.33"]
    assert nxt.by_class("ticker-trend")[0].classes >= {"ticker-up"}
    assert "ticker-stale" in usd.classes and usd.attrs["title"] == "not current: last updated 2026-12-01"


# --- over the DevTools protocol: the real app behind a gate, embedding pages on another origin ---------------
# Page-side helpers, in <head> before the widget: layout-shift entries from the start (buffered), waits on the
# page's own events (a strip's first items, animation frames), boxes, and computed styles inside a shadow root.
PROBE = """<script>
window.shifts = [];
const layoutShifts = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) record(entry);
});
window.moved = [];  // what shifted: each source's node, before and after
const record = (entry) => {
  shifts.push(entry.value);
  for (const s of entry.sources) {
    const n = s.node, r = (x) => [x.x, x.y, x.width, x.height].map(Math.round).join(",");
    const what = n && (n.id || n.className || n.nodeName);
    moved.push(`${entry.value.toFixed(4)} ${what} ${r(s.previousRect)} -> ${r(s.currentRect)}`);
  }
};
layoutShifts.observe({ type: "layout-shift", buffered: true });
window.cls = () => {
  for (const entry of layoutShifts.takeRecords()) if (!entry.hadRecentInput) record(entry);
  return shifts.reduce((a, b) => a + b, 0);
};
window.frames = (n) => new Promise((resolve) => {
  const step = () => (--n > 0 ? requestAnimationFrame(step) : resolve(true));
  requestAnimationFrame(step);
});
window.root = (id) => document.getElementById(id).shadowRoot;
window.rendered = (id) => new Promise((resolve) => {
  const done = () => root(id).querySelector(".ticker-item") && resolve(true);
  done() || new MutationObserver(done).observe(root(id), { subtree: true, childList: true });
});
window.box = (node) => {
  const r = node.getBoundingClientRect();
  return { x: r.x, y: r.y, width: r.width, height: r.height };
};
window.strip = (id) => root(id).querySelector(".ticker-strip");
window.when = (id, test) => new Promise((resolve) => {  // resolves with test()'s first truthy value
  const done = () => { const value = test(); if (value) resolve(value); return value; };
  done() || new MutationObserver(done).observe(root(id), { subtree: true, childList: true, attributes: true,
                                                           characterData: true });
});
const PROPS = ["color", "background-color", "font-family", "font-size", "font-style", "font-weight", "line-height",
  "letter-spacing", "word-spacing", "text-transform", "text-shadow", "text-align", "text-indent", "white-space",
  "-webkit-text-fill-color", "text-decoration-line", "opacity", "visibility", "display", "padding", "margin",
  "border-top-width", "fill", "stroke"];
window.styles = (id) => {
  const origin = strip(id).getBoundingClientRect();
  return [...root(id).querySelectorAll("*")].map((n) => {
    const s = getComputedStyle(n), r = n.getBoundingClientRect();
    const px = (v) => Math.round(v * 100) / 100;  // SVG boxes carry float noise
    return [n.tagName + "." + n.getAttribute("class"), px(r.x - origin.x), px(r.y - origin.y), px(r.width),
      px(r.height), ...PROPS.map((p) => p + ": " + s.getPropertyValue(p))];
  });
};
</script>"""

EMBED = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
{clock}
{probe}
<style>body {{ margin: 13px; }} {css}</style>
<script src="{api}/widget.js"></script>
{script}
</head><body>
{body}
<p id="below">The news below the strip: it must not move when the strip fills.</p>
</body></html>
"""

# What a news site's stylesheet may do to the elements it does not own, short of styling the host's own box
# (size, margins, padding, border: the page lays the host out, by design). Every element back to its initial
# values, then the inherited properties forced on everything (the host passes them on, if anything would), and
# boxes, colours and display forced on every element, class, role and attribute the strip's markup might use.
HOSTILE_CSS = """
body * { all: unset; }
* {
  color: red !important; -webkit-text-fill-color: lime !important; font: italic 700 40px/3 serif !important;
  letter-spacing: 4px !important; word-spacing: 9px !important; text-transform: uppercase !important;
  text-shadow: 2px 2px 0 blue !important; text-align: right !important; text-indent: 30px !important;
  white-space: pre !important; font-variant-numeric: oldstyle-nums !important; cursor: wait !important;
}
div { background: yellow !important; }
span, small, a, svg, path, p, output, [class], [role], [aria-live], [aria-label], [part], [title] {
  display: block !important; background: yellow !important; padding: 9px !important; margin: 5px !important;
  border: 3px solid green !important; opacity: 0.4 !important; width: 300px !important; height: 90px !important;
  fill: red !important; stroke: red !important; position: static !important; clip-path: none !important;
}
[class*="ticker"], .ticker-strip, .ticker-items, .ticker-item, .ticker-credit, .ticker-up, .ticker-down,
.ticker-stale, .ticker-sr, .ticker-skeleton { display: none !important; visibility: hidden !important; }
a { text-decoration: line-through !important; }
"""

# a control for the measurement itself: when the strip fills, the page pushes its own content down
SHIFTER = """<script>
document.addEventListener("DOMContentLoaded", () => rendered("strip").then(() => {
  const push = document.createElement("div");
  push.style.height = "40px";
  document.getElementById("below").before(push);
}));
</script>"""

STRIP_HOST = '<div id="strip" data-ticker data-condition></div>'
DECOYS = '<span class="ticker-up" id="decoy">a page element of its own called .ticker-up</span>'


@dataclass
class Live:
    embed: str  # the embedding site's base URL, another origin than the API's
    pages: dict[str, str]  # path -> HTML the embedding site serves
    gate: asyncio.Event  # while clear, the API holds every /v1/stream and /v1/ticker request
    api: str
    clock: FakeClock
    app: web.Application
    seen: list[str]  # path?query of every API request
    broken: set[str] = field(default_factory=set)  # API paths answered 503
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # API paths held until their event is set

    async def refresh(self, source: str) -> str:
        """The source's run in the next time slot (one run per slot)."""
        self.clock.advance(self.app[SETTINGS].source_config(source).interval)
        return await self.app[REFRESHER].run(source)

    def page(self, path: str, body: str, css: str = "", script: str = "", title: str = "news") -> str:
        self.pages[path] = EMBED.format(
            title=title, clock=page_clock(self.clock.now), probe=PROBE, css=css, api=self.api, script=script, body=body
        )
        return self.embed + path


@pytest.fixture
async def live(
    aiohttp_server: AiohttpServer, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> Live:
    settings = make_settings(
        currencies=["USD", "EUR", "RUB", "CNY"], cities=DEFAULT_CITIES[:2], history={"days": 30, "rate": 1000}
    )
    app = create_app(settings, clock=clock, schedule=False, backfill_sleep=Sleeps(clock))
    gate = asyncio.Event()
    gate.set()
    seen: list[str] = []
    broken: set[str] = set()
    held: dict[str, asyncio.Event] = {}

    @web.middleware
    async def hold(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path_qs)
        if request.path in broken:
            return web.json_response({"error": "down for the test", "status": 503}, status=503)
        if request.path in ("/v1/stream", "/v1/ticker"):
            await gate.wait()
        if request.path in held:
            await held[request.path].wait()
        response: web.StreamResponse = await handler(request)
        return response

    app.middlewares.append(hold)
    api = await aiohttp_server(app)
    upstream.fake.fault["cbr"] = "500"
    assert await app[REFRESHER].run("nbk") == "ok"
    assert await app[REFRESHER].run("open_meteo") == "ok"
    pages: dict[str, str] = {}

    async def page(request: web.Request) -> web.Response:
        if request.path not in pages:
            raise web.HTTPNotFound()  # /favicon.ico
        return web.Response(text=pages[request.path], content_type="text/html")

    embed_app = web.Application()
    embed_app.router.add_get("/{name}", page)
    embed = await aiohttp_server(embed_app)
    embed_url, api_url = str(embed.make_url("")).rstrip("/"), str(api.make_url("")).rstrip("/")
    return Live(embed_url, pages, gate, api_url, clock, app, seen, broken, held)


def clip(box: dict[str, float]) -> dict[str, float]:
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


async def fill(tab: Tab, live: Live, url: str) -> dict[str, Any]:
    """Load a page with the data held back, look, let the data in, look again."""
    live.gate.clear()
    await tab.goto(url)
    await tab.js("frames(2)")
    look = "({host: box(document.getElementById('strip')), strip: box(strip('strip')), " \
           "below: box(document.getElementById('below')), busy: strip('strip').getAttribute('aria-busy'), " \
           "skeletons: root('strip').querySelectorAll('.ticker-skeleton').length})"  # fmt: skip
    before = await tab.js(look)
    shot_before = await tab.screenshot(clip(before["strip"]))
    live.gate.set()
    await tab.js("rendered('strip')")
    await tab.js("frames(3)")  # painted, and its layout shifts (if any) reported
    after = await tab.js(look)
    return {
        "before": before,
        "after": after,
        "shot_before": shot_before,
        "shot_after": await tab.screenshot(clip(after["strip"])),
        "cls": await tab.js("cls()"),
        "moved": await tab.js("moved"),
        "styles": await tab.js("styles('strip')"),
        "page": await tab.screenshot({"x": 0, "y": 0, "width": 800, "height": 600}),
    }


def differing(a: bytes, b: bytes) -> float:
    """The share of pixels that differ between two screenshots of the same size."""
    rows_a, rows_b = png_rows(a), png_rows(b)
    assert (len(rows_a), len(rows_a[0])) == (len(rows_b), len(rows_b[0])), "screenshots of different sizes"
    pixels = [pa != pb for ra, rb in zip(rows_a, rows_b, strict=True) for pa, pb in zip(ra, rb, strict=True)]
    return sum(pixels) / len(pixels)


@needs_chromium
async def test_hostile_css_changes_nothing_and_nothing_moves_when_data_arrives(live: Live, tmp_path: Path) -> None:
    plain_url = live.page("/plain", STRIP_HOST + DECOYS)
    hostile_url = live.page("/hostile", STRIP_HOST, css=HOSTILE_CSS, title="hostile")
    control_url = live.page("/control", STRIP_HOST, script=SHIFTER)
    async with browser_tab(tmp_path) as tab:
        plain = await fill(tab, live, plain_url)
        decoy = await tab.js("getComputedStyle(document.getElementById('decoy')).color")
        page_styles = await tab.js("document.querySelectorAll('style').length + document.adoptedStyleSheets.length")
        hostile = await fill(tab, live, hostile_url)
        control = await fill(tab, live, control_url)

    shots = {}
    for name, run in (("plain", plain), ("hostile", hostile)):
        for when in ("before", "after"):
            shots[name, when] = save_artifact(tmp_path, f"widget-{name}-{when}.png", run["shot_" + when])[-1]
        shots[name, "page"] = save_artifact(tmp_path, f"widget-{name}-page.png", run["page"])[-1]
    where = "screenshots: " + ", ".join(str(p) for p in shots.values())
    print(where, f"CLS plain {plain['cls']:.4f}, hostile {hostile['cls']:.4f}, control {control['cls']:.4f}")

    # before data: a labelled, busy strip of placeholders, already its final height
    for run in (plain, hostile):
        assert run["before"]["busy"] == "true" and run["before"]["skeletons"] == 6, where
        assert run["after"]["busy"] is None and run["after"]["skeletons"] == 0, where
        assert run["before"]["strip"]["height"] == run["after"]["strip"]["height"] > 20, where
        assert run["before"]["below"] == run["after"]["below"], f"the page below the strip moved; {where}"
    # and no layout shift at all, as the browser measures it, including the moment data arrived; the same
    # measurement sees the control page's own push
    assert plain["cls"] == 0 and hostile["cls"] == 0, (plain["moved"], hostile["moved"], where)
    assert control["cls"] > 0, f"the control's shift went unmeasured ({control['cls']}): the probe is blind"

    # the hostile page's strip is the plain page's: every element's computed style and box, and every pixel
    unlike = [(p, h) for p, h in zip(plain["styles"], hostile["styles"], strict=True) if p != h]
    assert not unlike, [[x for x in zip(p, h, strict=True) if x[0] != x[1]] + [p[0]] for p, h in unlike]
    assert len(plain["styles"]) >= 15  # the items, their parts, the credit and its links all compared
    for when in ("before", "after"):
        share = differing(plain["shot_" + when], hostile["shot_" + when])
        pair = f"{shots['plain', when]} vs {shots['hostile', when]}"
        assert share == 0, f"{share:.1%} of the pixels differ {when} data: {pair}"

    # and its CSS stays in its shadow root: the page's own .ticker-up keeps the page's colour
    assert decoy == "rgb(0, 0, 0)" and page_styles == 1


THEMES = """
<div id="light" data-ticker></div>
<div id="vars" data-ticker style="--ticker-color: rgb(1, 2, 3); --ticker-background: rgb(250, 240, 200);
  --ticker-up: rgb(0, 120, 1); --ticker-down: rgb(190, 0, 1); --ticker-font: italic 20px/30px serif"></div>
<div id="dark" data-ticker data-theme="dark"></div>
<div id="auto" data-ticker data-theme="auto"></div>
<ticker-strip id="custom" data-theme="dark" data-currencies="USD"></ticker-strip>
"""
LIGHT = {"color": "rgb(29, 29, 31)", "background": "rgb(255, 255, 255)", "up": "rgb(26, 127, 55)",
         "down": "rgb(198, 40, 40)"}  # fmt: skip
DARK = {"color": "rgb(240, 244, 248)", "background": "rgb(16, 42, 67)", "up": "rgb(126, 226, 168)",
        "down": "rgb(255, 155, 155)"}  # fmt: skip
LOOK = """Object.fromEntries(["light", "vars", "dark", "auto", "custom"].map((id) => {
  const s = getComputedStyle(strip(id)), arrow = (cls) => root(id).querySelector(cls);
  const color = (cls) => arrow(cls) && getComputedStyle(arrow(cls)).color;
  return [id, { color: s.color, background: s.backgroundColor, up: color(".ticker-up"), down: color(".ticker-down"),
                font: [s.fontStyle, s.fontSize, s.lineHeight, s.fontFamily], box: box(strip(id)) }];
}))"""


def colours(look: dict[str, Any]) -> dict[str, Any]:
    return {k: look[k] for k in ("color", "background", "up", "down")}


@needs_chromium
async def test_custom_properties_and_themes_colour_the_strip(live: Live, tmp_path: Path) -> None:
    url = live.page("/themes", THEMES)
    async with browser_tab(tmp_path) as tab:
        await tab.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "light"}])
        await tab.goto(url)
        for host in ("light", "vars", "dark", "auto", "custom"):
            await tab.js(f"rendered('{host}')")
        await tab.js("frames(2)")
        light_os = await tab.js(LOOK)
        shots = {
            host: save_artifact(tmp_path, f"widget-theme-{host}.png", await tab.screenshot(clip(light_os[host]["box"])))
            for host in ("light", "vars", "dark")
        }
        await tab.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
        await tab.js("frames(2)")
        dark_os = await tab.js(LOOK)

    assert colours(light_os["light"]) == LIGHT
    assert colours(light_os["dark"]) == DARK
    assert colours(light_os["custom"]) == {**DARK, "up": None}  # <ticker-strip> mounts itself; USD only, down
    # the custom properties, inherited through the shadow boundary, override the theme
    assert colours(light_os["vars"]) == {"color": "rgb(1, 2, 3)", "background": "rgb(250, 240, 200)",
                                         "up": "rgb(0, 120, 1)", "down": "rgb(190, 0, 1)"}  # fmt: skip
    assert light_os["vars"]["font"][:3] == ["italic", "20px", "30px"] and "serif" in light_os["vars"]["font"][3]
    assert light_os["vars"]["box"]["height"] > light_os["light"]["box"]["height"]  # the line box follows the font
    # auto follows the reader's colour scheme; light and dark do not
    assert colours(light_os["auto"]) == LIGHT and colours(dark_os["auto"]) == DARK
    assert colours(dark_os["light"]) == LIGHT and colours(dark_os["dark"]) == DARK

    # and that is what is painted: the strip's background across most of its pixels
    for host, background in (("light", (255, 255, 255)), ("vars", (250, 240, 200)), ("dark", (16, 42, 67))):
        rows = png_rows(shots[host][0].read_bytes())
        share = sum(px == background for row in rows for px in row) / (len(rows) * len(rows[0]))
        assert share > 0.7, f"{host}: {share:.0%} of {shots[host][-1]} is {background}"


# Options on the <script> tag are every strip's defaults; an element's own override them. 23:51 in Astana:
# today's rates current, tomorrow's USD published; RUB and GBP stale as the body says.
LANGUAGES = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>languages</title>
%(clock)s
%(probe)s
<script src="/widget.js" data-lang="kk" data-next></script>
</head><body>
<div id="kk" data-ticker></div>
<div id="ru" data-ticker data-lang="ru" data-condition></div>
<div id="en" data-ticker data-lang="en-GB" data-next="false" data-condition></div>
</body></html>
"""


async def shadow_of(tab: Tab, host: str) -> Node:
    await tab.js(f"rendered('{host}')")
    return parse(await tab.js(f"root('{host}').innerHTML"))


@needs_chromium
async def test_the_widget_speaks_the_pages_language(strip_server: StripServer, tmp_path: Path) -> None:
    strip_server.pages["languages"] = LANGUAGES % {
        "clock": page_clock(datetime(2026, 12, 1, 18, 51, tzinfo=UTC)),
        "probe": PROBE,
    }
    async with browser_tab(tmp_path) as tab:
        await tab.goto(strip_server.url + "/p/languages")
        kk, ru, en = [await shadow_of(tab, host) for host in ("kk", "ru", "en")]
        icon = await tab.js("box(root('en').querySelector('.ticker-condition'))")
        await tab.js("frames(2)")
        shot = save_artifact(tmp_path, "widget-condition-icon.png", await tab.screenshot(icon))
        strips = {host: await tab.js(f"box(strip('{host}'))") for host in ("kk", "ru", "en")}
        for host, box in strips.items():
            save_artifact(tmp_path, f"widget-lang-{host}.png", await tab.screenshot(box))

    # each strip asked the API for its language, so city names come localised
    assert sorted(strip_server.polls) == ["lang=en", "lang=kk", "lang=ru"]

    def region(strip: Node) -> Node:
        (node,) = strip.by_class("ticker-strip")
        return node

    assert [region(s).attrs["aria-label"] for s in (kk, ru, en)] == [
        "Валюта бағамдары және ауа райы", "Курсы валют и погода", "Exchange rates and weather"
    ]  # fmt: skip
    assert [region(s).attrs["lang"] for s in (kk, ru, en)] == ["kk", "ru", "en"]

    # the credit: the required links in every language, the sources by their local names
    assert [words(s.by_class("ticker-credit")[0]) for s in (kk, ru, en)] == [
        "Ауа райы деректері: Open-Meteo.com · Ауа райы деректері: MET Norway · Бағамдар: ҚРҰБ, Ресей Банкі",
        "Данные о погоде: Open-Meteo.com · Данные о погоде: MET Norway · Курсы: НБРК, Банк России",
        "Weather data by Open-Meteo.com · Weather data by MET Norway · Rates: NBK, CBR",
    ]
    for s in (kk, ru, en):
        links = [n.attrs["href"] for n in s.walk() if n.tag == "a"]
        assert links == ["https://open-meteo.com/", "https://api.met.no/"]

    # tomorrow's rate inline (data-next from the script tag; "false" on the element turns it off)
    assert seen(item(kk, "USD")) == "USD 478.77 ▼ ертең: 479.10 ▲"
    assert seen(item(ru, "USD")) == "USD 478.77 ▼ завтра: 479.10 ▲"
    assert seen(item(en, "USD")) == "USD 478.77 ▼" and item(en, "USD").attrs["title"] == "tomorrow: 479.10 ▲"
    # the trend and the stale state in words
    assert said(item(kk, "USD")) == [", төмендеу 0.5", ", өсу 0.33"]
    assert said(item(ru, "USD")) == [", снижение 0.5", ", рост 0.33"]
    assert said(item(en, "USD")) == [", down 0.5", ", tomorrow: 479.10, up 0.33"]
    assert said(item(kk, "RUB")) == [", ескірген: соңғы жаңарту 2026-12-01"]
    assert said(item(ru, "RUB")) == [", устарело: обновлено 2026-12-01"]
    assert item(ru, "RUB").attrs["title"] == "устарело: обновлено 2026-12-01"
    assert said(item(kk, "GBP")) == [", ескірген: дерек жоқ"]
    assert said(item(ru, "GBP")) == [", устарело: нет данных"]
    assert said(item(en, "GBP")) == [", not current: no data"]

    # data-condition: an icon labelled in the strip's language where the item has a condition; none without
    def icons(strip: Node) -> list[tuple[str, str, str]]:
        return [(n.attrs["class"], n.attrs["role"], n.attrs["aria-label"]) for n in strip.by_class("ticker-condition")]

    assert icons(ru) == [("ticker-condition ticker-condition-snow", "img", "снег")]
    assert not [n for n in ru.by_class("ticker-condition") if "title" in n.attrs]  # one name: a title is read again
    assert icons(en) == [("ticker-condition ticker-condition-snow", "img", "snow")]
    assert icons(kk) == []  # no data-condition
    assert seen(item(en, "Astana")) == "Astana: \u22123 °C"  # the icon is no text
    (svg,) = [n for n in item(en, "Astana").walk() if n.tag == "svg"]
    assert svg.attrs["aria-hidden"] == "true" and len([n for n in svg.walk() if n.tag == "path"]) == 2
    # and it is drawn: a glyph's worth of pixels that are not the background
    rows = png_rows(shot[0].read_bytes())
    inked = sum(1 for row in rows for px in row if max(abs(c - 255) for c in px) > 60)
    assert 15 <= inked <= 0.8 * len(rows) * len(rows[0]), f"{inked} inked pixels in {shot[-1]}"


@needs_chromium
async def test_condition_icons_from_the_real_app(live: Live, upstream: Upstreams, tmp_path: Path) -> None:
    # the fake Open-Meteo's WMO codes: 71 (snow) for Astana, 3 (overcast) for Almaty
    url = live.page("/sky", '<div id="on" data-ticker data-condition data-lang="ru"></div><div id="off" data-ticker>')
    async with browser_tab(tmp_path) as tab:
        await tab.goto(url)
        on, off = [await shadow_of(tab, host) for host in ("on", "off")]
        # then the sky clears over Astana: the next Open-Meteo run reaches the page over the stream
        await tab.js("window.announced = when('on', () => root('on').querySelector('[aria-live]').textContent); 1")
        upstream.fake.weather_codes = [0, 3]
        assert await live.refresh("open_meteo") == "ok"
        announced = await tab.js("announced")
        later = parse(await tab.js("root('on').innerHTML"))
        await tab.js("frames(2)")
        icons = await tab.js("box(root('on').querySelector('.ticker-items'))")
        save_artifact(tmp_path, "widget-condition-live.png", await tab.screenshot(icons))

    def icons_of(strip: Node) -> list[tuple[str, str]]:
        return [(n.attrs["class"].split()[-1], n.attrs["aria-label"]) for n in strip.by_class("ticker-condition")]

    assert icons_of(on) == [("ticker-condition-snow", "снег"), ("ticker-condition-overcast", "пасмурно")]
    assert strip(on)[:2] == ["Астана: \u22123 °C", "Алматы: 12 °C"]
    assert icons_of(off) == []  # without data-condition
    assert announced == "Астана: \u22123 °C, ясно", announced  # the change, and only it, announced
    assert icons_of(later) == [("ticker-condition-clear", "ясно"), ("ticker-condition-overcast", "пасмурно")]
    assert announced == "Астана: \u22123 °C, ясно", announced  # the change, and only it, announced


HISTORY = """<div id="h" data-ticker data-cities="astana" data-currencies="USD,EUR" data-history="30"></div>
<div id="plain" data-ticker data-currencies="USD"></div>"""
CHART = """when('h', () => {
  const panel = root('h').querySelector('.ticker-history'), path = panel.querySelector('path');
  return !panel.hidden && path && panel.textContent.startsWith('%s') &&
    { text: panel.textContent, d: path.getAttribute('d'), panel: box(panel), strip: box(strip('h')),
      item: box(root('h').querySelector('[data-key="rate:%s"]')) };
})"""


@needs_chromium
async def test_data_history_shows_a_sparkline_on_hover_and_focus(
    live: Live, upstream: Upstreams, tmp_path: Path
) -> None:
    upstream.fake.nbk_days = documents(30)  # USD 480.30 thirty days ago down to 451.01 yesterday
    done = await live.app[BACKFILL].run_pass()
    assert len(done.asked) == 30 and not done.failed
    url = live.page("/history", HISTORY)

    async def hover(tab: Tab, x: float, y: float) -> None:
        await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    async with browser_tab(tmp_path) as tab:
        await tab.goto(url)
        h, plain = [await shadow_of(tab, host) for host in ("h", "plain")]
        asked_before = [q for q in live.seen if q.startswith("/v1/rates/history")]
        usd_box = await tab.js("box(root('h').querySelector('[data-key=\"rate:USD\"]'))")
        await hover(tab, usd_box["x"] + 5, usd_box["y"] + 5)
        usd = await tab.js(CHART % ("USD", "USD"))
        await tab.js("frames(2)")
        region = {"x": 0, "y": 0, "width": 800, "height": usd["panel"]["y"] + usd["panel"]["height"] + 8}
        save_artifact(tmp_path, "widget-history.png", await tab.screenshot(region))
        eur_box = await tab.js("box(root('h').querySelector('[data-key=\"rate:EUR\"]'))")
        await hover(tab, eur_box["x"] + 5, eur_box["y"] + 5)
        eur = await tab.js(CHART % ("EUR", "EUR"))
        await hover(tab, 400, 500)  # away: hidden
        hidden_after_leave = await tab.js("when('h', () => root('h').querySelector('.ticker-history').hidden)")
        await tab.js("root('h').querySelector('[data-key=\"rate:USD\"]').focus()")  # the keyboard's way in
        focused = await tab.js(CHART % ("USD", "USD"))
        await tab.js("root('h').querySelector('[data-key=\"rate:USD\"]').blur()")
        hidden_after_blur = await tab.js("when('h', () => root('h').querySelector('.ticker-history').hidden)")
        cls = await tab.js("frames(2).then(cls)")
        moved = await tab.js("moved")

    # rate items take focus and are described by the chart; nothing is asked before a reader looks
    rates = [n for n in h.by_class("ticker-rate")]
    assert [(n.attrs.get("tabindex"), n.attrs.get("aria-describedby")) for n in rates] == [("0", "ticker-history")] * 2
    assert "tabindex" not in item(h, "Astana").attrs
    assert not plain.by_class("ticker-history") and "tabindex" not in item(plain, "USD").attrs
    assert asked_before == []

    # thirty days back from today in Astana, as the API keeps them: one point a day, oldest first
    assert usd["text"] == "USD, 30 days: 480.30 → 478.77"
    assert eur["text"] == "EUR, 30 days: 530.50 → 548.62"
    points = [tuple(map(float, p.split())) for p in usd["d"][1:].split("L")]
    assert len(points) == 31 and points[0][0] == 0 and points[-1][0] == 100
    assert all(a[0] < b[0] for a, b in itertools.pairwise(points))
    ys = [y for _, y in points]  # SVG y grows downwards: the highest rate is the smallest y
    assert ys.index(min(ys)) == 0 and ys.index(max(ys)) == 29  # 480.30 first, 451.01 yesterday
    # below the strip, under the item, over the page: nothing moved
    assert usd["panel"]["y"] == usd["strip"]["y"] + usd["strip"]["height"]
    assert usd["panel"]["x"] == usd["item"]["x"] and eur["panel"]["x"] == eur["item"]["x"]
    assert hidden_after_leave and hidden_after_blur and focused["text"] == usd["text"]
    assert cls == 0, moved
    asked = [q for q in live.seen if q.startswith("/v1/rates/history")]
    assert asked == [  # once per currency: the second look at USD drew what it had
        "/v1/rates/history?currency=USD&from=2026-03-02&to=2026-04-01",
        "/v1/rates/history?currency=EUR&from=2026-03-02&to=2026-04-01",
    ]


@needs_chromium
async def test_the_index_pages_demos_reserve_their_height(live: Live, tmp_path: Path) -> None:
    # the page loads widget.js async: its CSS reserves each demo's height, as the page tells embedders to
    probe = PROBE.removeprefix("<script>").removesuffix("</script>")
    sizes = "[...document.querySelectorAll('.demo')]" \
            ".map((n) => [box(strip(n.id)).height, getComputedStyle(n).minHeight])"  # fmt: skip
    async with browser_tab(tmp_path, width=1024, height=700) as tab:
        await tab.send("Page.addScriptToEvaluateOnNewDocument", source=probe)
        await tab.goto(live.api + "/")
        hosts = await tab.js("[...document.querySelectorAll('.demo')].map((n, i) => (n.id = 'demo' + i)).length")
        for i in range(hosts):
            await tab.js(f"rendered('demo{i}')")
        await tab.js("frames(3)")
        cls, moved, heights = await tab.js("cls()"), await tab.js("moved"), await tab.js(sizes)
        shot = await tab.screenshot({"x": 0, "y": 0, "width": 1024, "height": 420})
        save_artifact(tmp_path, "widget-index.png", shot)
    assert hosts == 3
    # the default font, the credit on a line of its own (the page is narrower than 840 px): the height README gives
    assert heights[:2] == [[46, "46px"], [46, "46px"]]
    assert heights[2][0] <= float(heights[2][1].removesuffix("px")), heights  # <ticker-strip>, in its own font
    assert cls == 0, moved


TRACK_STREAMS = """<script>
window.streams = [];
window.EventSource = class extends EventSource {
  constructor(url) {
    super(url);
    this.opened = new Promise((resolve) => this.addEventListener("open", () => resolve(true)));
    streams.push(this);
  }
};
</script>"""


@needs_chromium
async def test_a_ticker_strip_taken_out_of_the_page_closes_its_stream_and_reopens_when_put_back(
    live: Live, tmp_path: Path
) -> None:
    """A single-page app re-renders: the <ticker-strip> it drops must not keep a connection (a browser allows six
    per origin over HTTP/1.1) nor timers; one it moves or puts back is live again."""
    url = live.page("/spa", '<ticker-strip id="strip" data-currencies="USD"></ticker-strip>', script=TRACK_STREAMS)
    async with browser_tab(tmp_path) as tab:
        await tab.goto(url)
        await tab.js("rendered('strip')")
        assert await tab.js("streams.length === 1 && streams[0].opened")
        await tab.js("window.host = document.getElementById('strip'); host.remove()")
        removed = await tab.js("streams.map((s) => s.readyState)")
        await tab.js("document.body.prepend(host)")
        back = await tab.js("streams.length === 2 && streams[1].opened")
        states = await tab.js("streams.map((s) => s.readyState)")
    assert removed == [2]  # EventSource.CLOSED
    assert back and states == [2, 1]  # one new stream, open; the old one stays closed


@needs_chromium
async def test_a_history_that_cannot_be_had_says_no_data_and_is_not_asked_again_per_hover(
    live: Live, tmp_path: Path
) -> None:
    live.broken.add("/v1/rates/history")
    url = live.page("/history-down", HISTORY)
    async with browser_tab(tmp_path) as tab:
        await tab.goto(url)
        await shadow_of(tab, "h")
        box = await tab.js("box(root('h').querySelector('[data-key=\"rate:USD\"]'))")
        texts = []
        for _ in range(3):  # look, look away, look again
            await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=box["x"] + 5, y=box["y"] + 5)
            texts.append(
                await tab.js(
                    "when('h', () => { const p = root('h').querySelector('.ticker-history');"
                    " return !p.hidden && !p.textContent.endsWith('loading') && p.textContent; })"
                )
            )
            await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=400, y=500)
            await tab.js("when('h', () => root('h').querySelector('.ticker-history').hidden)")
    assert texts == ["USD, 30 days: no data"] * 3  # never left loading
    assert [q for q in live.seen if q.startswith("/v1/rates/history")] == [
        "/v1/rates/history?currency=USD&from=2026-03-02&to=2026-04-01"
    ]  # one request, not one per hover
