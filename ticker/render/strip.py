"""Build the strip from the store's local copy: pure, so every replica builds the same bytes.

Which value each item shows, and whether it is current, is the freshness policy's answer (``Policy.pick``);
this module turns the picks into the response items. Before any data an item is null and stale. Every instant
emitted is derived from data times, so ``updated_at`` is never in the future and never moves backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from providers.base import Kind, Rate, Temperature
from ticker.models import NextRate, RateItem, WeatherItem
from ticker.policy import Pick, Policy
from ticker.render.query import Query
from ticker.settings import Settings
from ticker.state import Holdings


@dataclass(frozen=True)
class Built:
    weather: list[WeatherItem]
    rates: list[RateItem]
    updated_at: datetime | None  # when what the body shows last changed (the same in every replica)
    next_change: datetime | None  # the next instant time alone changes what is shown (a flip, midnight)
    expires_at: datetime | None  # the earliest instant a value shown as current turns stale
    settled: bool  # every item has a value, or every source that could supply it has answered once


class StripBuilder:
    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self._cities = {city.id: city for city in settings.cities}

    def build(self, holdings: Holdings, query: Query, now: datetime) -> Built:
        weather = {city: self.policy.pick("weather", city, holdings, now) for city in query.cities}
        rates = {code: self.policy.pick("rates", code, holdings, now) for code in query.currencies}
        picks: list[tuple[Kind, Pick]] = [
            *(("weather", p) for p in weather.values()),
            *(("rates", p) for p in rates.values()),
        ]
        since = [pick.since for _, pick in picks if pick.since is not None]
        expires = [pick.stale_at for _, pick in picks if not pick.stale and pick.stale_at is not None]
        # an item without a value while some source of its chain has not answered yet: worth revalidating soon
        unsettled = any(
            pick.entry is None and any(holdings.status_of(s).last_attempt is None for s in self.policy.chains[kind])
            for kind, pick in picks
        )
        updated = max(since, default=None)
        return Built(
            [self._weather_item(city, pick, query.lang) for city, pick in weather.items()],
            [_rate_item(code, pick) for code, pick in rates.items()],
            updated.replace(microsecond=0) if updated else None,
            min((when for _, pick in picks for when in pick.upcoming), default=None),
            min(expires, default=None),
            not unsettled,
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
