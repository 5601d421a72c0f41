"""The in-memory snapshot: it listens to the store and renders the strip, once per change.

Requests read ``render()`` and nothing else: a dict lookup on the hot path. The snapshot never writes
anything anywhere; the store tells it when its local copy changed, and a timer tells it when time alone
changes what is shown (a value turning stale, tomorrow's rate at Astana midnight).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Literal

from ticker.clock import Clock
from ticker.models import Rates, Ticker, Weather
from ticker.policy import Policy
from ticker.render.fragment import fragment
from ticker.render.query import Query, default_query
from ticker.render.strip import Built, StripBuilder
from ticker.render.textline import line
from ticker.settings import Settings
from ticker.store.store import Store

# a view is what a route shows: the JSON documents, and the whole strip as a text line or an HTML fragment
View = Literal["ticker", "rates", "weather", "ticker.txt", "ticker.html"]
JSON = "application/json; charset=utf-8"
CONTENT_TYPES: dict[View, str] = {
    "ticker": JSON,
    "rates": JSON,
    "weather": JSON,
    "ticker.txt": "text/plain; charset=utf-8",
    "ticker.html": "text/html; charset=utf-8",
}
_CACHE_SIZE = 512
_TIMER_SLACK = 0.05  # seconds after the instant, so the clock has surely passed it
_RETRY_TIMER = 5.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    tag: str  # the body's hash, also the SSE event id
    last_modified: str | None  # HTTP-date of modified_at
    modified_at: datetime | None
    settled: bool  # every item has a value, or every source that could supply it has answered once
    expires_at: datetime | None  # the earliest instant a value shown as current turns stale
    content_type: str = JSON

    @property
    def etag(self) -> str:
        return f'"{self.tag}"'


class Snapshot:
    def __init__(self, settings: Settings, store: Store, clock: Clock, policy: Policy | None = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.default = default_query(settings)
        self.version = 0
        self._builder = StripBuilder(settings, policy or Policy(settings))
        self._cache: OrderedDict[tuple[View, Query], Rendered] = OrderedDict()
        self._plain: dict[View, Rendered] = {}
        self._changed = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        store.listen(self.invalidate)

    def invalidate(self) -> None:
        """Drop every rendering, wake the streams, and arm the timer for the next change by time."""
        self._cache.clear()
        self._plain.clear()
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        self._arm_timer()

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next invalidation. Take it before rendering, then wait on it: nothing is missed."""
        return self._changed

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        now = self.clock()
        when = self.build(self.default, now).next_change
        if when is not None:
            delay = max(0.0, (when - now).total_seconds()) + _TIMER_SLACK
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        """The timer's boundary: a failure is logged and the timer tried again, never left disarmed."""
        try:
            self.invalidate()
        except Exception:  # the callback boundary: nothing else would see it
            log.exception("re-rendering the strip on its timer failed; trying again in %g s", _RETRY_TIMER)
            self._timer = asyncio.get_running_loop().call_later(_RETRY_TIMER, self._on_timer)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._changed.set()  # release waiting streams

    def build(self, query: Query, now: datetime | None = None) -> Built:
        return self._builder.build(self.store, query, now or self.clock())

    def render(self, view: View, query: Query | None = None) -> Rendered:
        if query is None:  # the common request: no hashing of a Query
            hit = self._plain.get(view)
            if hit is None:
                hit = self._plain[view] = self.render(view, self.default)
            return hit
        key = (view, query)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        rendered = self._render(view, query)
        self._cache[key] = rendered
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def _render(self, view: View, query: Query) -> Rendered:
        if view in ("rates", "weather"):  # each half's validators and lifetimes depend on that half alone
            query = replace(query, cities=()) if view == "rates" else replace(query, currencies=())
        built = self.build(query)
        body = _body(view, built, query.lang)
        # the same data in another format is another representation: its own ETag (the view names the hash)
        person = b"" if CONTENT_TYPES[view] == JSON else view.encode()
        modified = built.updated_at  # Last-Modified and updated_at are one instant
        return Rendered(
            body=body,
            tag=hashlib.blake2b(body, digest_size=12, person=person).hexdigest(),
            last_modified=format_datetime(modified, usegmt=True) if modified else None,
            modified_at=modified,
            settled=built.settled,
            expires_at=built.expires_at,
            content_type=CONTENT_TYPES[view],
        )


def _body(view: View, built: Built, lang: str) -> bytes:
    if view == "ticker.txt":
        return line(built.weather, built.rates).encode()
    if view == "ticker.html":
        return fragment(built.weather, built.rates, lang).encode()
    model: Ticker | Rates | Weather
    if view == "rates":
        model = Rates(updated_at=built.updated_at, rates=built.rates)
    elif view == "weather":
        model = Weather(updated_at=built.updated_at, weather=built.weather)
    else:
        model = Ticker(updated_at=built.updated_at, weather=built.weather, rates=built.rates)
    return model.model_dump_json().encode()
