"""What Open-Meteo's forecast and air-quality APIs share: one request for every location (coordinates joined by
commas, the key on the customer host), one answer element per location matched by position, and the time fields
of ``current``: the instant of its slot and the slot's length (``current.interval``), the reading's cadence."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import aiohttp

from providers.base import Location
from providers.errors import FormatError
from providers.http import read_bounded
from providers.parsing import coordinate

T = TypeVar("T")


class Endpoint(Protocol):
    """The parts of an Open-Meteo provider's settings a request needs."""

    @property
    def endpoint(self) -> str: ...

    api_key: str | None
    timeout: float
    max_bytes: int


async def get_current(
    session: aiohttp.ClientSession, config: Endpoint, locations: Sequence[Location], current: str, timezone: str
) -> bytes:
    """One GET for every location's ``current`` variables; the body (bounded, status and HTML checked)."""
    params = {
        "latitude": ",".join(coordinate(loc.latitude) for loc in locations),
        "longitude": ",".join(coordinate(loc.longitude) for loc in locations),
        "current": current,
        "timezone": timezone,
    }
    if config.api_key:
        params["apikey"] = config.api_key
    response = await read_bounded(
        session,
        config.endpoint,
        params=params,
        headers={"Accept": "application/json"},
        timeout=config.timeout,
        max_bytes=config.max_bytes,
    )
    return response.body


def by_location(body: bytes, cities: Sequence[str], one: Callable[[object, str], T]) -> list[T]:
    """Several coordinates answer a JSON list in request order, one a bare object; matched by position (the answer
    carries grid-cell coordinates, not ours). FormatError when the count differs."""
    data = json.loads(body)  # a mid-stream error in a 200, deep nesting, bad bytes: FormatError by the guard
    elements = data if isinstance(data, list) else [data]
    if len(elements) != len(cities):
        raise FormatError(f"{len(elements)} locations in the answer, {len(cities)} asked")
    return [one(element, city) for element, city in zip(elements, cities, strict=True)]


def slot_seconds(value: object) -> float | None:
    """A source's own slot length (Open-Meteo's ``current.interval``) when it is a sane number of seconds (1 s to a
    day); None otherwise, so a bad one costs the cadence (the provider's declared one applies), not the value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 86400:
        return None
    return float(value)


def instant(raw: float | str, offset: float) -> datetime:
    """A UTC instant from Open-Meteo's ``time``: epoch seconds (``timeformat=unixtime``), or ISO 8601 local time
    without an offset, which ``utc_offset_seconds`` gives."""
    if isinstance(raw, float | int):
        return datetime.fromtimestamp(raw, dt.UTC)  # epoch seconds: the offset does not apply
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FormatError(f"current.time {raw!r} is not ISO 8601") from exc
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC)
    return (local - timedelta(seconds=offset)).replace(tzinfo=dt.UTC)
