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
from ticker.state import Entries, Entry


@dataclass(frozen=True)
class Pick:
    entry: Entry | None
    stale: bool


@dataclass(frozen=True)
class Built:
    weather: list[WeatherItem]
    rates: list[RateItem]
    updated_at: datetime | None  # newest changed_at among the shown values
    modified_at: datetime | None  # when this body last changed: updated_at or a stale flip since
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
        candidates: list[Entry] = []
        deadlines: list[datetime] = []
        for source in chain:
            entry = entries.get(source, {}).get(key)
            if entry is None:
                continue
            candidates.append(entry)
            deadlines.append(entry.fetched_at + self._stale_after[source])
        usable = [
            (entry, deadline)
            for entry, deadline in zip(candidates, deadlines, strict=True)
            if not (isinstance(entry.record, Temperature) and entry.record.temperature is None)
        ]
        for entry, deadline in usable:
            if now < deadline:
                return Pick(entry, False), deadlines
        pool = usable or list(zip(candidates, deadlines, strict=True))
        if not pool:
            return Pick(None, True), deadlines
        newest = max(pool, key=lambda pair: pair[0].fetched_at)[0]
        return Pick(newest, True), deadlines

    def build(self, entries: Mapping[str, Entries], query: Query, now: datetime) -> Built:
        changed: list[datetime] = []
        deadlines: list[datetime] = []

        def note(pick: Pick, item_deadlines: list[datetime]) -> None:
            if pick.entry is not None:
                changed.append(pick.entry.changed_at)
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
        updated_at = max(changed, default=None)
        passed = [d for d in deadlines if d <= now]
        modified_at = max([*changed, *passed], default=None)
        upcoming = min((d for d in deadlines if d > now), default=None)
        return Built(weather, rates, updated_at, modified_at, upcoming)

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
