"""HTTP for pollers and embedders: validators, 304s, Cache-Control, content coding and CORS.

The snapshot renders bodies; this module turns a rendering into responses. Compressed bodies and whole
header sets are computed once per rendering and kept here until the snapshot changes.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from aiohttp import hdrs, web
from multidict import CIMultiDict, istr

from ticker.clock import Clock
from ticker.models import Error
from ticker.render.snapshot import JSON, Rendered, Snapshot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]  # an aiohttp request handler

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency, but stay correct without it
    brotli = None

NOSNIFF = istr("X-Content-Type-Options")
ETAG = istr("ETag")  # aiohttp's hdrs.ETAG is spelled "Etag"; clients compare case-blind, people don't
NOT_SETTLED = "no-cache"  # items still empty while a source has not answered: caches revalidate
BLANK = "no-store"  # a kind with no value at all: nothing any cache should keep, or revalidate into
BLANK_RETRY_AFTER = 30  # seconds: the embedding routes' 503 while a kind has no value at all
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


@dataclass(frozen=True)
class CachePolicy:
    max_age: int
    swr: int
    sie: int = 86400

    def header(self, max_age: int | None = None) -> str:
        age = self.max_age if max_age is None else max_age
        return f"public, max-age={age}, stale-while-revalidate={self.swr}, stale-if-error={self.sie}"


def qualities(header: str) -> dict[str, float]:
    """An Accept-style header's values (lower case) and their ``q`` (1 when absent, 0 when unreadable); a value
    named twice keeps its higher ``q``: ``"text/csv;charset=utf-8;q=0.5, gzip"`` -> ``{"text/csv": 0.5, "gzip": 1}``."""
    out: dict[str, float] = {}
    for part in header.lower().split(","):
        value, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, number = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        value = value.strip()
        out[value] = max(out.get(value, q), q)
    return out


@functools.lru_cache(maxsize=128)  # browsers send a handful of distinct values
def choose_coding(accept_encoding: str) -> str | None:
    """``br`` over ``gzip``, honouring ``q=0``; None for identity."""
    if not accept_encoding:
        return None
    offered = qualities(accept_encoding)
    star = offered.get("*", 0.0)
    for coding in ("br", "gzip"):
        if offered.get(coding, star) > 0:
            return coding
    return None


@functools.lru_cache(maxsize=256)  # a poller sends the same If-None-Match until the data changes
def _tags(header: str) -> frozenset[str]:
    tags = set()
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        tags.add(tag.partition("-")[0])  # "abc-gzip" names the same data as "abc"
    return frozenset(tags)


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


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br" and brotli is not None:
        return bytes(brotli.compress(body, quality=11))
    return gzip.compress(body, compresslevel=9, mtime=0)


def header_set(
    rendered: Rendered, coding: str | None, cache: str, cors: Cors, origin: str | None, vary: str = "Accept-Encoding"
) -> CIMultiDict[str]:
    """The one builder of a 200's headers, for the strip's routes and history alike: type, nosniff, Cache-Control,
    the validators (ETag per coding, Last-Modified), Vary (``vary``, and Origin unless every origin is allowed),
    the content coding and CORS."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers[hdrs.CONTENT_TYPE] = rendered.content_type
    if rendered.content_type != JSON:  # text, HTML and CSV hold configured names: never sniffed as anything else
        headers[NOSNIFF] = "nosniff"
    headers[hdrs.CACHE_CONTROL] = cache
    headers[ETAG] = f'"{rendered.tag}-{coding}"' if coding else rendered.etag
    headers[hdrs.VARY] = vary if cors.any else f"{vary}, Origin"
    if rendered.last_modified:
        headers[hdrs.LAST_MODIFIED] = rendered.last_modified
    if coding:
        headers[hdrs.CONTENT_ENCODING] = coding
    headers.extend((istr(k), v) for k, v in cors.headers(origin).items() if k != "Vary")
    return headers


def without_body_headers(headers: CIMultiDict[str]) -> CIMultiDict[str]:
    """A 304's headers: a 200's less those that describe a body it does not send."""
    return CIMultiDict((k, v) for k, v in headers.items() if k not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_ENCODING))


@dataclass(frozen=True, slots=True)
class Variant:
    """Complete header sets for one (rendering, coding, origin, policy), built once, in the type aiohttp keeps
    (``web.Response`` copies a ``CIMultiDict`` at C speed; a dict it converts key by key)."""

    ok: CIMultiDict[str]  # for a 200
    not_modified: CIMultiDict[str]  # for a 304
    near_at: datetime | None  # from this instant on, max-age is capped by the time left: recomputed per request
    policy: CachePolicy  # held, so that the id() in the variant's key stays this policy's while it is cached


class Responder:
    """Responses for one family of routes; everything per rendering is computed once per change."""

    def __init__(self, snapshot: Snapshot, cors: Cors, clock: Clock) -> None:
        self.snapshot = snapshot
        self.cors = cors
        self.clock = clock
        self._version = -1
        self._codings: dict[tuple[str, str], bytes] = {}
        self._any = cors.any
        # keyed by id(policy), not the policy: a frozen dataclass hashes in Python, on every request
        self._variants: dict[tuple[str, str | None, str | None, int], Variant] = {}

    def _headers(
        self, rendered: Rendered, coding: str | None, origin: str | None, cache: str, policy: CachePolicy
    ) -> Variant:
        headers = header_set(rendered, coding, cache, self.cors, origin)
        bare = without_body_headers(headers)
        near_at = None
        if cache not in (NOT_SETTLED, BLANK) and rendered.expires_at is not None:
            near_at = rendered.expires_at - timedelta(seconds=policy.max_age)
        return Variant(headers, bare, near_at, policy)

    def _cache_control(self, rendered: Rendered, policy: CachePolicy) -> tuple[str, bool]:
        """The header, and whether it may be kept: max-age never outlives the first value shown as current."""
        if rendered.blank is not None:
            return BLANK, True
        if not rendered.settled:
            return NOT_SETTLED, True
        if rendered.expires_at is not None:
            left = int((rendered.expires_at - self.clock()).total_seconds())
            if left < policy.max_age:
                return policy.header(max(0, left)), False
        return policy.header(), True

    def respond(self, request: web.Request, rendered: Rendered, policy: CachePolicy) -> web.Response:
        """The hot path: body, codings and headers were computed at the last change and are looked up."""
        if self.snapshot.version != self._version:
            self._version = self.snapshot.version
            self._codings.clear()
            self._variants.clear()
        if rendered.blank is not None and rendered.content_type != JSON:
            return self._unavailable(request, rendered.blank)
        req_headers = request.headers
        accept = req_headers.get(hdrs.ACCEPT_ENCODING)
        coding = choose_coding(accept) if accept else None
        origin = None if self._any else req_headers.get(hdrs.ORIGIN)
        if origin is not None and origin not in self.cors.origins:
            origin = None  # keys stay bounded by the allow-list, whatever clients send
        key = (rendered.tag, coding, origin, id(policy))
        variant = self._variants.get(key)
        # the clock is read on every request whose answer shows a value that turns stale: once that instant is
        # closer than max-age, Cache-Control is computed afresh, per request (it was Responder._near)
        if variant is None or (variant.near_at is not None and self.clock() > variant.near_at):
            cache, keep = self._cache_control(rendered, policy)
            variant = self._headers(rendered, coding, origin, cache, policy)
            if keep:
                self._variants[key] = variant
        if (
            (hdrs.IF_NONE_MATCH in req_headers or hdrs.IF_MODIFIED_SINCE in req_headers)
            and rendered.blank is None  # a cache revalidating a copy is never told that "no data" is still it
            and not_modified(req_headers, rendered)
        ):
            return web.Response(status=304, headers=variant.not_modified)  # aiohttp copies the headers
        body = rendered.body
        if coding:
            body = self._codings.get((rendered.tag, coding)) or self._codings.setdefault(
                (rendered.tag, coding), compress(rendered.body, coding)
            )
        return web.Response(body=body, headers=variant.ok)

    def _unavailable(self, request: web.Request, blank: str) -> web.Response:
        """The text and HTML strip while a kind has no value at all: 503, so that every cache in front keeps its
        last good copy (stale-if-error, nginx's ``proxy_cache_use_stale http_503``, Varnish's grace) and an
        include without one shows its fallback, never a strip of dashes."""
        error = Error(error=f"no {blank} at all yet: nothing to embed (GET /readyz says why)", status=503)
        headers = {
            "Cache-Control": BLANK,
            "Retry-After": str(BLANK_RETRY_AFTER),
            **self.cors.headers(request.headers.get(hdrs.ORIGIN)),
        }
        return web.Response(
            status=503,
            body=error.model_dump_json(exclude_none=True).encode(),
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )
