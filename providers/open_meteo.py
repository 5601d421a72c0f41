"""Open-Meteo: current 2 m temperature and WMO weather code for every configured city in ONE request.

Several coordinates answer a JSON list in request order, one coordinate a bare object; the answer
carries grid-cell coordinates, not ours, so results are matched by position. ``current.time`` is local
time without an offset (``utc_offset_seconds`` says which); non-finite values are ``null``; ``-0.0`` occurs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

from providers.base import Clock, Kind, Location, Temperature
from providers.conditions import from_wmo
from providers.errors import FormatError
from providers.open_meteo_api import by_location, get_current, instant, slot_seconds
from providers.parsing import finite, guarded, validated
from providers.source_config import SourceConfig, narrow

DEFAULT_BASE_URL = "https://api.open-meteo.com"
COMMERCIAL_BASE_URL = "https://customer-api.open-meteo.com"


class Config(SourceConfig):
    base_url: str = DEFAULT_BASE_URL
    interval: float = 900
    api_key: str | None = None  # the free tier is non-commercial only

    @property
    def endpoint(self) -> str:
        base = self.base_url
        if self.api_key and base == DEFAULT_BASE_URL:
            base = COMMERCIAL_BASE_URL  # keys are only valid on the customer host
        return f"{base}/v1/forecast"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)  # "19.6" or true is not a temperature


class _Current(_Strict):
    time: float | str  # ISO 8601 local time, or epoch seconds with timeformat=unixtime
    temperature_2m: float | None  # required; null when the model has no value
    weather_code: Any = None  # WMO code; read by from_wmo, so a bad one costs the condition, not the temperature
    interval: Any = None  # seconds per slot of ``current`` (900); a bad one costs the cadence, not the temperature


class _CurrentWeather(_Strict):  # legacy current_weather=true
    time: float | str
    temperature: float | None
    weathercode: Any = None
    interval: Any = None


class _Point(_Strict):
    error: bool = False
    reason: str = "no reason given"
    utc_offset_seconds: float = 0  # without timezone= the API answers GMT
    current: _Current | None = None
    current_weather: _CurrentWeather | None = None


def _one(element: object, city: str) -> Temperature:
    if isinstance(element, dict) and element.get("error"):  # before validation: an error object has no current
        raise FormatError(f"Open-Meteo error: {element.get('reason', 'no reason given')}")
    point = validated(_Point, element, "Open-Meteo location")
    if point.current is not None:
        time, value, key = point.current.time, point.current.temperature_2m, "temperature_2m"
        code, interval = point.current.weather_code, point.current.interval
    elif point.current_weather is not None:
        time, value, key = point.current_weather.time, point.current_weather.temperature, "temperature"
        code, interval = point.current_weather.weathercode, point.current_weather.interval
    else:
        raise FormatError("no current temperature in the answer")
    return Temperature(
        city=city,
        temperature=None if value is None else finite(value, key),
        observed_at=instant(time, point.utc_offset_seconds),
        condition=from_wmo(code),
        cadence=slot_seconds(interval),
    )


@guarded
def parse(body: bytes, cities: Sequence[str]) -> list[Temperature]:
    """One Temperature per city, matched by position; raises FormatError on any mismatch."""
    return by_location(body, cities, _one)


class OpenMeteo:
    """Open-Meteo: the current 2 m temperature of every configured city in one request."""

    name: ClassVar[str] = "open_meteo"
    kind: ClassVar[Kind] = "weather"
    Config: ClassVar[type[SourceConfig]] = Config
    cadence: ClassVar[float | None] = (
        900.0  # current values come in 15-minute slots; each answer says so (current.interval)
    )

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None:
        self.config = narrow(config, Config)
        self.locations = tuple(locations)
        self._clock = clock

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[Temperature]:
        body = await get_current(session, self.config, self.locations, "temperature_2m,weather_code", "auto")
        return parse(body, [loc.id for loc in self.locations])
