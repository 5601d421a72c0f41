"""HTTP for pollers and embedders: validators, 304s, Cache-Control, content coding and CORS."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from aiohttp import hdrs, web
from multidict import istr

from ticker.snapshot import Rendered

JSON = "application/json; charset=utf-8"
ETAG = istr("ETag")  # aiohttp's hdrs.ETAG is spelled "Etag"; clients compare case-blind, people don't
NOT_COMPLETE = "no-cache"  # a strip with items still empty: caches must revalidate, not keep it for minutes
EXPOSE = "ETag, Last-Modified, Cache-Control"
ALLOW_HEADERS = "If-None-Match, If-Modified-Since, Last-Event-ID, Cache-Control"


@dataclass(frozen=True)
class Cors:
    origins: tuple[str, ...]

    @property
    def any(self) -> bool:
        return "*" in self.origins

    def headers(self, origin: str | None) -> dict[str, str]:
        if self.any:
            return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE}
        if origin and origin in self.origins:
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Expose-Headers": EXPOSE,
                "Vary": "Origin",
            }
        return {}

    def allows(self, origin: str | None) -> bool:
        return self.any or (origin is not None and origin in self.origins)


def cache_control(max_age: int, swr: int, sie: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={swr}, stale-if-error={sie}"


@functools.lru_cache(maxsize=128)  # browsers send a handful of distinct values
def choose_coding(accept_encoding: str) -> str | None:
    """``br`` over ``gzip``, honouring ``q=0``; None for identity."""
    if not accept_encoding:
        return None
    offered: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        token, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        offered[token.strip()] = q
    star = offered.get("*", 0.0)
    for coding in ("br", "gzip"):
        if offered.get(coding, star) > 0:
            return coding
    return None


def _tags(header: str) -> set[str]:
    tags = set()
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        tags.add(tag.partition("-")[0])  # "abc-gzip" names the same data as "abc"
    return tags


def not_modified(headers: Mapping[str, str], rendered: Rendered) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = _tags(inm)
        return "*" in tags or rendered.tag in tags
    ims = headers.get("If-Modified-Since")
    if ims and rendered.modified_at is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and rendered.modified_at <= since
    return False


def _headers(rendered: Rendered, coding: str | None, cors: Cors, origin: str | None, cache: str) -> dict[istr, str]:
    cors_headers = cors.headers(origin)
    headers = {
        hdrs.CONTENT_TYPE: JSON,
        hdrs.CACHE_CONTROL: cache,
        ETAG: f'"{rendered.tag}-{coding}"' if coding else rendered.etag,
        hdrs.VARY: "Accept-Encoding" if cors.any else "Accept-Encoding, Origin",  # allow-list: caches key on Origin
    }
    if rendered.last_modified:
        headers[hdrs.LAST_MODIFIED] = rendered.last_modified
    if coding:
        headers[hdrs.CONTENT_ENCODING] = coding
    headers.update((istr(k), v) for k, v in cors_headers.items() if k != "Vary")
    return headers


def respond(request: web.Request, rendered: Rendered, cors: Cors, cache: str) -> web.Response:
    """The hot path: body, codings and every header were computed at the last change; here they are
    looked up. Only a conditional request does any parsing."""
    req_headers = request.headers
    accept = req_headers.get(hdrs.ACCEPT_ENCODING)
    coding = choose_coding(accept) if accept else None
    origin = None if cors.any else req_headers.get(hdrs.ORIGIN)
    if origin is not None and origin not in cors.origins:
        origin = None  # keys stay bounded by the allow-list, whatever clients send
    key = (coding, origin, cache)
    variant = rendered.variants.get(key)
    if variant is None:
        full = _headers(rendered, coding, cors, origin, cache if rendered.complete else NOT_COMPLETE)
        bare = {k: v for k, v in full.items() if k not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_ENCODING)}
        variant = rendered.variants[key] = (full, bare)
    if (hdrs.IF_NONE_MATCH in req_headers or hdrs.IF_MODIFIED_SINCE in req_headers) and not_modified(
        req_headers, rendered
    ):
        return web.Response(status=304, headers=variant[1].copy())
    return web.Response(body=rendered.coded(coding) if coding else rendered.body, headers=variant[0].copy())
