"""The files the service ships as they are (the widget's scripts, the index page): read once, compressed once (br,
gzip), each with a strong ETag from its content and 304s. The scripts are also served at a versioned URL,
``/widget.js?v=<version>`` (the version is its ETag's value), which names one content for ever and so is cached a
year, ``immutable``; ``/widget.js`` itself is revalidated on every use (a 304 once the browser has it).
``/widget-history.js`` is data-history's panel, which widget.js loads by its versioned URL (widget/build.mjs
writes the version in) when a strip asks for it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web
from multidict import CIMultiDict

from ticker.web.appkeys import CORS
from ticker.web.respond import ETAG, NOSNIFF, Handler, choose_coding, compress

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"  # stored, but asked about (If-None-Match) before each use


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str  # the content's hash: the ETag's value and the ?v= of the versioned URL
    coded: dict[str, bytes]  # "br", "gzip" -> the body so coded

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        version = hashlib.sha256(body).hexdigest()[:16]
        return cls(body, content_type, version, {coding: compress(body, coding) for coding in ("br", "gzip")})

    def tag(self, coding: str | None) -> str:
        """A strong validator per representation: the same bytes under one coding, never two."""
        return f'"{self.version}-{coding}"' if coding else f'"{self.version}"'

    def matches(self, if_none_match: str) -> bool:
        for raw in if_none_match.split(","):
            tag = raw.strip().removeprefix("W/").strip('"')
            if tag == "*" or tag.partition("-")[0] == self.version:
                return True
        return False


def static_asset(name: str) -> bytes:
    return resources.files("ticker").joinpath("static", name).read_bytes()


def asset_handler(asset: Asset, cache_control: str = REVALIDATE, versioned: bool = False) -> Handler:
    """``versioned``: ``?v=`` equal to the asset's version is cached immutable; any other stays revalidated."""

    async def handler(request: web.Request) -> web.Response:
        coding = choose_coding(request.headers.get("Accept-Encoding", ""))
        policy = IMMUTABLE if versioned and request.query.get("v") == asset.version else cache_control
        headers = CIMultiDict(
            {
                "Cache-Control": policy,
                "Vary": "Accept-Encoding",
                NOSNIFF: "nosniff",
                **request.app[CORS].headers(request.headers.get("Origin")),
            }
        )
        headers[ETAG] = asset.tag(coding)
        if asset.matches(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = f"{asset.content_type}; charset=utf-8"
        if coding:
            headers["Content-Encoding"] = coding
        return web.Response(body=asset.coded[coding] if coding else asset.body, headers=headers)

    return handler


def routes() -> list[tuple[str, Handler]]:
    """/widget.js, /widget-history.js and / (whose script tag names the versioned URL); none where the files are
    not installed."""
    try:
        widget = Asset.of(static_asset("widget.js"), "text/javascript")
        history = Asset.of(static_asset("widget-history.js"), "text/javascript")
        index = static_asset("index.html")
    except FileNotFoundError:
        return []
    page = index.replace(b'src="/widget.js"', f'src="/widget.js?v={widget.version}"'.encode())
    return [
        ("/widget.js", asset_handler(widget, versioned=True)),
        ("/widget-history.js", asset_handler(history, versioned=True)),
        ("/", asset_handler(Asset.of(page, "text/html"))),
    ]
