"""MET Norway Locationforecast 2.0 ``compact``: air temperature and sky per city (weather fallback).

One GeoJSON Feature per location; ``properties.timeseries`` holds hourly then 6-hourly steps in UTC ``Z``, and
``timeseries[0]`` is not "now" (it is the next full hour, or behind the clock in a cached copy): the step with
the greatest ``time <= now`` wins, else the first. Its sky is the ``symbol_code`` of the period starting there
(``next_1_hours``, else ``next_6_hours``, else ``next_12_hours``; the last steps carry none).

The terms require an identifying User-Agent with contact details (operators set their own through
``TICKER_MET_NO__USER_AGENT``), at most 4 decimals in lat/lon, and caching: nothing is requested before
``Expires``; afterwards ``If-Modified-Since`` carries the exact ``Last-Modified`` string, and a 304 keeps the
cached document.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

import aiohttp
from pydantic import AwareDatetime, BaseModel, Field

from providers.base import (
    Clock,
    Condition,
    Kind,
    Location,
    ProviderError,
    SourceConfig,
    Temperature,
    coordinate,
    finite,
    format_errors,
    guarded,
    narrow,
    validated,
)
from providers.conditional import ConditionalCache
from providers.conditions import from_met
from providers.http import read_bounded

log = logging.getLogger(__name__)
# the default User-Agent, shared by every installation that never set its own: MET Norway's terms want each
# application to name itself and a contact, and they block generic agents; start-up warns while it is in use
PLACEHOLDER_USER_AGENT = "ticker/0.1 github.com/ticker-kz/ticker"


class Config(SourceConfig):
    base_url: str = "https://api.met.no"
    interval: float = 1800
    user_agent: str = Field(
        default=PLACEHOLDER_USER_AGENT,
        min_length=1,
        description="MET requires your app name AND contact (site or e-mail): set TICKER_MET_NO__USER_AGENT",
    )


class _Details(BaseModel):
    air_temperature: float | None = None


class _Instant(BaseModel):
    details: _Details


class _Data(BaseModel):
    instant: _Instant
    # {"summary": {"symbol_code": "..."}, ...}, each optional; read by _symbol, so a malformed one costs the
    # condition, never the temperature
    next_1_hours: Any = None
    next_6_hours: Any = None
    next_12_hours: Any = None


class _Step(BaseModel):
    time: AwareDatetime
    data: _Data


class _Properties(BaseModel):
    timeseries: list[_Step] = Field(min_length=1)


class Forecast(BaseModel):
    """The part of a compact document we read; validated once, picked from at any later ``now``."""

    properties: _Properties


class Reading(NamedTuple):
    observed_at: datetime
    temperature: float | None
    condition: Condition | None = None


def _symbol(data: _Data) -> Condition | None:
    """The sky of the shortest period that has one: next_1_hours, else next_6_hours, else next_12_hours."""
    for period in (data.next_1_hours, data.next_6_hours, data.next_12_hours):
        summary = period.get("summary") if isinstance(period, dict) else None
        symbol = summary.get("symbol_code") if isinstance(summary, dict) else None
        if symbol is not None:
            return from_met(symbol)
    return None


@guarded
def load(body: bytes) -> Forecast:
    return validated(Forecast, json.loads(body), "not a Locationforecast compact document")


def pick(forecast: Forecast, now: datetime) -> Reading:
    steps = forecast.properties.timeseries
    past = [step for step in steps if step.time <= now]
    step = max(past, key=lambda s: s.time) if past else steps[0]
    value = step.data.instant.details.air_temperature
    temperature = None if value is None else finite(value, "air_temperature")
    return Reading(step.time.astimezone(UTC), temperature, _symbol(step.data))


@guarded
def parse(body: bytes, now: datetime) -> Reading:
    """Instant air temperature of the last step at or before ``now`` (aware); FormatError otherwise."""
    return pick(load(body), now)


class MetNo:
    """MET Norway Locationforecast: one conditional GET per city; cities that fail are left out, all failing raises."""

    name: ClassVar[str] = "met_no"
    kind: ClassVar[Kind] = "weather"
    Config: ClassVar[type[SourceConfig]] = Config
    cadence: ClassVar[float | None] = 3600.0  # the steps of the forecast are hourly

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None:
        self.config = narrow(config, Config)
        self.locations = tuple(locations)
        self._clock = clock
        self._cache: ConditionalCache[Forecast] = ConditionalCache(clock)

    async def _forecast(self, session: aiohttp.ClientSession, location: Location) -> Forecast:
        held = self._cache.fresh(location.id)
        if held is not None:
            return held
        response = await read_bounded(
            session,
            f"{self.config.base_url}/weatherapi/locationforecast/2.0/compact",
            params={"lat": coordinate(location.latitude), "lon": coordinate(location.longitude)},
            headers={"User-Agent": self.config.user_agent, "Accept": "application/json"}
            | self._cache.validators(location.id),
            timeout=self.config.timeout,
            max_bytes=self.config.max_bytes,
            ok_statuses=(200, 203, 304),
        )
        if response.status == 203:
            log.warning("met_no: 203, this product version is deprecated or beta")
        return self._cache.update(location.id, response, load)

    async def _one(self, session: aiohttp.ClientSession, location: Location) -> Temperature | ProviderError:
        try:
            forecast = await self._forecast(session, location)
            with format_errors(f"met_no {location.id}"):
                reading = pick(forecast, self._clock())
                return Temperature(
                    city=location.id,
                    temperature=reading.temperature,
                    observed_at=reading.observed_at,
                    condition=reading.condition,
                )
        except ProviderError as exc:
            return exc

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> list[Temperature]:
        results = await asyncio.gather(*(self._one(session, location) for location in self.locations))
        temperatures = [result for result in results if isinstance(result, Temperature)]
        failed = [
            (location.id, result)
            for location, result in zip(self.locations, results, strict=True)
            if isinstance(result, ProviderError)
        ]
        if failed and not temperatures:
            raise failed[0][1]
        for city, error in failed:
            log.warning("met_no: %s left out: %s", city, error)
        return temperatures
