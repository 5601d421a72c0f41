"""The shipped widget.js: built from its source by the pinned minifier (the same bytes again), within its budget,
and served as a cached asset: br and gzip, a strong ETag per coding and 304, a versioned URL cached immutable
while /widget.js itself is revalidated."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
from pytest_aiohttp import AiohttpClient

from tests.conftest import SettingsFactory
from tests.nodejs import built_widget, needs_node
from ticker.run.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "ticker" / "static" / "widget.js"
BUDGET = 8 * 1024  # gzipped (gzip -9), README "The widget"
HEADROOM = 1536  # kept free under it


@needs_node
def test_the_shipped_widget_is_a_fresh_build_of_its_source() -> None:
    fresh = built_widget()
    assert fresh == SHIPPED.read_bytes(), "ticker/static/widget.js is stale: run `node widget/build.mjs` and commit it"
    assert fresh == built_widget()  # reproducible: the same inputs, the same bytes
    source = (ROOT / "widget" / "widget.js").read_bytes()
    assert len(fresh) < 0.8 * len(source)  # minified, not copied


def test_widget_js_fits_its_budget_with_room_to_spare() -> None:
    body = SHIPPED.read_bytes()
    gz, br = len(gzip.compress(body, compresslevel=9)), len(brotli.compress(body, quality=11))
    print(f"widget.js: {len(body)} bytes, {gz} gzip -9, {br} br")
    assert gz <= BUDGET - HEADROOM, f"widget.js is {gz} bytes gzipped: over {BUDGET - HEADROOM} (8 KB less 1.5 KB)"


async def test_widget_js_is_compressed_validated_and_versioned(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(), schedule=False))
    body = SHIPPED.read_bytes()
    plain = await client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert plain.status == 200 and await plain.read() == body
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Cache-Control"] == "public, no-cache"  # stored, revalidated before each use
    tag = plain.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', tag), tag  # strong
    version = tag.strip('"')

    codings = {}
    for coding in ("br", "gzip"):
        resp = await client.get("/widget.js", headers={"Accept-Encoding": f"{coding}, identity"}, auto_decompress=False)
        assert resp.headers["Content-Encoding"] == coding and "Accept-Encoding" in resp.headers["Vary"]
        codings[coding] = (resp.headers["ETag"], await resp.read())
    assert brotli.decompress(codings["br"][1]) == body and gzip.decompress(codings["gzip"][1]) == body
    assert len({tag, codings["br"][0], codings["gzip"][0]}) == 3  # one strong tag per representation
    assert len(codings["gzip"][1]) <= BUDGET - HEADROOM and len(codings["br"][1]) < len(codings["gzip"][1])

    for sent in (tag, codings["br"][0], f'"other", {codings["gzip"][0]}'):
        again = await client.get("/widget.js", headers={"If-None-Match": sent, "Accept-Encoding": "gzip"})
        assert again.status == 304 and await again.read() == b""
        assert again.headers["ETag"] == codings["gzip"][0]
    assert (await client.get("/widget.js", headers={"If-None-Match": '"0000000000000000"'})).status == 200
    head = await client.head("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert head.status == 200 and head.headers["ETag"] == codings["gzip"][0]

    # the versioned URL names this content for ever; another version is not cached as if it were this one
    versioned = await client.get(f"/widget.js?v={version}")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert await versioned.read() == body
    other = await client.get("/widget.js?v=0123456789abcdef")
    assert other.headers["Cache-Control"] == "public, no-cache"

    # the index page loads the versioned URL, and is itself validated
    index = await client.get("/")
    assert f'<script src="/widget.js?v={version}"' in await index.text()
    assert index.headers["ETag"].startswith('"') and index.headers["Cache-Control"] == "public, no-cache"
    assert (await client.get("/", headers={"If-None-Match": index.headers["ETag"]})).status == 304
