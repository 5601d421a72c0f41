"""The public JSON contract: response models (also the source of /openapi.json)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from providers.base import Condition, Trend


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class WeatherItem(_Out):
    city: str = Field(description="configured city id")
    name: str = Field(description="display name in the requested language")
    temperature: float | None = Field(description="°C at 2 m; null before the first data or when unknown")
    unit: Literal["°C"] = "°C"
    observed_at: dt.datetime | None = Field(description="UTC instant the value is valid for")
    source: str | None = Field(description="the source that supplied this value")
    stale: bool = Field(
        description="true when the reading is not current: past observed_at + its source's cadence + STALE_AFTER"
    )
    stale_at: dt.datetime | None = Field(
        description="UTC instant this value turns stale if nothing newer arrives (observed_at + cadence + STALE_AFTER)"
    )
    condition: Condition | None = Field(
        default=None,
        description="the sky at observed_at, normalised from Open-Meteo's WMO weather_code or MET Norway's "
        "symbol_code (both agree: WMO 3 and MET `cloudy` are `overcast`); null when unknown",
    )


class NextRate(_Out):
    rate: float = Field(description="KZT for ONE unit, in force from the next Astana midnight")
    change: float | None
    trend: Trend | None
    date: dt.date = Field(description="the date the rate is official for")


class RateItem(_Out):
    currency: str = Field(description="ISO 4217 code")
    rate: float | None = Field(description="KZT for ONE unit of the currency")
    change: float | None = Field(description="KZT change per unit against the previous official rate")
    trend: Trend | None
    date: dt.date | None = Field(description="the date the rate is official for")
    source: str | None
    stale: bool = Field(description="true when the rate is not the one in force on today's Astana date")
    stale_at: dt.datetime | None = Field(
        description="UTC instant this rate stops being in force (the next Astana midnight)"
    )
    next: NextRate | None = Field(default=None, description="tomorrow's rate once published, else null")


class Ticker(_Out):
    updated_at: dt.datetime | None = Field(description="when the data shown last changed (UTC)")
    weather: list[WeatherItem]
    rates: list[RateItem]


class Rates(_Out):
    updated_at: dt.datetime | None
    rates: list[RateItem]


class Weather(_Out):
    updated_at: dt.datetime | None
    weather: list[WeatherItem]


class HistoryPoint(_Out):
    date: dt.date = Field(description="the Astana date the rate was official for")
    rate: float = Field(description="KZT for ONE unit of the currency, as NBK set it for that date")
    change: float | None = Field(description="KZT change per unit against the day before, as NBK published it")


class History(_Out):
    currency: str = Field(description="ISO 4217 code")
    source: Literal["nbk"] = Field(description="the National Bank of Kazakhstan's official rates")
    rates: list[HistoryPoint] = Field(
        description="ascending by date; a date not backfilled yet is missing, never filled in from another"
    )


class Error(_Out):
    error: str = Field(description="what went wrong, for a person")
    status: int
    parameter: str | None = None
    allowed: list[str] | None = Field(default=None, description="the values that would have been accepted")


class SourceReport(_Out):
    source: str
    kind: Literal["rates", "weather"]
    items: int
    age_seconds: float | None = Field(description="seconds since the last good fetch")
    stale: bool = Field(description="true when the source holds no current value")
    reason: str | None = Field(description="why the source holds no current value")
    last_error: str | None
    failures: int
    open_until: dt.datetime | None


class HistoryProgress(_Out):
    days: int = Field(
        description="dates wanted: the TICKER_HISTORY__DAYS days before today (today's rate is the strip's)"
    )
    stored: dict[str, int] = Field(description="per configured currency, how many of those dates are held")


class Readiness(_Out):
    ready: bool
    reason: str | None
    store: Literal["memory", "redis"]
    store_ok: bool
    sources: list[SourceReport]
    tasks_down: list[str] = Field(description="background tasks that failed and are being restarted")
    warnings: list[str] = Field(description="rates that disagree with the cross-check source, and the like")
    history: HistoryProgress | None = Field(
        default=None, description="how far the history backfill is (never affects `ready`); null while history is off"
    )


class Health(_Out):
    status: Literal["ok"] = "ok"
    version: str
