"""data-history's panel comes in a script of its own, widget-history.js, so that only pages that show it pay for it:
loaded once by its versioned URL the first time a strip asks for it, never where none does, and a reader who
reached a rate (keyboard focus, pointer) before it arrived gets the panel when it does. The panel's behaviour
itself is tested in test_widget.py (hover, focus, the sparkline) and test_a11y.py (Escape, Enter, hoverable)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.browser import browser_tab, needs_chromium
from tests.test_widget import WIDGET_JS, Live
from tests.test_widget import live as _live  # noqa: F401 - the fixture

pytestmark = needs_chromium


@pytest.fixture
def live(_live: Live) -> Live:  # noqa: F811 - the imported fixture, renamed
    return _live


TWO = """<div id="a" data-ticker data-currencies="USD,EUR" data-history="30"></div>
<p style="height: 200px">(room for a's panel: over b, it would take the pointer off b's rate)</p>
<div id="b" data-ticker data-currencies="USD,EUR" data-history="30"></div>"""
PANEL = """when('%s', () => { const p = root('%s').querySelector('.ticker-history');
  const rate = root('%s').querySelector('[data-key="rate:%s"]');
  return !p.hidden && rate.getAttribute('aria-expanded') === 'true' && p.textContent; })"""
HIDDEN = "['a', 'b'].map((id) => root(id).querySelector('.ticker-history').hidden)"
LOADED = "[...document.scripts].filter((s) => s.src.includes('widget-history.js')).length"


async def test_the_panels_script_loads_once_where_asked_and_opens_what_the_reader_reached_before_it(
    live: Live, tmp_path: Path
) -> None:
    script = asyncio.Event()
    live.held["/widget-history.js"] = script  # the panel's script is slow to come
    async with browser_tab(tmp_path) as tab:
        ready = tab.devtools.expect("Page.domContentEventFired", tab.session)
        loaded = tab.devtools.expect("Page.loadEventFired", tab.session)
        await tab.send("Page.navigate", url=live.page("/lazy", TWO))
        await asyncio.wait_for(ready, 30)
        await tab.js("Promise.all([rendered('a'), rendered('b')])")
        # before it arrives: a rate of one strip focused, the pointer on a rate of the other
        await tab.js("root('a').querySelector('[data-key=\"rate:USD\"]').focus()")
        eur = await tab.js("box(root('b').querySelector('[data-key=\"rate:EUR\"]'))")
        await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=eur["x"] + 5, y=eur["y"] + 5)
        hidden_before = await tab.js(HIDDEN)
        script.set()
        await asyncio.wait_for(loaded, 30)  # the page's load event waited for it
        opened = [await tab.js(PANEL % ("a", "a", "a", "USD")), await tab.js(PANEL % ("b", "b", "b", "EUR"))]
        scripts_in_page = await tab.js(LOADED)
        asked = [q for q in live.seen if q.startswith("/widget-history.js")]

        await tab.goto(live.page("/plain", '<div id="p" data-ticker data-currencies="USD,EUR"></div>'))
        await tab.js("rendered('p')")
        plain = await tab.js(LOADED), [q for q in live.seen if q.startswith("/widget-history.js")]

    assert hidden_before == [True, True]  # nothing to open them with yet
    assert [text.split(":")[0] for text in opened] == ["USD, 30 days", "EUR, 30 days"]
    (version,) = re.findall(r"widget-history\.js\?v=([0-9a-f]{16})", WIDGET_JS.read_text(encoding="utf-8"))
    assert asked == [f"/widget-history.js?v={version}"] and scripts_in_page == 1  # once for both strips
    assert plain == (0, asked)  # a page without data-history never asks for it
