"""WCAG 2.2 AA for every reader, in a real headless Chromium: axe-core (pinned in widget/package-lock.json) run on
the widget's open shadow roots in every state (loading, live, not current, data-next, data-history, en/ru/kk,
light/dark, 320 and 1200 px) and on the HTML fragment styled by the README's CSS, light and dark; the contrast
of stale text, marks and arrows as numbers; the history panel by keyboard and pointer; nothing hidden in overflow.
(The fragment: tests/test_fragment_a11y.py; no layout shift: tests/test_widget_layout.py.)"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser import Tab, browser_tab, needs_chromium, png_rows
from tests.nodejs import axe_source, needs_node
from tests.test_widget import PROBE, T0, Live, StripServer, page_clock
from tests.test_widget import live as _live  # noqa: F401 - the fixtures
from tests.test_widget import strip_server as _strip_server  # noqa: F401


@pytest.fixture
def strip_server(_strip_server: StripServer) -> StripServer:  # noqa: F811 - the imported fixture, renamed
    return _strip_server


@pytest.fixture
def live(_live: Live) -> Live:  # noqa: F811
    return _live


README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
pytestmark = [needs_chromium, needs_node]

AXE_RUN = """axe.run(document, {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"] },
  resultTypes: ["violations"],
}).then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, help: v.help,
  nodes: v.nodes.map((n) => [n.target.join(" "), n.failureSummary]) })) }))"""


async def axe(tab: Tab) -> dict[str, Any]:
    if not await tab.js("typeof axe === 'object'"):
        await tab.js(axe_source() + ";1")
    result: dict[str, Any] = await tab.js(AXE_RUN)
    return result


def violations(audits: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(state, rule, element, why) for every violation axe found (printed, one a line)."""
    found = [
        (state, rule["id"], node[0], " ".join(node[1].split())[:300])
        for state, audit in audits.items()
        for rule in audit["violations"]
        for node in rule["nodes"]
    ]
    print("\n".join(" | ".join(v) for v in found))
    return found


def luminance(rgb: str) -> float:
    r, g, b = (int(c) / 255 for c in re.findall(r"\d+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two opaque colours as getComputedStyle gives them."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readme_block(marker: str, fence: str) -> str:
    found = re.findall(rf"^<!-- {re.escape(marker)}\b[^\n]*-->\n```{fence}\n(.*?)\n```$", README, re.M | re.S)
    assert len(found) == 1, f"README.md has {len(found)} ```{fence} blocks marked '{marker}'"
    return str(found[0])


def page(title: str, head: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n{head}\n</head>'
        f"<body><main><h1>News</h1>\n{body}\n</main></body></html>"
    )


# --- the widget, every state ------------------------------------------------------------------------------
HOSTS = {
    "en-light": 'data-lang="en" data-theme="light" data-next data-history="30"',
    "en-dark": 'data-lang="en" data-theme="dark" data-history="30"',
    "ru-light": 'data-lang="ru" data-theme="light" data-history="30"',
    "ru-dark": 'data-lang="ru" data-theme="dark" data-next',
    "kk-light": 'data-lang="kk" data-theme="light" data-next',
    "kk-auto": 'data-lang="kk" data-theme="auto" data-history="30"',
}
STRIPS = "\n".join(f'<div id="{host}" data-ticker {attrs}></div>' for host, attrs in HOSTS.items())
# everything outside its strip or the viewport, or of no size: content hidden without a way to it
HIDDEN = """[...document.querySelectorAll("[data-ticker]")].flatMap((host) => {
  const s = strip(host.id).getBoundingClientRect();
  return [...root(host.id).querySelectorAll(".ticker-item, .ticker-credit")].map((n) => [n, n.getBoundingClientRect()])
    .filter(([n, r]) => r.left < s.left - 0.5 || r.right > s.right + 0.5 || r.right > innerWidth || !r.width)
    .map(([n, r]) => `${host.id} ${n.className} ${Math.round(r.left)}-${Math.round(r.right)} of ${innerWidth}`);
})"""
# every colour that carries meaning, against its strip's background
COLOURS = """Object.fromEntries([...document.querySelectorAll("[data-ticker]")].map((host) => {
  const bg = getComputedStyle(strip(host.id)).backgroundColor, c = (n) => getComputedStyle(n).color;
  const all = (sel) => [...root(host.id).querySelectorAll(sel)].map(c);
  return [host.id, { bg, text: c(strip(host.id)), stale: all(".ticker-stale"), arrows: all(".ticker-trend"),
                     marks: all(".ticker-mark"), next: all(".ticker-next") }];
}))"""
PANEL = """when("%s", () => { const p = root("%s").querySelector(".ticker-history");
  return !p.hidden && /→|%s/.test(p.textContent) && p.textContent; })"""


def hosts_ready(tab: Tab, hosts: list[str]) -> Any:
    return tab.js("Promise.all([" + ",".join(f"rendered('{h}')" for h in hosts) + "]).then(() => frames(2))")


async def test_the_widget_passes_axe_in_every_state_and_hides_nothing(
    strip_server: StripServer, tmp_path: Path
) -> None:
    # 23:59:57 in Astana: Astana's temperature, RUB and GBP (no rate at all) not current, USD's tomorrow published
    strip_server.pages["states"] = page(
        "states", page_clock_at(T0) + PROBE + '<script src="/widget.js" data-condition></script>', STRIPS
    )
    audits: dict[str, dict[str, Any]] = {}
    hidden: dict[str, list[str]] = {}
    colours: dict[str, Any] = {}
    for width in (320, 1200):
        async with browser_tab(tmp_path, width=width, height=1200) as tab:
            for scheme in ("light", "dark"):
                state = f"{width}px {scheme}"
                await tab.send(
                    "Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": scheme}]
                )
                await tab.goto(strip_server.url + "/p/states")
                await hosts_ready(tab, list(HOSTS))
                audits[state] = await axe(tab)
                hidden[state] = await tab.js(HIDDEN)
                colours[state] = await tab.js(COLOURS)
                host = "en-light" if scheme == "light" else "kk-auto"  # the panel open, by keyboard focus
                await tab.js(f"root('{host}').querySelector('.ticker-rate[tabindex]').focus()")
                await tab.js(PANEL % (host, host, "no data|дерек жоқ"))
                audits[state + " history"] = await axe(tab)

    print({state: audit["passes"] for state, audit in audits.items()}, "axe rules passed")
    assert violations(audits) == []
    assert hidden == {state: [] for state in hidden}  # at 320 px the items wrap: all six of each strip in sight

    ratios: dict[str, float] = {}
    for state, strips in colours.items():
        for host, seen in strips.items():
            assert seen["stale"] and seen["marks"] and seen["arrows"], (state, host)  # every kind was there to measure
            for kind in ("text", "stale", "arrows", "next", "marks"):
                for colour in [seen[kind]] if kind == "text" else seen[kind]:
                    key = f"{kind} {'dark' if seen['bg'] != 'rgb(255, 255, 255)' else 'light'}"
                    ratios[key] = min(ratios.get(key, 99.0), contrast(colour, seen["bg"]))
    print("lowest contrast per kind:", {k: round(v, 2) for k, v in sorted(ratios.items())})
    low = {k: v for k, v in ratios.items() if v < (3.0 if k.startswith("marks") else 4.5)}
    assert not low, low  # text and arrows 4.5:1, the stale mark (non-text) 3:1, in both themes
    assert {"stale light", "stale dark", "arrows light", "arrows dark"} <= set(ratios)


def page_clock_at(instant: str) -> str:
    return page_clock(datetime.fromisoformat(instant.replace("Z", "+00:00")))


@pytest.mark.parametrize("width", [320, 1200])
async def test_loading_failing_and_live_strips_pass_axe(live: Live, tmp_path: Path, width: int) -> None:
    live.pages["/states"] = page(
        "live", page_clock(live.clock.now) + PROBE + f'<script src="{live.api}/widget.js"></script>', STRIPS
    )
    live.pages["/down"] = page(
        "down", PROBE + f'<script src="{live.api}/widget.js"></script>', '<div id="d" data-ticker></div>'
    )
    async with browser_tab(tmp_path, width=width, height=1200) as tab:
        live.gate.clear()  # the API holds every request: the strips are loading
        await tab.goto(live.embed + "/states")
        await tab.js("frames(2)")
        credits = await tab.js(
            "[...document.querySelectorAll('[data-ticker]')]"
            ".map((h) => root(h.id).querySelector('.ticker-credit').textContent)"
        )
        busy = await tab.js(
            "[...document.querySelectorAll('[data-ticker]')].map((h) => strip(h.id).getAttribute('aria-busy'))"
        )
        loading = await axe(tab)
        live.gate.set()
        await hosts_ready(tab, list(HOSTS))
        current = await axe(tab)
        live.broken.update({"/v1/stream", "/v1/ticker"})  # an API that fails: busy no more, "no data" said
        await tab.goto(live.embed + "/down")
        failed = await tab.js(
            "when('d', () => !strip('d').hasAttribute('aria-busy') && "
            "root('d').querySelector('.ticker-items').textContent)"
        )
        down = await axe(tab)
    assert busy == ["true"] * len(HOSTS)
    assert credits == [""] * len(HOSTS)  # nothing shown yet: no source credited
    assert violations({"loading": loading, "live": current, "failed": down}) == []
    assert failed == "no data"


# the page's timers run a thousand times faster: the widget's patience with a silent API passes in milliseconds
FAST_TIMERS = """<script>
const nativeTimeout = window.setTimeout;
window.setTimeout = (fn, ms, ...args) => nativeTimeout(fn, (ms || 0) / 1000, ...args);
</script>"""


async def test_an_api_that_never_answers_does_not_leave_the_strip_busy(live: Live, tmp_path: Path) -> None:
    live.pages["/silent"] = page(
        "silent",
        FAST_TIMERS + PROBE + f'<script src="{live.api}/widget.js"></script>',
        '<div id="s" data-ticker></div>',
    )
    async with browser_tab(tmp_path) as tab:
        live.gate.clear()  # every /v1/stream and /v1/ticker request held, never answered
        await tab.goto(live.embed + "/silent")
        said = await tab.js(
            "when('s', () => !strip('s').hasAttribute('aria-busy') && "
            "root('s').querySelector('.ticker-items').textContent)"
        )
        asked = [path for path in live.seen if path.startswith("/v1/")]
        audit = await axe(tab)
        live.gate.set()
    # busy no more, though nothing the strip asked for ever answered (on a loaded machine the widget's busy timer can
    # fire before its stream request reaches the server: then it has asked nothing yet, which proves the same)
    assert said == "no data"
    assert all(path.startswith(("/v1/stream", "/v1/ticker")) for path in asked), asked  # each held by the gate
    assert violations({"silent": audit}) == []


# --- the history panel, by keyboard and by pointer ------------------------------------------------------------
async def key(tab: Tab, name: str, code: int) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        await tab.send("Input.dispatchKeyEvent", type=kind, key=name, code=name, windowsVirtualKeyCode=code)


async def test_the_history_panel_is_a_button_dismissed_by_escape_and_hoverable(live: Live, tmp_path: Path) -> None:
    live.pages["/history"] = page(
        "history",
        PROBE + f'<script src="{live.api}/widget.js"></script>',
        '<div id="h" data-ticker data-currencies="USD,EUR" data-history="30"></div>',
    )
    state = "(() => { const u = root('h').querySelector('[data-key=\"rate:USD\"]')," \
            " p = root('h').querySelector('.ticker-history');" \
            " return { role: u.getAttribute('role'), expanded: u.getAttribute('aria-expanded'), hidden: p.hidden," \
            " focused: root('h').activeElement && root('h').activeElement.getAttribute('data-key')," \
            " said: root('h').querySelector('[aria-live]').textContent, text: p.textContent }; })()"  # fmt: skip
    async with browser_tab(tmp_path) as tab:
        await tab.goto(live.embed + "/history")
        await tab.js("rendered('h')")
        closed = await tab.js(state)
        await key(tab, "Tab", 9)  # the keyboard's way in: the first rate
        summary = await tab.js(PANEL % ("h", "h", "no data"))
        by_tab = await tab.js(state)
        usd = await tab.js("frames(2).then(() => box(root('h').querySelector('[data-key=\"rate:USD\"]')))")
        ring = png_rows(await tab.screenshot({"x": usd["x"] - 3, "y": usd["y"] - 3, "width": usd["width"] + 6,
                                              "height": usd["height"] + 6}))  # fmt: skip
        await key(tab, "Escape", 27)
        escaped = await tab.js(state)
        await key(tab, "Enter", 13)
        entered = await tab.js(state)
        await key(tab, "Enter", 13)
        toggled = await tab.js(state)
        await tab.js("root('h').activeElement.blur()")
        # the pointer: onto the rate, then straight down onto the panel, two pixels at a time
        usd = await tab.js("box(root('h').querySelector('[data-key=\"rate:USD\"]'))")
        x, y = usd["x"] + 5, usd["y"] + usd["height"] / 2
        await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        panel = await tab.js("frames(1).then(() => box(root('h').querySelector('.ticker-history')))")
        path = []
        while y < panel["y"] + panel["height"] / 2:
            y += 2
            await tab.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
            path.append(await tab.js("root('h').querySelector('.ticker-history').hidden"))
        await key(tab, "Escape", 27)  # dismissed where the pointer is, without moving it
        hovered_escaped = await tab.js(state)
        audit = await axe(tab)

    assert closed["role"] == "button" and closed["expanded"] == "false" and closed["hidden"]
    assert by_tab["focused"] == "rate:USD" and by_tab["expanded"] == "true" and not by_tab["hidden"]
    # the focus ring, whole: its top and bottom lines drawn in the text's colour, nothing clipped off
    for line in (ring[0], ring[1], ring[-2], ring[-1]):
        assert sum(1 for px in line if contrast(str(px), "rgb(255, 255, 255)") >= 3) >= 0.8 * len(line), line
    assert summary.startswith("USD, 30 days: ") and by_tab["said"] == summary  # announced when it arrived
    assert escaped["hidden"] and escaped["expanded"] == "false" and escaped["focused"] == "rate:USD"
    assert not entered["hidden"] and entered["text"] == summary and toggled["hidden"]
    assert path and not any(path), path  # never closed on the way from the rate onto the panel
    assert hovered_escaped["hidden"]
    assert violations({"history": audit}) == []
