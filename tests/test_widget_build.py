"""The shipped widget.js and widget-history.js (data-history's panel, loaded only where a strip asks for it): built
from their sources by the pinned minifier (the same bytes again), widget.js within its budget, and served as cached
assets: br and gzip, a strong ETag per coding and 304, a versioned URL cached immutable while the plain one is
revalidated; widget.js names widget-history.js by its versioned URL."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest
from pytest_aiohttp import AiohttpClient

from tests.conftest import SettingsFactory
from tests.nodejs import built_widget, needs_node
from ticker.run.app import create_app

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "ticker" / "static"
SHIPPED = STATIC / "widget.js"
HISTORY = STATIC / "widget-history.js"
SOURCES = {"widget.js": ROOT / "widget" / "widget.js", "widget-history.js": ROOT / "widget" / "history.js"}
BUDGET = 8 * 1024  # gzipped (gzip -9), README "The widget"
HEADROOM = 1536  # kept free under it


def gzipped(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9))


@needs_node
def test_the_shipped_widget_is_a_fresh_build_of_its_source(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    fresh = built_widget(tmp_path / "one")
    assert sorted(fresh) == sorted(SOURCES)  # every file the build makes is shipped, and checked here
    for name, body in fresh.items():
        assert body == (STATIC / name).read_bytes(), f"ticker/static/{name} is stale: run `node widget/build.mjs`"
        assert len(body) < 0.8 * len(SOURCES[name].read_bytes())  # minified, not copied
    assert fresh == built_widget(tmp_path / "two")  # reproducible: the same inputs, the same bytes


def test_widget_js_fits_its_budget_with_room_to_spare() -> None:
    body, history = SHIPPED.read_bytes(), HISTORY.read_bytes()
    gz, br = gzipped(body), len(brotli.compress(body, quality=11))
    print(f"widget.js: {len(body)} bytes, {gz} gzip -9, {br} br")
    print(f"widget-history.js: {len(history)} bytes, {gzipped(history)} gzip -9")
    assert gz <= BUDGET - HEADROOM, f"widget.js is {gz} bytes gzipped: over {BUDGET - HEADROOM} (8 KB less 1.5 KB)"
    # a page with data-history loads both, and still within the 8 KB; only widget-history.js asks for a history
    assert gz + gzipped(history) <= BUDGET, (gz, gzipped(history))
    assert b"v1/rates/history" in history and b"v1/rates/history" not in body


@pytest.mark.parametrize("name", ["widget.js", "widget-history.js"])
async def test_the_widget_scripts_are_compressed_validated_and_versioned(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, name: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(), schedule=False))
    body = (STATIC / name).read_bytes()
    plain = await client.get(f"/{name}", headers={"Accept-Encoding": "identity", "Origin": "https://news.example.kz"})
    assert plain.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    assert plain.status == 200 and await plain.read() == body
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Cache-Control"] == "public, no-cache"  # stored, revalidated before each use
    tag = plain.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', tag), tag  # strong
    version = tag.strip('"')

    codings = {}
    for coding in ("br", "gzip"):
        resp = await client.get(f"/{name}", headers={"Accept-Encoding": f"{coding}, identity"}, auto_decompress=False)
        assert resp.headers["Content-Encoding"] == coding and "Accept-Encoding" in resp.headers["Vary"]
        codings[coding] = (resp.headers["ETag"], await resp.read())
    assert brotli.decompress(codings["br"][1]) == body and gzip.decompress(codings["gzip"][1]) == body
    assert len({tag, codings["br"][0], codings["gzip"][0]}) == 3  # one strong tag per representation
    assert len(codings["gzip"][1]) <= BUDGET - HEADROOM and len(codings["br"][1]) < len(codings["gzip"][1])

    for sent in (tag, codings["br"][0], f'"other", {codings["gzip"][0]}'):
        again = await client.get(f"/{name}", headers={"If-None-Match": sent, "Accept-Encoding": "gzip"})
        assert again.status == 304 and await again.read() == b""
        assert again.headers["ETag"] == codings["gzip"][0]
    assert (await client.get(f"/{name}", headers={"If-None-Match": '"0000000000000000"'})).status == 200
    head = await client.head(f"/{name}", headers={"Accept-Encoding": "gzip"})
    assert head.status == 200 and head.headers["ETag"] == codings["gzip"][0]

    # the versioned URL names this content for ever; another version is not cached as if it were this one
    versioned = await client.get(f"/{name}?v={version}")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert await versioned.read() == body
    other = await client.get(f"/{name}?v=0123456789abcdef")
    assert other.headers["Cache-Control"] == "public, no-cache"
    if name == "widget-history.js":  # widget.js loads it by this versioned URL, next to itself
        assert SHIPPED.read_bytes().count(f'"widget-history.js?v={version}"'.encode()) == 1


async def test_the_index_page_loads_the_versioned_widget_js(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(), schedule=False))
    version = (await client.get("/widget.js")).headers["ETag"].strip('"').partition("-")[0]
    # the index page loads the versioned URL, and is itself validated
    index = await client.get("/")
    assert f'<script src="/widget.js?v={version}"' in await index.text()
    assert index.headers["ETag"].startswith('"') and index.headers["Cache-Control"] == "public, no-cache"
    assert (await client.get("/", headers={"If-None-Match": index.headers["ETag"]})).status == 304
