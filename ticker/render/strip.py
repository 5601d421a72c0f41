"""Build the strip from the store's local copy: pure, so every replica builds the same bytes.

For each configured item the first source in its chain with a current value wins (a rate in force on
today's Astana date, a temperature observed within STALE_AFTER); when none is current the newest value is
shown, marked stale; a value dated after today is never shown as current (it is ``next``, tomorrow's
rate). Before any data the item is null and stale. Every instant emitted is derived from data times, so
``updated_at`` is never in the future and never moves backwards as time passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from providers.base import Kind, Rate, Temperature
from ticker.clock import astana_date
from ticker.models import AirItem, NextRate, RateItem, WeatherItem
from ticker.render.air import air_item
from ticker.render.query import Query
from ticker.settings import Settings
from ticker.state import Entry, Holdings, current, current_from, item_of, stale_at

KINDS: frozenset[Kind] = frozenset(("rates", "weather", "air"))


@dataclass(frozen=True)
class Pick:
    entry: Entry | None
    stale: bool
    since: datetime | None  # when what this item shows last changed: a new value, a switch, a stale flip
    stale_at: datetime | None
    next: Rate | None = None


@dataclass(frozen=True)
class Built:
    weather: list[WeatherItem]
    rates: list[RateItem]
    updated_at: datetime | None  # when what the body shows last changed (the same in every replica)
    next_change: datetime | None  # the next instant time alone changes what is shown (a flip, midnight)
    expires_at: datetime | None  # the earliest instant a value shown as current turns stale
    settled: bool  # every item has a value, or every source that could supply it has answered once
    air: list[AirItem] | None = None  # None while air quality is off


class StripBuilder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stale_after = {
            name: timedelta(seconds=settings.source_config(name).stale_seconds) for name in settings.source_names
        }
        self._cities = {city.id: city for city in settings.cities}

    def _pick(self, chain: Sequence[str], item: str, holdings: Holdings, now: datetime) -> tuple[Pick, list[datetime]]:
        today = astana_date(now)
        found = [
            (source, entry)
            for source in chain
            for entry in holdings.held(source).values()
            if item_of(entry.record) == item
        ]
        instants = [
            (source, when)
            for source, entry in found
            for when in (stale_at(entry.record, self._stale_after[source]), current_from(entry.record))
            if when is not None
        ]
        upcoming = [when for _, when in instants if when > now]
        passed = [(source, when) for source, when in instants if when <= now]
        flips = [when for _, when in passed]
        tomorrow = today + timedelta(days=1)
        following = next(
            (e.record for _, e in found if isinstance(e.record, Rate) and e.record.valid_on == tomorrow), None
        )
        for source, entry in found:
            if current(entry.record, now, self._stale_after[source]):
                ahead = chain[: chain.index(source) + 1]  # a later source going stale changes nothing shown
                since = max([entry.changed_at, *(w for s, w in passed if s in ahead)])
                until = stale_at(entry.record, self._stale_after[source])
                return Pick(entry, False, min(since, now), until, following), upcoming
        shown = [(s, e) for s, e in found if not isinstance(e.record, Rate) or e.record.valid_on <= today]
        if not shown:
            return Pick(None, True, None, None, following), upcoming
        source, newest = max(shown, key=lambda pair: _when(pair[1]))  # the first in chain order on a tie
        since = max([newest.changed_at, *flips])
        return Pick(
            newest, True, min(since, now), stale_at(newest.record, self._stale_after[source]), following
        ), upcoming

    def build(self, holdings: Holdings, query: Query, now: datetime, kinds: frozenset[Kind] = KINDS) -> Built:
        """The strip for ``query``; ``kinds`` leaves out what a view does not show (its validators ignore it)."""
        since: list[datetime] = []
        upcoming: list[datetime] = []
        expires: list[datetime] = []
        unsettled = False

        def note(pick: Pick, item_upcoming: list[datetime], chain: Sequence[str]) -> None:
            nonlocal unsettled
            if pick.since is not None:
                since.append(pick.since)
            upcoming.extend(item_upcoming)
            if not pick.stale and pick.stale_at is not None:
                expires.append(pick.stale_at)
            if pick.entry is None and any(holdings.status_of(s).last_attempt is None for s in chain):
                unsettled = True  # some source has not answered yet: worth revalidating soon

        weather = []
        for city_id in query.cities if "weather" in kinds else ():
            pick, item_upcoming = self._pick(self.settings.weather_sources, city_id, holdings, now)
            note(pick, item_upcoming, self.settings.weather_sources)
            weather.append(self._weather_item(city_id, pick, query.lang))
        air: list[AirItem] | None = None
        if self.settings.air_on and "air" in kinds:
            air = []
            for city_id in query.cities:
                pick, item_upcoming = self._pick(self.settings.air_sources, city_id, holdings, now)
                note(pick, item_upcoming, self.settings.air_sources)
                name = self._cities[city_id].display_name(query.lang)
                index = self.settings.air.index
                air.append(air_item(city_id, name, pick.entry, pick.stale, pick.stale_at, index, query.lang))
        rates = []
        for code in query.currencies:
            pick, item_upcoming = self._pick(self.settings.rate_sources, code, holdings, now)
            note(pick, item_upcoming, self.settings.rate_sources)
            rates.append(_rate_item(code, pick))
        updated = max(since, default=None)
        return Built(
            weather,
            rates,
            updated.replace(microsecond=0) if updated else None,
            min(upcoming, default=None),
            min(expires, default=None),
            not unsettled,
            air,
        )

    def _weather_item(self, city_id: str, pick: Pick, lang: str) -> WeatherItem:
        name = self._cities[city_id].display_name(lang)
        record = pick.entry.record if pick.entry else None
        if not isinstance(record, Temperature) or pick.entry is None:
            return WeatherItem(
                city=city_id, name=name, temperature=None, observed_at=None, source=None, stale=True, stale_at=None
            )
        return WeatherItem(
            city=city_id,
            name=name,
            temperature=record.temperature,
            observed_at=record.observed_at,
            source=pick.entry.source,
            stale=pick.stale,
            stale_at=pick.stale_at,
            condition=record.condition,
        )


def _rate_item(code: str, pick: Pick) -> RateItem:
    record = pick.entry.record if pick.entry else None
    following = (
        NextRate(rate=pick.next.rate, change=pick.next.change, trend=pick.next.trend, date=pick.next.date)
        if pick.next is not None
        else None
    )
    if not isinstance(record, Rate) or pick.entry is None:
        return RateItem(
            currency=code, rate=None, change=None, trend=None, date=None, source=None, stale=True, stale_at=None,
            next=following,
        )  # fmt: skip
    return RateItem(
        currency=code,
        rate=record.rate,
        change=record.change,
        trend=record.trend,
        date=record.date,
        source=pick.entry.source,
        stale=pick.stale,
        stale_at=pick.stale_at,
        next=following,
    )


def _when(entry: Entry) -> date | datetime:
    record = entry.record
    return record.valid_on if isinstance(record, Rate) else record.observed_at
