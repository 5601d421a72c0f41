"""HTTP for pollers and embedders: validators, 304s, Cache-Control, content coding and CORS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from aiohttp import web

from ticker.snapshot import Rendered

JSON = "application/json; charset=utf-8"
EXPOSE = "ETag, Last-Modified, Cache-Control, Content-Language"
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


def respond(request: web.Request, rendered: Rendered, cors: Cors, cache: str) -> web.Response:
    """The hot path: every byte was computed at the last change; here only headers are chosen."""
    req_headers = request.headers
    coding = choose_coding(req_headers.get("Accept-Encoding", ""))
    headers = {
        "Content-Type": JSON,
        "Cache-Control": cache,
        "ETag": f'"{rendered.tag}-{coding}"' if coding else rendered.etag,
        "Vary": "Accept-Encoding",
    }
    if rendered.last_modified:
        headers["Last-Modified"] = rendered.last_modified
    cors_headers = cors.headers(req_headers.get("Origin"))
    if cors_headers:
        if "Vary" in cors_headers:
            cors_headers = {**cors_headers, "Vary": "Accept-Encoding, Origin"}
        headers.update(cors_headers)
    if not_modified(req_headers, rendered):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    if coding:
        headers["Content-Encoding"] = coding
        return web.Response(body=rendered.coded(coding), headers=headers)
    return web.Response(body=rendered.body, headers=headers)
