"""The in-memory snapshot: the state mirror and its serialized renderings, rebuilt only on change.

Requests read ``render()`` and nothing else: a dict lookup on the hot path, with the body, its gzip and
brotli codings and its validators computed once per change. Changes arrive from the local fetcher, from
the store's announcements (other replicas), and from a timer at the next instant an item turns stale.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal

from multidict import istr

from ticker.models import Rates, Ticker, Weather
from ticker.query import Query, default_query
from ticker.settings import Settings
from ticker.state import Entries, Entry, SourceStatus, merge
from ticker.strip import StripBuilder

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency, but stay correct without it
    brotli = None

View = Literal["ticker", "rates", "weather"]
Clock = Callable[[], datetime]
_CACHE_SIZE = 512


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Rendered:
    body: bytes
    tag: str  # the hash, also the SSE event id
    last_modified: str | None  # HTTP-date
    modified_at: datetime | None
    complete: bool  # every item has a value
    _codings: dict[str, bytes] = field(default_factory=dict)
    # response headers per (coding, allowed origin, Cache-Control): (for 200, for 304)
    variants: dict[tuple[str | None, str | None, str], tuple[dict[istr, str], dict[istr, str]]] = field(
        default_factory=dict
    )

    @property
    def etag(self) -> str:
        return f'"{self.tag}"'

    def coded(self, coding: str) -> bytes:
        """The body in ``gzip`` or ``br``, compressed once."""
        data = self._codings.get(coding)
        if data is None:
            if coding == "br" and brotli is not None:
                data = brotli.compress(self.body, quality=11)
            else:
                data = gzip.compress(self.body, compresslevel=9, mtime=0)
            self._codings[coding] = data
        return data


class Snapshot:
    def __init__(self, settings: Settings, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.entries: dict[str, Entries] = {}
        self.status: dict[str, SourceStatus] = {}
        self.default = default_query(settings)
        self.version = 0
        self._builder = StripBuilder(settings)
        self._cache: OrderedDict[tuple[View, Query], Rendered] = OrderedDict()
        self._plain: dict[str, Rendered] = {}
        self._changed = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    # --- state in ---------------------------------------------------------------------------------

    def apply(self, source: str, entries: Mapping[str, Entry]) -> bool:
        changed = merge(self.entries.setdefault(source, {}), entries)
        if changed:
            self.invalidate()
        return bool(changed)

    def apply_status(self, status: SourceStatus) -> None:
        self.status[status.source] = status

    def load(self, entries: Mapping[str, Entries], status: Mapping[str, SourceStatus]) -> bool:
        changed = False
        for source, source_entries in entries.items():
            changed |= bool(merge(self.entries.setdefault(source, {}), source_entries))
        for source, state in status.items():
            have = self.status.get(source)
            if have is None or (state.last_attempt or datetime.min.replace(tzinfo=UTC)) >= (
                have.last_attempt or datetime.min.replace(tzinfo=UTC)
            ):
                self.status[source] = state
        if changed:
            self.invalidate()
        return changed

    def invalidate(self) -> None:
        """Drop every rendering; wake streams; arm the timer for the next stale flip."""
        self._cache.clear()
        self._plain.clear()
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self.clock()
        built = self._builder.build(self.entries, self.default, now)
        if built.next_change is not None:
            delay = max(0.0, (built.next_change - now).total_seconds()) + 0.001
            self._timer = asyncio.get_running_loop().call_later(delay, self.invalidate)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._changed.set()  # release waiting streams

    async def changed(self) -> None:
        """Return at the next invalidation."""
        await self._changed.wait()

    # --- renderings out ---------------------------------------------------------------------------

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
        rendered = self._render(*key)
        self._cache[key] = rendered
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def _render(self, view: View, query: Query) -> Rendered:
        built = self._builder.build(self.entries, query, self.clock())
        model: Ticker | Rates | Weather
        if view == "rates":
            model = Rates(updated_at=built.updated_at, rates=built.rates)
        elif view == "weather":
            model = Weather(updated_at=built.updated_at, weather=built.weather)
        else:
            model = Ticker(updated_at=built.updated_at, weather=built.weather, rates=built.rates)
        body = model.model_dump_json().encode()
        modified = built.updated_at  # Last-Modified and updated_at are one instant
        return Rendered(
            body=body,
            tag=hashlib.blake2b(body, digest_size=12).hexdigest(),
            last_modified=format_datetime(modified, usegmt=True) if modified else None,
            modified_at=modified,
            complete=all(i.rate is not None for i in built.rates)
            and all(i.temperature is not None for i in built.weather),
        )

    # --- data kinds ---------------------------------------------------------------------------------

    def has_data(self, kind: Literal["rates", "weather"]) -> bool:
        chain = self.settings.rate_sources if kind == "rates" else self.settings.weather_sources
        return any(self.entries.get(source) for source in chain)
