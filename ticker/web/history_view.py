"""GET /v1/rates/history: NBK's official rates for one currency over a range of dates, as JSON or CSV.

The handler reads the store's local copy of the history and nothing else (no Redis, no upstream). Renderings
(body, validator, compressed bodies) are kept per (currency, range, format) until the history changes.
Caching: a range that ends before today and holds every date is immutable; anything else (today included, or a
date still missing: the backfill may yet fill it) follows the strip's rates max-age.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from aiohttp import hdrs, web
from multidict import MultiMapping

from ticker.clock import astana_date
from ticker.models import History, HistoryPoint
from ticker.render.query import QueryError
from ticker.render.snapshot import JSON, Rendered
from ticker.store.history import Day
from ticker.web.appkeys import CACHE_POLICY, CLOCK, CORS, SETTINGS, STORE
from ticker.web.respond import choose_coding, compress, header_set, not_modified, qualities, without_body_headers

KNOWN = ("currency", "from", "to", "format")
FORMATS = ("json", "csv")
MAX_DAYS = 366  # per request, both ends included
DEFAULT_DAYS = 30  # ``from`` defaults to this many days before ``to``
IMMUTABLE = "public, max-age=86400, immutable"
CSV = "text/csv; charset=utf-8; header=present"
CSV_HEADER = "date,currency,rate,change"
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CACHE_SIZE = 256


@dataclass(frozen=True)
class HistoryQuery:
    currency: str
    start: date
    end: date
    csv: bool


def _date(params: MultiMapping[str], name: str) -> date | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise QueryError(name, f"{name} must be a date as YYYY-MM-DD, got {raw[:20]!r}", ["YYYY-MM-DD"]) from None


def wants_csv(accept: str) -> bool:
    """``Accept`` prefers text/csv over application/json (wildcards count for neither)."""
    quality = qualities(accept)
    csv, json = quality.get("text/csv", 0.0), quality.get("application/json", 0.0)
    return csv > 0 and csv > json


def parse_history_query(params: MultiMapping[str], currencies: list[str], today: date, accept: str) -> HistoryQuery:
    """The request's currency, range and format; QueryError names the parameter and what it allows."""
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise QueryError(unknown[0], f"unknown query parameter {unknown[0]!r}", list(KNOWN))
    allowed = {"currency": currencies, "from": ["YYYY-MM-DD"], "to": ["YYYY-MM-DD"], "format": list(FORMATS)}
    for name in KNOWN:
        if len(params.getall(name, ())) > 1:
            raise QueryError(name, f"{name} is given more than once: give it once", allowed[name])
    raw = params.get("currency")
    if raw is None:
        raise QueryError("currency", "currency is required", currencies)
    currency = raw.upper()
    if currency not in currencies:
        raise QueryError("currency", f"unknown currency {raw[:20]!r}", currencies)
    end = _date(params, "to") or today
    start = _date(params, "from")
    if start is None:
        try:
            start = end - timedelta(days=DEFAULT_DAYS)
        except OverflowError:
            raise QueryError("to", "to is too early for the default range of 30 days", ["YYYY-MM-DD"]) from None
    if start > end:
        raise QueryError("from", f"from ({start}) is after to ({end})", [f"a date up to {end}"])
    if (end - start).days + 1 > MAX_DAYS:
        raise QueryError("from", f"at most {MAX_DAYS} days per request, both ends included", [f"{MAX_DAYS} days"])
    fmt = params.get("format")
    if fmt is not None and fmt.lower() not in FORMATS:
        raise QueryError("format", f"unknown format {fmt[:20]!r}", list(FORMATS))
    csv = fmt.lower() == "csv" if fmt is not None else wants_csv(accept)
    return HistoryQuery(currency, start, end, csv)


def points(held: Mapping[date, Day], start: date, end: date) -> list[tuple[date, Day]]:
    """The held dates of the range, ascending; a missing date is skipped, never filled in."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))  # never a day past ``end``
    return [(day, value) for day in days if (value := held.get(day)) is not None]


def render_json(currency: str, found: list[tuple[date, Day]]) -> bytes:
    rates = [HistoryPoint(date=day, rate=value.rate, change=value.change) for day, value in found]
    return History(currency=currency, source="nbk", rates=rates).model_dump_json().encode()


def render_csv(currency: str, found: list[tuple[date, Day]]) -> bytes:
    lines = [CSV_HEADER]
    for day, value in found:
        change = "" if value.change is None else repr(value.change)
        lines.append(f"{day.isoformat()},{currency},{value.rate!r},{change}")
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class CachedRange:
    """One (currency, range, format) rendered, kept until the history changes."""

    rendered: Rendered
    complete: bool  # every date of the range is held
    codings: dict[str, bytes] = field(default_factory=dict)


class HistoryView:
    """The handler, with its renderings; bound to one app."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._version = -1
        self._cache: OrderedDict[HistoryQuery, CachedRange] = OrderedDict()

    def _cached(self, query: HistoryQuery) -> CachedRange:
        store = self.app[STORE]
        if store.history_version != self._version:
            self._version = store.history_version
            self._cache.clear()
        cached = self._cache.get(query)
        if cached is None:
            found = points(store.history.get(query.currency, {}), query.start, query.end)
            body = (render_csv if query.csv else render_json)(query.currency, found)
            tag = hashlib.blake2b(body, digest_size=12).hexdigest()
            rendered = Rendered(body, tag, None, None, True, None, CSV if query.csv else JSON)
            cached = CachedRange(rendered, len(found) == (query.end - query.start).days + 1)
            self._cache[query] = cached
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return cached

    async def __call__(self, request: web.Request) -> web.Response:
        app = self.app
        settings = app[SETTINGS]
        if not settings.history_on:
            raise web.HTTPNotFound(reason="history is off (TICKER_HISTORY__DAYS=0, or nbk is not a rate source)")
        today = astana_date(app[CLOCK]())
        query = parse_history_query(request.query, settings.currencies, today, request.headers.get(hdrs.ACCEPT, ""))
        cached = self._cached(query)
        rendered = cached.rendered
        coding = choose_coding(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
        immutable = query.end < today and cached.complete
        cache = IMMUTABLE if immutable else app[CACHE_POLICY]["rates"].header()
        origin = request.headers.get(hdrs.ORIGIN)
        headers = header_set(rendered, coding, cache, app[CORS], origin, vary="Accept, Accept-Encoding")
        if not_modified(request.headers, rendered):
            return web.Response(status=304, headers=without_body_headers(headers))
        body = rendered.body
        if coding:
            body = cached.codings.get(coding) or cached.codings.setdefault(coding, compress(body, coding))
        return web.Response(body=body, headers=headers)
