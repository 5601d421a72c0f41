"""Open-Meteo: current 2 m temperature for every configured city in ONE request.

Several coordinates answer a JSON list in request order, one coordinate a bare object; the answer
carries grid-cell coordinates, not ours, so results are matched by position. ``current.time`` is local
time without an offset (``utc_offset_seconds`` says which); non-finite values are ``null``; ``-0.0`` occurs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from providers.base import FormatError, Kind, Location, SourceConfig, Temperature, finite, read_bounded

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


def _coordinate(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _observed_at(raw: Any, offset: Any) -> datetime:
    try:
        return _instant(raw, offset)
    except (OverflowError, ValueError, OSError) as exc:
        raise FormatError(f"current.time {raw!r} with offset {offset!r} is not a usable instant") from exc


def _instant(raw: Any, offset: Any) -> datetime:
    if isinstance(raw, int | float) and not isinstance(raw, bool):  # timeformat=unixtime
        return datetime.fromtimestamp(raw, UTC)
    if not isinstance(raw, str):
        raise FormatError("current.time is missing")
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FormatError(f"current.time {raw!r} is not ISO 8601") from exc
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    if not isinstance(offset, int | float) or isinstance(offset, bool):
        offset = 0  # without timezone= the API answers GMT
    return (local - timedelta(seconds=offset)).replace(tzinfo=UTC)


def _one(element: Any, city: str) -> Temperature:
    if not isinstance(element, dict):
        raise FormatError("location entry is not an object")
    if element.get("error"):
        raise FormatError(f"Open-Meteo error: {element.get('reason', 'no reason given')}")
    current = element.get("current")
    key = "temperature_2m"
    if not isinstance(current, dict):
        current, key = element.get("current_weather"), "temperature"  # legacy current_weather=true
    if not isinstance(current, dict) or key not in current:
        raise FormatError("no current temperature in the answer")
    value = current[key]
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise FormatError(f"{key} {value!r} is not a number")
    return Temperature(
        city=city,
        temperature=None if value is None else finite(float(value), key),
        observed_at=_observed_at(current.get("time"), element.get("utc_offset_seconds")),
    )


def parse(body: bytes, cities: Sequence[str]) -> list[Temperature]:
    """One Temperature per city, matched by position; raises FormatError on any mismatch."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # incl. a mid-stream error in a 200
        raise FormatError(f"not valid JSON: {exc}") from exc
    elements = data if isinstance(data, list) else [data]
    if len(elements) != len(cities):
        raise FormatError(f"{len(elements)} locations in the answer, {len(cities)} asked")
    return [_one(element, city) for element, city in zip(elements, cities, strict=True)]


class OpenMeteo:
    name = "open_meteo"
    kind: Kind = "weather"

    def __init__(self, config: Config, locations: Sequence[Location]) -> None:
        self.config = config
        self.locations = tuple(locations)

    async def fetch(self, session: aiohttp.ClientSession) -> Sequence[Temperature]:
        params = {
            "latitude": ",".join(_coordinate(loc.latitude) for loc in self.locations),
            "longitude": ",".join(_coordinate(loc.longitude) for loc in self.locations),
            "current": "temperature_2m",
            "timezone": "auto",
        }
        if self.config.api_key:
            params["apikey"] = self.config.api_key
        response = await read_bounded(
            session,
            self.config.endpoint,
            params=params,
            headers={"Accept": "application/json"},
            timeout=self.config.timeout,
            max_bytes=self.config.max_bytes,
        )
        return parse(response.body, [loc.id for loc in self.locations])
