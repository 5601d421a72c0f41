"""What every provider shares: the records, the settings every source has and the provider shape. The error
tree is in providers/errors.py, the parsers' helpers in providers/parsing.py, the one bounded read in
providers/http.py.

Providers turn upstream bytes into these records and nothing else; they never import ``ticker``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar, Literal, Protocol, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Trend = Literal["up", "down", "flat"]
# the sky, normalised from each source's own vocabulary (providers/conditions.py); None when unknown
Condition = Literal["clear", "partly_cloudy", "overcast", "fog", "drizzle", "rain", "snow", "showers", "thunderstorm"]
Kind = Literal["rates", "weather"]
Clock = Callable[[], datetime]


class Rate(BaseModel):
    """KZT for ONE unit of ``currency``, official for ``date``."""

    model_config = ConfigDict(frozen=True)

    currency: str
    rate: float
    change: float | None = None
    trend: Trend | None = None
    date: dt.date  # the date the document says the rate is official for
    in_force: dt.date | None = None  # the Astana date the upstream says it is in force on, when not ``date``

    @property
    def valid_on(self) -> dt.date:
        return self.in_force or self.date


class Temperature(BaseModel):
    """Air temperature at 2 m in °C for a configured city, observed at a true UTC instant."""

    model_config = ConfigDict(frozen=True)

    city: str
    temperature: float | None
    observed_at: datetime
    condition: Condition | None = None  # default None: stored records written before conditions still load
    # seconds between two readings of the source, where its answer says (Open-Meteo's current.interval); None:
    # the provider's declared ``cadence`` (records stored before cadences load as None too)
    cadence: float | None = Field(default=None, gt=0)


Record = Rate | Temperature


class Location(BaseModel):
    """A place the weather providers are asked about; ``id`` is ours, coordinates are pinned."""

    model_config = ConfigDict(frozen=True)

    id: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class SourceConfig(BaseModel):
    """Settings every source has; each provider subclasses it with its own defaults."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    interval: float = Field(default=900, ge=1, description="seconds between fetches")
    stale_after: float | None = Field(
        default=None,
        gt=0,
        description="seconds of grace after a reading's cadence (for our polling and the source's delay) before it "
        "is stale; default 2 x interval",
    )
    timeout: float = Field(default=10, gt=0, le=300, description="total seconds for one fetch")
    max_bytes: int = Field(default=2_000_000, ge=1024, description="largest response body read")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:  # re-checked here: subclasses override the default
        if not value >= 1:
            raise ValueError("must be at least 1 second")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not 0 < value <= 300:
            raise ValueError("must be more than 0 and at most 300 seconds")
        return value

    @field_validator("stale_after")
    @classmethod
    def _stale_after(cls, value: float | None, info: ValidationInfo) -> float | None:
        interval = info.data.get("interval")
        if value is not None and interval is not None and value < interval:
            raise ValueError(f"must not be shorter than the interval ({interval:g} s)")
        return value

    @property
    def stale_seconds(self) -> float:
        return self.stale_after if self.stale_after is not None else 2 * self.interval


class Provider(Protocol):
    """One upstream: ``fetch`` returns parsed, typed records or raises a ProviderError.

    ``day`` is the Astana date the service asks for; rate providers ask their upstream for it, weather ignores it.
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    Config: ClassVar[type[SourceConfig]]
    # how often the source's data can change, in seconds, where its answer does not say: a reading is current
    # until observed_at + cadence + STALE_AFTER. None for rates, which are current by the date they are in force on
    cadence: ClassVar[float | None]

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None: ...

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[Record]: ...


C = TypeVar("C", bound=SourceConfig)


def narrow(config: SourceConfig, want: type[C]) -> C:
    """The provider's own Config class, or a TypeError naming both (a wiring mistake, not bad data)."""
    if not isinstance(config, want):
        raise TypeError(f"{want.__module__}.{want.__qualname__} expected, got {type(config).__qualname__}")
    return config
