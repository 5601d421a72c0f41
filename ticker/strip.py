"""Build the strip from the stores' entries: pure, so every replica builds the same bytes.

For each configured item, the first source in its chain with a fresh value wins; when none is fresh,
the most recently confirmed value is shown, marked stale; before any data the item is null and stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from providers.base import Rate, Temperature
from ticker.models import RateItem, WeatherItem
from ticker.query import Query
from ticker.settings import Settings
from ticker.state import Entries, Entry, usable


@dataclass(frozen=True)
class Pick:
    entry: Entry | None
    stale: bool
    since: datetime | None  # when what this item shows last changed: a new value, a switch, a stale flip


@dataclass(frozen=True)
class Built:
    weather: list[WeatherItem]
    rates: list[RateItem]
    updated_at: datetime | None  # when what the body shows last changed (derived from the store: same everywhere)
    next_change: datetime | None  # the next instant a shown item turns stale


class StripBuilder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stale_after = {
            name: timedelta(seconds=settings.source_config(name).stale_seconds) for name in settings.source_names
        }
        self._cities = {city.id: city for city in settings.cities}

    def _pick(
        self, chain: Sequence[str], key: str, entries: Mapping[str, Entries], now: datetime
    ) -> tuple[Pick, list[datetime]]:
        """The first fresh value in chain order, else the newest stale one; and every deadline seen."""
        found = [
            (entry, entry.fetched_at + self._stale_after[source])
            for source in chain
            if (entry := entries.get(source, {}).get(key)) is not None
        ]
        deadlines = [deadline for _, deadline in found]
        showable = [(entry, deadline) for entry, deadline in found if usable(entry)]
        passed: list[datetime] = []  # earlier sources that went stale: each flip changed what is shown
        for entry, deadline in showable:
            if now < deadline:
                return Pick(entry, False, max([entry.shown_since, *passed])), deadlines
            passed.append(deadline)
        pool = showable or found
        if not pool:
            return Pick(None, True, None), deadlines
        newest = max(pool, key=lambda pair: pair[0].fetched_at)[0]
        flips = [deadline for _, deadline in pool]
        return Pick(newest, True, max([newest.changed_at, *flips])), deadlines

    def build(self, entries: Mapping[str, Entries], query: Query, now: datetime) -> Built:
        since: list[datetime] = []
        deadlines: list[datetime] = []

        def note(pick: Pick, item_deadlines: list[datetime]) -> None:
            if pick.since is not None:
                since.append(pick.since)
            deadlines.extend(item_deadlines)

        weather = []
        for city_id in query.cities:
            pick, item_deadlines = self._pick(self.settings.weather_sources, city_id, entries, now)
            note(pick, item_deadlines)
            weather.append(self._weather_item(city_id, pick, query.lang))
        rates = []
        for code in query.currencies:
            pick, item_deadlines = self._pick(self.settings.rate_sources, code, entries, now)
            note(pick, item_deadlines)
            rates.append(_rate_item(code, pick))
        upcoming = min((d for d in deadlines if d > now), default=None)
        updated = max(since, default=None)
        return Built(weather, rates, updated.replace(microsecond=0) if updated else None, upcoming)

    def _weather_item(self, city_id: str, pick: Pick, lang: str) -> WeatherItem:
        name = self._cities[city_id].display_name(lang)
        record = pick.entry.record if pick.entry else None
        if not isinstance(record, Temperature) or pick.entry is None:
            return WeatherItem(city=city_id, name=name, temperature=None, observed_at=None, source=None, stale=True)
        return WeatherItem(
            city=city_id,
            name=name,
            temperature=record.temperature,
            observed_at=record.observed_at,
            source=pick.entry.source,
            stale=pick.stale,
        )


def _rate_item(code: str, pick: Pick) -> RateItem:
    record = pick.entry.record if pick.entry else None
    if not isinstance(record, Rate) or pick.entry is None:
        return RateItem(currency=code, rate=None, change=None, trend=None, date=None, source=None, stale=True)
    return RateItem(
        currency=code,
        rate=record.rate,
        change=record.change,
        trend=record.trend,
        date=record.date,
        source=pick.entry.source,
        stale=pick.stale,
    )
