"""MET Norway Locationforecast 2.0 ``compact``: air temperature and sky per city (weather fallback).

Reading a document (which step is "now", its temperature and sky) is providers/met_no_forecast.py.

The terms require an identifying User-Agent with contact details (operators set their own through
``TICKER_MET_NO__USER_AGENT``), at most 4 decimals in lat/lon, and caching: nothing is requested before
``Expires``; afterwards ``If-Modified-Since`` carries the exact ``Last-Modified`` string, and a 304 keeps the
cached document.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import ClassVar

import aiohttp
from pydantic import Field

from providers.base import Clock, Kind, Location, Temperature
from providers.conditional import ConditionalCache
from providers.errors import ProviderError
from providers.http import read_bounded
from providers.met_no_forecast import Forecast, load, pick
from providers.parsing import coordinate, format_errors
from providers.source_config import SourceConfig, narrow

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
