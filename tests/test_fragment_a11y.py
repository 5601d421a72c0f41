"""The HTML fragment (/v1/ticker.html) with the README's CSS as written, light and dark, in a real headless Chromium:
axe-core finds no WCAG 2.2 A/AA violation in en, ru and kk, current, not current and with no data; every colour
that carries meaning is 4.5:1 on the strip; "not current" and "no data" are words on the page."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from tests.browser import browser_tab, needs_chromium
from tests.conftest import SettingsFactory, Upstreams
from tests.nodejs import needs_node
from tests.test_a11y import axe, contrast, page, readme_block, violations
from tests.test_widget import Live
from tests.test_widget import live as _live  # noqa: F401 - the fixture
from ticker.run.app import create_app
from ticker.web.appkeys import REFRESHER, SNAPSHOT

pytestmark = [needs_chromium, needs_node]


@pytest.fixture
def live(_live: Live) -> Live:  # noqa: F811 - the imported fixture, renamed
    return _live


async def test_the_fragment_with_the_readmes_css_passes_axe_light_and_dark(
    live: Live, aiohttp_client: AiohttpClient, make_settings: SettingsFactory, upstream: Upstreams, tmp_path: Path
) -> None:
    css = readme_block("css: fragment", "css")
    # "no data" beside values: Astana's temperature null and a currency NBK does not publish (a strip with no value of
    # a kind at all is a 503, for caches to keep their last good copy)
    upstream.fake.temperatures = [None, 12.0]
    upstream.fake.fault["met_no"] = "500"
    app = create_app(make_settings(currencies=["USD", "XAU"]), clock=live.clock, schedule=False)
    empty = await aiohttp_client(app)
    assert await app[REFRESHER].run("nbk") == "ok"
    await app[REFRESHER].run("open_meteo")
    parts = []
    async with aiohttp.ClientSession() as http:
        for lang in ("en", "ru", "kk"):
            parts.append(await (await http.get(f"{live.api}/v1/ticker.html?lang={lang}")).text())
            parts.append(await (await empty.get(f"/v1/ticker.html?lang={lang}")).text())
        live.clock.advance(2 * 86400)  # two days on: everything held is not current
        live.app[SNAPSHOT].invalidate()
        for lang in ("en", "ru", "kk"):
            parts.append(await (await http.get(f"{live.api}/v1/ticker.html?lang={lang}")).text())
    live.pages["/fragment"] = page("fragment", f"<style>{css}</style>", "\n".join(parts))
    look = """[...document.querySelectorAll(".ticker-strip")].flatMap((s) => {
      const bg = getComputedStyle(s).backgroundColor;
      const kinds = ".ticker-stale, .ticker-note, .ticker-up, .ticker-down, .ticker-attribution a, .ticker-city";
      return [...s.querySelectorAll(kinds)]
        .map((n) => [n.className || n.tagName, getComputedStyle(n).color, bg]);
    })"""  # fmt: skip
    results, ratios = {}, {}
    async with browser_tab(tmp_path, width=800) as tab:
        for scheme in ("light", "dark"):
            await tab.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": scheme}])
            await tab.goto(live.embed + "/fragment")
            results[scheme] = await axe(tab)
            ratios[scheme] = min(contrast(fg, bg) for _, fg, bg in await tab.js(look))
            notes = await tab.js("[...document.querySelectorAll('.ticker-note')].map((n) => n.textContent)")
    print("fragment: axe rules passed", {s: r["passes"] for s, r in results.items()}, "lowest contrast", ratios)
    assert violations(results) == []
    assert min(ratios.values()) >= 4.5, ratios
    for word in ("not current", "no data", "устарело", "нет данных", "ескірген", "дерек жоқ"):
        assert word in notes, word  # said in words, in every language
