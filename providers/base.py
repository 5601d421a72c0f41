"""What every provider shares: the records and the provider shape. The settings every source has are in
providers/source_config.py, the error tree in providers/errors.py, the parsers' helpers in providers/parsing.py,
the one bounded read in providers/http.py.

Providers turn upstream bytes into these records and nothing else; they never import ``ticker``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar, Literal, Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from providers.source_config import SourceConfig

Trend = Literal["up", "down", "flat"]
# the sky, normalised from each source's own vocabulary (providers/conditions.py); None when unknown
Condition = Literal["clear", "partly_cloudy", "overcast", "fog", "drizzle", "rain", "snow", "showers", "thunderstorm"]
Kind = Literal["rates", "weather", "air"]
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

    @property
    def empty(self) -> bool:
        """No value (null from the upstream): never replaces a reading."""
        return self.temperature is None


class AirQuality(BaseModel):
    """Modelled near-surface air quality for a configured city at a true UTC instant: both AQIs and particulates
    (µg/m³). ``cadence``: seconds between two readings where the answer says (Open-Meteo's current.interval);
    None: the provider's declared one."""

    model_config = ConfigDict(frozen=True)

    city: str
    us_aqi: float | None
    european_aqi: float | None
    pm2_5: float | None
    pm10: float | None
    observed_at: datetime
    cadence: float | None = Field(default=None, gt=0)

    @property
    def empty(self) -> bool:
        """No value at all (the model has none for this place): never replaces a reading."""
        return self.us_aqi is None and self.european_aqi is None and self.pm2_5 is None and self.pm10 is None


Record = Rate | Temperature | AirQuality


class Location(BaseModel):
    """A place the weather providers are asked about; ``id`` is ours, coordinates are pinned."""

    model_config = ConfigDict(frozen=True)

    id: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


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
