"""All configuration, from ``TICKER_*`` environment variables (nested sections with ``__``)."""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from providers import REGISTRY, names_of
from providers.base import Kind, Location
from providers.nbk import PUBLISHED as NBK_CURRENCIES
from providers.source_config import SourceConfig
from ticker.redis_url import mask_url_passwords, parse_redis_url

ENV_PREFIX = "TICKER_"
SECTIONS = (*REGISTRY, "cross_check", "history", "air")  # the nested sections (TICKER_NBK__INTERVAL), one per provider
LANGS = ("en", "ru", "kk")
CHAINS: dict[str, Kind] = {"rate_sources": "rates", "weather_sources": "weather", "air_sources": "air"}
MAX_HISTORY_DAYS = 3660  # ten years and the leap days
_CITY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class City(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=80)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    names: dict[Literal["en", "ru", "kk"], str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _CITY_ID.match(value):
            raise ValueError("city id must be lower-case letters, digits, '-' or '_' (at most 40)")
        return value

    def display_name(self, lang: str) -> str:
        return self.names.get(lang) or self.name  # type: ignore[call-overload]

    @property
    def location(self) -> Location:
        return Location(id=self.id, latitude=self.latitude, longitude=self.longitude)


class CrossCheckSettings(BaseModel):
    """Each primary rate against the CBR cross rate for the same date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance: float = Field(default=0.05, gt=0, lt=1, description="|primary / cross - 1| above this is a warning")


class HistorySettings(BaseModel):
    """The backfill of NBK's official rates (TICKER_HISTORY__DAYS, TICKER_HISTORY__RATE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(default=365, ge=0, le=MAX_HISTORY_DAYS, description="days of rates kept filled; 0: no history")
    rate: float = Field(default=2, gt=0, le=1000, description="backfill requests per second to NBK, at most")


class AirSettings(BaseModel):
    """How air quality is shown (TICKER_AIR__INDEX); which sources fetch it is TICKER_AIR_SOURCES."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: Literal["us", "european"] = Field(
        default="us", description="the headline index: US EPA AQI (0-500) or the European AQI (0-100+)"
    )


def _catalog() -> dict[str, City]:
    """The built-in cities (ticker/cities.json): the three of republican significance, then the regional centres."""
    text = resources.files("ticker").joinpath("cities.json").read_text(encoding="utf-8")
    return {city.id: city for city in (City.model_validate(item) for item in json.loads(text))}


CATALOG = _catalog()
DEFAULT_CITIES = [CATALOG["astana"], CATALOG["almaty"]]


def resolve_cities(value: object) -> object:
    """``all``, ids (comma-separated or a JSON list) and JSON city objects, mixed: catalog ids become cities."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return list(CATALOG.values())
        if text.startswith(("[", "{")):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not valid JSON: {exc}") from exc
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return value
    unknown = [item for item in value if isinstance(item, str) and item.strip().lower() not in CATALOG]
    if unknown:
        raise ValueError(
            f"unknown city ids {unknown}; the catalog has: {', '.join(CATALOG)} (or `all`, or a JSON object "
            '{"id","name","latitude","longitude"} for any other place)'
        )
    return [CATALOG[item.strip().lower()] if isinstance(item, str) else item for item in value]


class _Settings(BaseSettings):
    """Everything but the provider sections, which ``Settings`` adds from the registry."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True)

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    redis_url: str | None = None
    role: Literal["all", "api", "fetcher"] = "all"
    reuse_port: bool = False  # SO_REUSEPORT, for several single `ticker serve` processes started by hand
    max_requests: int = Field(default=0, ge=0)  # `serve --workers N`: replace a worker after ~this many (0: never)
    # lists of names: a JSON list (["USD","EUR"]) or, as people also write them, USD,EUR
    currencies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["USD", "EUR", "RUB", "CNY"])
    # catalog ids (astana,almaty or a JSON list), `all`, or JSON city objects for other places, mixed
    cities: Annotated[list[City], NoDecode] = Field(default_factory=lambda: list(DEFAULT_CITIES))
    rate_sources: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(names_of("rates")))
    weather_sources: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(names_of("weather")))
    air_sources: Annotated[list[str], NoDecode] = Field(default_factory=list)  # off until an operator turns it on
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    sse_heartbeat: float = Field(default=15, gt=0, le=300)
    sse_max_clients: int = Field(default=20000, ge=1)  # per process; past it /v1/stream answers 503
    fetch_attempts: int = Field(default=3, ge=1, le=10)
    breaker_cooldown: float = Field(default=30, ge=0, le=3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cross_check: CrossCheckSettings = Field(default_factory=CrossCheckSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    air: AirSettings = Field(default_factory=AirSettings)

    @field_validator("currencies", "rate_sources", "weather_sources", "air_sources", "cors_origins", mode="before")
    @classmethod
    def _name_list(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.lower() == "all" and info.field_name == "currencies":
            return list(NBK_CURRENCIES)  # every currency NBK publishes, in NBK's order
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not a valid JSON list: {exc}") from exc
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("cities", mode="before")
    @classmethod
    def _city_list(cls, value: object) -> object:
        return resolve_cities(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # unset or empty: the in-process store
        parse_redis_url(value)  # ValueError on a bad scheme, no Sentinel service name, a bad host:port
        return value

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, value: list[str]) -> list[str]:
        codes = [code.strip().upper() for code in value]
        bad = [code for code in codes if len(code) != 3 or not code.isalpha() or code == "KZT"]
        if bad:
            raise ValueError(f"not ISO 4217 codes other than KZT: {bad}")
        if not codes or len(set(codes)) != len(codes):
            raise ValueError("must be a non-empty list without duplicates")
        return codes

    @field_validator("cities")
    @classmethod
    def _cities(cls, value: list[City]) -> list[City]:
        ids = [city.id for city in value]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("must be a non-empty list with unique ids")
        return value

    @field_validator("rate_sources", "weather_sources", "air_sources")
    @classmethod
    def _chain(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = CHAINS[str(info.field_name)]
        allowed = names_of(kind)
        unknown = [name for name in value if name not in allowed]
        if unknown:
            raise ValueError(f"unknown {kind} sources {unknown}; allowed: {', '.join(allowed)}")
        if len(set(value)) != len(value):
            raise ValueError("must be a list without duplicates")
        if not value and kind != "air":  # air is optional: an empty chain turns it off
            raise ValueError("must be a non-empty list without duplicates")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(f"{origin!r} is not '*' or an origin like https://example.kz")
        return value

    @property
    def history_on(self) -> bool:
        """History is NBK's official rates: kept only with NBK in the rate chain and DAYS above 0."""
        return self.history.days > 0 and "nbk" in self.rate_sources

    @property
    def chains(self) -> dict[Kind, list[str]]:
        """Each kind's sources, in the order they are asked."""
        return {"rates": self.rate_sources, "weather": self.weather_sources, "air": self.air_sources}

    @property
    def source_names(self) -> list[str]:
        return [source for chain in self.chains.values() for source in chain]

    def chain(self, kind: Kind) -> list[str]:
        """The configured sources of one kind, in chain order (empty for air while it is off)."""
        return self.chains[kind]

    @property
    def air_on(self) -> bool:
        return bool(self.air_sources)

    def source_config(self, name: str) -> SourceConfig:
        if name not in REGISTRY:
            raise KeyError(f"no source named {name!r}")
        config = getattr(self, name)
        assert isinstance(config, SourceConfig)
        return config

    @property
    def locations(self) -> list[Location]:
        return [city.location for city in self.cities]


def _sections() -> dict[str, Any]:
    return {name: (cls.Config, Field(default_factory=cls.Config)) for name, cls in REGISTRY.items()}


if TYPE_CHECKING:
    # mypy cannot see fields made at run time; read a provider's section with ``source_config(name)``
    Settings = _Settings
else:
    Settings = create_model("Settings", __base__=_Settings, __module__=__name__, **_sections())
    Settings.__doc__ = "All configuration; one nested section per registered provider (TICKER_NBK__INTERVAL)."


def describe_error(error: ValidationError) -> str:
    """Name the environment variable behind each problem, e.g. ``TICKER_NBK__INTERVAL``."""
    lines = []
    for problem in error.errors():
        parts = [str(p) for p in problem["loc"] if not isinstance(p, int)]
        depth = 2 if parts and parts[0] in SECTIONS else 1  # only provider sections nest (TICKER_NBK__X)
        head = [p for p in parts if p.isidentifier()][:depth]
        var = ENV_PREFIX + "__".join(head).upper() if head else "settings"
        detail = ".".join(str(p) for p in problem["loc"])
        got = problem.get("input")
        if isinstance(got, str):
            # never echo a password (redis URLs): a malformed value's credentials cannot be told apart, so the whole
            # user-info goes, up to the last "@" as redis-py reads it, and a ?password= as well
            got = mask_url_passwords(re.sub(r"//[^/\s]*@", "//***@", got))
        lines.append(f"{var}: {problem['msg']} (at {detail}, got {got!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def describe_settings_error(error: Exception) -> str:
    """pydantic-settings names the field of an undecodable value; name the variable instead."""
    match = re.search(r'field "([a-z_]+)"', str(error))
    var = ENV_PREFIX + match.group(1).upper() if match else "a TICKER_ variable"
    return f'{var}: not valid JSON (e.g. ["USD","EUR"] or [{{"id":"astana",...}}]): {error.__cause__ or error}'


def unknown_variables() -> list[str]:
    """TICKER_* variables that configure nothing (a typo such as TICKER_NBK_INTERVAL, one underscore).
    Unknown keys inside a source section (TICKER_NBK__INTERVALL) are already errors."""
    tops = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(var for var in os.environ if var.startswith(ENV_PREFIX) and var.partition("__")[0] not in tops)
