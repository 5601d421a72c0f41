"""The embeddable widget in a real headless Chromium: the app on a real port, the embedding page on another
origin, the rendered DOM read back with --dump-dom, and a screenshot read back pixel by pixel."""

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
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from tests.conftest import FakeClock, SettingsFactory, Upstreams
from ticker.app import REFRESHER, create_app
from ticker.settings import DEFAULT_CITIES

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
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    # time passes beyond NBK's stale_after; the next document lacks CNY, so CNY keeps its old value, stale
    clock.advance(settings.nbk.stale_seconds + 60)
    del upstream.fake.rates["CNY"]
    assert await refresher.run("nbk") == "ok"
    assert await refresher.run("open_meteo") == "ok"
    # GBP is configured but no source ever had it: null and stale

    origin = str(api.make_url("")).rstrip("/")
    stub_es = "<script>delete window.EventSource;</script>"  # a browser without EventSource
    pages = {
        "/": EMBED_PAGE.format(api=origin, before=HARNESS, extra=""),
        "/polling": EMBED_PAGE.format(
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
        upstream.fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
        clock.advance(settings.nbk.interval)  # one fetch per slot: the next run is the next slot's
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
                   "/v1/ticker", "/v1/stream", "/openapi.json", "CC BY 4.0", "non-commercial", "NBK"):  # fmt: skip
        assert needle in html, needle
