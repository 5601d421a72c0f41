"""The embeddable widget in a real headless Chromium: the app on a real port, the embedding page on another
origin, the rendered DOM read back with --dump-dom, and a screenshot read back pixel by pixel. Then the page's
clock against each item's `stale_at`, and tomorrow's rate, against a fake strip server whose bodies carry them.

Chromium runs under --virtual-time-budget: its timers and its Date run on virtual time, which jumps ahead
whenever the page is idle and ends when the budget is spent, so nothing here sleeps or reads a wall clock."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from tests.conftest import FakeClock, SettingsFactory, Upstreams
from ticker.app import create_app
from ticker.appkeys import REFRESHER
from ticker.settings import DEFAULT_CITIES

WIDGET_JS = Path(__file__).resolve().parent.parent / "ticker" / "static" / "widget.js"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium or chromium-browser binary on PATH (apt-get install chromium)"
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
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
    const items = [...document.querySelectorAll(".ticker-item")];
    items.forEach((n) => n.setAttribute("data-probe", ""));
    document.getElementById("first").textContent = JSON.stringify(items.map((n) => n.textContent));
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

# The public contract: a news site's page on its own origin. The script sits in <head>, before the
# elements exist; the inline scripts record the globals around it and the formatting helpers' answers.
EMBED_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>news.example.kz</title>
{clock}
<style>
  output {{ display: none; }}
  header [data-ticker] {{ padding: 0px; }}
  #ru {{ --ticker-bg: rgb(16, 42, 67); --ticker-color: rgb(240, 244, 248); --ticker-up-color: #7ee2a8; }}
</style>
<script>window.__before = Object.getOwnPropertyNames(window);</script>
{before}
<script src="{api}/widget.js"></script>
<script>
  const leaked = Object.getOwnPropertyNames(window).filter((k) => !__before.includes(k) && k !== "__before");
  const show = (x) => (Object.is(x, -0) ? "-0" : String(x));
  const css = (id, property) => getComputedStyle(document.getElementById(id)).getPropertyValue(property);
  document.addEventListener("DOMContentLoaded", () => {{
    const w = window.TickerWidget;
    document.getElementById("checks").textContent = JSON.stringify({{
      leaked,
      round: [-0.5, -0.4, -2.5, -2.6, 0.5, 2.5, 22.4, -3.6].map((x) => show(w.roundHalfUp(x))),
      temperature: [-0.4, -0.5, 12.5, -7.5, null].map((x) => w.formatTemperature(x, "°C")),
      rate: [478.7, 0.31294, 5.875, null].map(w.formatRate),
      ruStyle: [css("ru", "background-color"), css("ru", "color")],
      allPadding: css("all", "padding"),
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


# --- a small DOM from Chromium's serialization -------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def by_id(self, ident: str) -> Node:
        return next(n for n in self.walk() if n.attrs.get("id") == ident)

    def by_class(self, name: str) -> list[Node]:
        return [n for n in self.walk() if name in n.classes]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def strip(widget: Node) -> list[str]:
    return [" ".join(item.text.split()) for item in widget.by_class("ticker-item")]


def item(widget: Node, prefix: str) -> Node:
    return next(n for n in widget.by_class("ticker-item") if n.text.startswith(prefix))


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
        "/": EMBED_PAGE.format(clock=page_clock(clock.now), api=origin, before=HARNESS, extra=""),
        "/polling": EMBED_PAGE.format(
            clock=page_clock(clock.now),
            api=origin,
            before=stub_es,
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


async def chromium(tmp_path: Path, *args: str, timeout: float = 45) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"  # a fresh profile: no cache, no state
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a hung browser is killed whole
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout:g} s: {args}")
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return out.decode()


async def dump_dom(tmp_path: Path, url: str, budget_ms: int = 5000) -> Node:
    html = await chromium(tmp_path, f"--virtual-time-budget={budget_ms}", "--dump-dom", url)
    return parse(html)


# --- the tests ---------------------------------------------------------------------------------------
@needs_chromium
async def test_widget_renders_live_strips_on_another_origin(sites: Sites, tmp_path: Path) -> None:
    dom = await dump_dom(tmp_path, sites.embed + "/")

    # the first events, as rendered
    first = json.loads(dom.by_id("first").text)
    assert [" ".join(t.split()) for t in first] == [
        "Astana: 0 °C", "Almaty: 13 °C", "USD 478.77 ▼", "EUR 548.62 ▲", "RUB 5.87", "CNY 69.31 ▼",
        "KRW 0.3129 ▼", "GBP —",
        "Алматы: 13 °C", "USD 478.77 ▼",
    ]  # fmt: skip
    assert sites.pokes == ["ok"]
    # then NBK's new USD rate arrived live in both strips; only the USD items were replaced
    full = dom.by_id("all")
    assert strip(full) == [
        "Astana: 0 °C", "Almaty: 13 °C", "USD 480.10 ▲", "EUR 548.62 ▲", "RUB 5.87", "CNY 69.31 ▼",
        "KRW 0.3129 ▼", "GBP —",
    ]  # fmt: skip
    replaced = [n.text.split()[0] for n in dom.by_class("ticker-item") if "data-probe" not in n.attrs]
    assert replaced == ["USD", "USD"]
    status = full.by_class("ticker-items")[0]
    assert status.attrs["role"] == "status" and status.attrs["aria-live"] == "polite"
    usd = item(full, "USD")
    assert "ticker-stale" not in usd.classes and "title" not in usd.attrs
    assert usd.by_class("ticker-trend")[0].classes >= {"ticker-up"}
    assert usd.by_class("ticker-trend")[0].attrs["title"] == "1.33"
    assert item(full, "KRW").by_class("ticker-trend")[0].classes >= {"ticker-down"}
    assert not item(full, "RUB").by_class("ticker-trend")  # flat: no arrow
    cny = item(full, "CNY")
    assert "ticker-stale" in cny.classes
    assert cny.attrs["title"] == "stale: last updated 2026-04-01"
    gbp = item(full, "GBP")
    assert "ticker-stale" in gbp.classes and gbp.attrs["title"] == "stale: no data yet"
    credit = full.by_class("ticker-credit")[0]
    link = next(n for n in credit.walk() if n.tag == "a")
    assert link.text == "Weather data by Open-Meteo.com" and link.attrs["href"] == "https://open-meteo.com/"
    assert "NBK" in credit.text

    ru = dom.by_id("ru")
    assert strip(ru) == ["Алматы: 13 °C", "USD 480.10 ▲"]  # the filters and the language respected

    checks: dict[str, Any] = json.loads(dom.by_id("checks").text)
    assert checks["leaked"] == ["TickerWidget"]
    assert checks["round"] == ["0", "0", "-2", "-3", "1", "3", "22", "-4"]
    assert checks["temperature"] == ["0 °C", "0 °C", "13 °C", "-7 °C", "—"]
    assert checks["rate"] == ["478.70", "0.3129", "5.88", "—"]
    assert checks["ruStyle"] == ["rgb(16, 42, 67)", "rgb(240, 244, 248)"]  # the custom properties apply
    assert checks["allPadding"] == "0px"  # and any page rule beats the built-in ones

    assert sites.count("/widget.js", 200) == 1
    assert sites.count("/v1/stream", 200) == 2  # one stream per element, each with its own filters
    assert sites.count("/v1/ticker") == 0  # no polling while streaming works


@needs_chromium
async def test_without_eventsource_the_widget_polls_and_keeps_its_render_on_304(sites: Sites, tmp_path: Path) -> None:
    # 65 s of virtual time: the first poll at once, the second a minute later with If-None-Match
    dom = await dump_dom(tmp_path, sites.embed + "/polling", budget_ms=65_000)

    assert strip(dom.by_id("all"))[:3] == ["Astana: 0 °C", "Almaty: 13 °C", "USD 478.77 ▼"]
    assert strip(dom.by_id("ru")) == ["Алматы: 13 °C", "USD 478.77 ▼"]
    kk = dom.by_id("kk")  # a city name with markup in it stays text
    assert strip(kk)[0] == XSS + ": 0 °C"
    assert not [n for n in kk.walk() if n.tag == "img"]
    assert dom.by_id("checks").text  # the page's own script ran to the end
    title = next(n for n in dom.walk() if n.tag == "title")
    assert title.text == "news.example.kz"
    assert sites.count("/v1/stream") == 0
    assert sites.count("/v1/ticker", 200) == 3  # one per element
    assert sites.count("/v1/ticker", 304) >= 3  # and a minute later each was told: not modified


def png_rows(data: bytes) -> list[list[tuple[int, int, int]]]:
    """The RGB pixels, row by row, of an 8-bit non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(chunks[b"IDAT"]), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a, b = (line[x - bpp] if x >= bpp else 0), prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([(line[x], line[x + 1], line[x + 2]) for x in range(0, stride, bpp)])
        prev = line
    return rows


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
    assert '<script src="/widget.js"' in html and '<div class="demo" data-ticker>' in html
    for needle in ("&lt;div data-ticker", "data-cities", "data-currencies", "data-lang", "--ticker-bg",
                   "data-next", "stale_at", ".ticker-next",
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
        weather_item("astana", "Astana", -3.2, "2026-12-01T18:30:00Z", "2026-12-01T18:55:00Z"),
        weather_item("almaty", "Almaty", 4.6, "2026-12-01T18:50:00Z", "2026-12-01T19:15:00Z"),
    ],
    "rates": [
        rate_item("USD", 478.77, "down", MIDNIGHT, change=-0.5,
                  next={"rate": 479.1, "change": 0.33, "trend": "up", "date": "2026-12-02"}),
        rate_item("EUR", 548.62, "up", FAR, change=1.2, next=None),
        rate_item("RUB", 5.87, None, "2026-12-02T19:00:00Z", stale=True),  # the body says stale: it is
        rate_item("GBP", None, None, None, stale=True, date=None),
        rate_item("CNY", 69.31, "down", None),  # a body from before stale_at: current as the body says
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
</head><body>
<div id="tip" data-ticker></div>
<div id="inline" data-ticker data-next data-currencies="USD,EUR"></div>
<output id="log">[]</output><output id="timers">[]</output>
<script>
  const log = [];
  const items = (id) => [...document.querySelectorAll("#" + id + " .ticker-item")].map((n) => ({
    key: n.getAttribute("data-key"), stale: n.classList.contains("ticker-stale"), title: n.title,
    text: n.textContent.replace(/\s+/g, " "),
  }));
  const observer = new MutationObserver(() => {
    log.push({ at: Date.now(), tip: items("tip"), inline: items("inline") });
    document.getElementById("log").textContent = JSON.stringify(log);
    document.getElementById("timers").textContent = JSON.stringify(timers);
  });
  for (const id of ["tip", "inline"]) {
    observer.observe(document.getElementById(id), { subtree: true, childList: true, attributes: true,
                                                    attributeFilter: ["class", "title"] });
  }
</script>
</body></html>
"""


@dataclass
class StripServer:
    url: str
    polls: list[str]  # the query string of every /v1/ticker request
    streams: list[str]  # the query string of every /v1/stream request (each answered 503, as at the cap)


@pytest.fixture
async def strip_server(aiohttp_server: AiohttpServer) -> StripServer:
    polls: list[str] = []
    streams: list[str] = []

    async def page(request: web.Request) -> web.Response:
        text = CLOCK_PAGE % {"t0": T0}
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

    async def widget(request: web.Request) -> web.Response:
        return web.Response(body=WIDGET_JS.read_bytes(), content_type="text/javascript")

    async def ticker(request: web.Request) -> web.Response:
        polls.append(request.query_string)
        wanted = request.query.get("currencies", "").split(",")
        body = {**STRIP, "rates": [r for r in STRIP["rates"] if wanted == [""] or r["currency"] in wanted]}
        if wanted != [""]:
            body["weather"] = []
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/widget.js", widget)
    app.router.add_get("/v1/ticker", ticker)
    app.router.add_get("/v1/stream", full)
    server = await aiohttp_server(app)
    return StripServer(str(server.make_url("")).rstrip("/"), polls, streams)


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
    assert first["weather:astana"]["title"] == "stale: last updated 2026-12-01 18:30 UTC"
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
    assert last["rate:USD"]["title"] == "stale: last updated 2026-12-01 · 2026-12-02: 479.10 ▲"
    assert {k for k, v in last.items() if not v["stale"]} == {"weather:almaty", "rate:EUR", "rate:CNY"}

    # and the rendered strip at the end agrees with the log
    tip = dom.by_id("tip")
    assert "ticker-stale" in item(tip, "USD").classes and "ticker-stale" not in item(tip, "EUR").classes
    assert not tip.by_class("ticker-next")

    # one timer per strip per stale_at ahead, no polling loop, and none past what setTimeout can wait:
    # after midnight the inline strip's only stale_at ahead is EUR's, years away
    timers: list[float] = json.loads(dom.by_id("timers").text)
    assert 2 <= len(timers) <= 6, timers
    assert all(1000 <= ms <= 2**31 - 1 for ms in timers), timers


@needs_chromium
async def test_a_stream_refused_with_503_makes_the_widget_poll(strip_server: StripServer, tmp_path: Path) -> None:
    # EventSource kept; the stream answers 503 (the server's cap): each strip polls /v1/ticker instead, and
    # retries the stream only after a back-off (30 s or more), past this page's ten seconds
    dom = await dump_dom(tmp_path, strip_server.url + "/?eventsource", budget_ms=10_000)
    assert sorted(strip_server.streams) == ["", "currencies=USD,EUR"]  # each strip tried its stream once
    assert sorted(strip_server.polls) == ["", "currencies=USD,EUR"]  # then polled
    assert item(dom.by_id("tip"), "EUR") is not None  # and shows the strip
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

    usd = item(dom.by_id("inline"), "USD")
    (nxt,) = usd.by_class("ticker-next")
    # past midnight "tomorrow" would be false: the rate is named by its date
    assert " ".join(nxt.text.split()) == "2026-12-02: 479.10 ▲"
    assert nxt.by_class("ticker-trend")[0].classes >= {"ticker-up"}
    assert "ticker-stale" in usd.classes and usd.attrs["title"] == "stale: last updated 2026-12-01"
