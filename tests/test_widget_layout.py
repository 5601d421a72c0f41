"""No layout shift from the widget, in a real headless Chromium reading its own layout-shift entries: the README's
embed snippet as written (the height reserved on the host, the script at the end of <body>) on a page with hostile
CSS, mounted the moment the script runs; and a value gaining a digit moves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser_tab, needs_chromium
from tests.conftest import Upstreams
from tests.test_a11y import page, readme_block
from tests.test_widget import HOSTILE_CSS, PROBE, Live, page_clock
from tests.test_widget import live as _live  # noqa: F401 - the fixture

pytestmark = needs_chromium


@pytest.fixture
def live(_live: Live) -> Live:  # noqa: F811 - the imported fixture, renamed
    return _live


NEWS = '<h1>News</h1><p id="below">The news below the strip: it must not move when the strip arrives and fills.</p>'
MOUNTED = "<script>window.mountedAtOnce = !!document.querySelector('[data-ticker]').shadowRoot;</script>"


async def test_the_readmes_snippet_as_written_shifts_nothing_on_a_hostile_page(live: Live, tmp_path: Path) -> None:
    snippet = readme_block("embed: widget", "html")
    assert snippet.rstrip().endswith("</script>")  # the script at the end of <body>, after the page
    body = snippet.replace("https://ticker.example", live.api).replace("<!-- the rest of your page -->", NEWS)
    live.pages["/snippet"] = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>hostile</title>'
        f"{page_clock(live.clock.now)}{PROBE}<style>{HOSTILE_CSS}</style></head><body>{body}{MOUNTED}</body></html>"
    )
    async with browser_tab(tmp_path, width=800) as tab:
        live.gate.clear()  # no data yet: the script mounts the strip, then the data lands
        await tab.goto(live.embed + "/snippet")
        await tab.js("document.querySelector('[data-ticker]').id = 'strip'; frames(2)")
        before = await tab.js("box(document.getElementById('below'))")
        live.gate.set()
        await tab.js("rendered('strip').then(() => frames(3))")
        after = await tab.js("box(document.getElementById('below'))")
        cls, moved, at_once = await tab.js("cls()"), await tab.js("moved"), await tab.js("mountedAtOnce")
        height = await tab.js("box(strip('strip')).height")
    print(f"README snippet on a hostile page: CLS {cls}, strip {height} px")
    assert at_once  # mounted the moment the script ran, not at DOMContentLoaded
    assert cls == 0 and before == after, moved
    assert 20 < height <= 46


async def test_a_value_gaining_a_digit_moves_nothing(live: Live, upstream: Upstreams, tmp_path: Path) -> None:
    upstream.fake.temperatures = [9.0, 5.0]
    assert await live.refresh("open_meteo") == "ok"
    live.pages["/digits"] = page(
        "digits",
        PROBE + f'<script src="{live.api}/widget.js"></script>',
        '<div id="strip" data-ticker data-condition></div>',
    )
    boxes = "[...root('strip').querySelectorAll('.ticker-item')].map((n) => [n.textContent.split(',')[0], box(n)])"
    async with browser_tab(tmp_path) as tab:
        await tab.goto(live.embed + "/digits")
        await tab.js("rendered('strip').then(() => frames(2))")
        nine = await tab.js(boxes)
        upstream.fake.temperatures = [10.0, 5.0]
        assert await live.refresh("open_meteo") == "ok"
        await tab.js("when('strip', () => root('strip').querySelector('.ticker-item').textContent.includes('10 °C'))")
        await tab.js("frames(2)")
        ten = await tab.js(boxes)
        cls = await tab.js("cls()")
    assert nine[0][0].startswith("Astana: 9") and ten[0][0].startswith("Astana: 10")
    assert [b for _, b in nine] == [b for _, b in ten]  # every item where it was, as wide as it was
    assert cls == 0
