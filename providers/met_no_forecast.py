"""MET Norway Locationforecast 2.0 ``compact``, read: which step is "now", its air temperature and its sky. Pure
(no I/O, no clock): providers/met_no.py fetches the documents and hands ``now`` in.

One GeoJSON Feature per location; ``properties.timeseries`` holds hourly then 6-hourly steps in UTC ``Z``, and
``timeseries[0]`` is not "now" (it is the next full hour, or behind the clock in a cached copy): the step with
the greatest ``time <= now`` wins, else the first. Its sky is the ``symbol_code`` of the period starting there
(``next_1_hours``, else ``next_6_hours``, else ``next_12_hours``; the last steps carry none).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, Field

from providers.base import Condition
from providers.conditions import from_met
from providers.parsing import finite, guarded, validated


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
