"""Open-Meteo Air Quality: the CAMS model's current US and European AQI, PM2.5 and PM10 for every configured city in
ONE request. Several coordinates answer a JSON list in request order, one a bare object, with grid-cell coordinates
(matched by position). ``current.time`` is the GMT hour the values are for; ``current.interval`` its step (3600 s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

from providers.base import AirQuality, Clock, Kind, Location
from providers.errors import FormatError
from providers.open_meteo_api import by_location, get_current, instant, slot_seconds
from providers.parsing import finite, guarded, validated
from providers.source_config import SourceConfig, narrow

DEFAULT_BASE_URL = "https://air-quality-api.open-meteo.com"
COMMERCIAL_BASE_URL = "https://customer-air-quality-api.open-meteo.com"
VARIABLES = ("us_aqi", "european_aqi", "pm2_5", "pm10")


class Config(SourceConfig):
    base_url: str = DEFAULT_BASE_URL
    interval: float = 1800  # the readings are hourly (current.interval): asked twice an hour at most
    api_key: str | None = None  # the free tier is non-commercial only

    @property
    def endpoint(self) -> str:
        base = self.base_url
        if self.api_key and base == DEFAULT_BASE_URL:
            base = COMMERCIAL_BASE_URL  # keys are only valid on the customer host
        return f"{base}/v1/air-quality"


class _Current(BaseModel):
    model_config = ConfigDict(strict=True)  # "42" or true is not an index

    time: float | str  # ISO 8601 GMT, or epoch seconds with timeformat=unixtime
    interval: Any = None  # seconds per reading (3600); a bad one costs the cadence, not the values
    us_aqi: float | None = None  # null where the model has no value
    european_aqi: float | None = None
    pm2_5: float | None = None
    pm10: float | None = None


class _Point(BaseModel):
    model_config = ConfigDict(strict=True)

    utc_offset_seconds: float = 0
    current: _Current


def _value(value: float | None, what: str) -> float | None:
    if value is not None and finite(value, what) < 0:
        raise FormatError(f"{what} {value} is negative")
    return None if value is None else finite(value, what)


def _one(element: object, city: str) -> AirQuality:
    if isinstance(element, dict) and element.get("error"):
        raise FormatError(f"Open-Meteo error: {element.get('reason', 'no reason given')}")
    point = validated(_Point, element, "Open-Meteo air quality location")
    now = point.current
    return AirQuality(
        city=city,
        us_aqi=_value(now.us_aqi, "us_aqi"),
        european_aqi=_value(now.european_aqi, "european_aqi"),
        pm2_5=_value(now.pm2_5, "pm2_5"),
        pm10=_value(now.pm10, "pm10"),
        observed_at=instant(now.time, point.utc_offset_seconds),
        cadence=slot_seconds(now.interval),
    )


@guarded
def parse(body: bytes, cities: Sequence[str]) -> list[AirQuality]:
    """One AirQuality per city, matched by position; raises FormatError on any mismatch."""
    return by_location(body, cities, _one)


class OpenMeteoAir:
    """Open-Meteo's Air Quality API (CAMS, CC BY 4.0): every configured city in one request."""

    name: ClassVar[str] = "open_meteo_air"
    kind: ClassVar[Kind] = "air"
    Config: ClassVar[type[SourceConfig]] = Config
    cadence: ClassVar[float | None] = 3600.0  # CAMS readings are hourly; each answer says so (current.interval)

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None:
        self.config = narrow(config, Config)
        self.locations = tuple(locations)
        self._clock = clock

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[AirQuality]:
        body = await get_current(session, self.config, self.locations, ",".join(VARIABLES), "GMT")
        return parse(body, [loc.id for loc in self.locations])
