"""What every provider shares: the records, the provider shape, the error tree, one bounded read and the
parsing helpers (safe XML, decimals, currency codes, coordinates, "one bad item must not cost the others").

Providers turn upstream bytes into these records and nothing else; they never import ``ticker``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal, ParamSpec, Protocol, TypeVar
from xml.etree.ElementTree import Element

import aiohttp
import defusedxml.ElementTree as SafeET
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

Trend = Literal["up", "down", "flat"]
# the sky, normalised from each source's own vocabulary (providers/conditions.py); None when unknown
Condition = Literal["clear", "partly_cloudy", "overcast", "fog", "drizzle", "rain", "snow", "showers", "thunderstorm"]
Kind = Literal["rates", "weather"]
Clock = Callable[[], datetime]
ASTANA = timezone(timedelta(hours=5))  # all of Kazakhstan is UTC+5 since 2024-03-01


def astana_date(instant: datetime) -> dt.date:
    """The calendar date in Astana at ``instant`` (aware)."""
    return instant.astimezone(ASTANA).date()


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


# --- errors ---------------------------------------------------------------------------------------


class ProviderError(Exception):
    """Anything that makes a fetch unusable. ``transient`` errors are worth a retry."""

    transient = False
    retry_after: float | None = None


class UpstreamStatusError(ProviderError):
    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"upstream answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.transient = status == 429 or status >= 500


class UpstreamUnavailable(ProviderError):
    """Connection refused, reset, DNS failure or timeout."""

    transient = True


class ResponseTooLarge(ProviderError):
    pass


class FormatError(ProviderError):
    """The bytes are not the document we expect (HTML, truncated, wrong root, no items, bad numbers)."""


# --- helpers shared by the parsers ----------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@contextmanager
def format_errors(what: str) -> Iterator[None]:
    """Any exception but a ProviderError (OverflowError, decimal errors, RecursionError, UnicodeError, ...)
    leaves as a FormatError: bytes we cannot read are a provider failure, never a crash."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        raise FormatError(f"{what}: unreadable ({type(exc).__name__}: {str(exc)[:200]})") from exc


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """``format_errors`` around a whole parser."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with format_errors(func.__module__.rpartition(".")[2]):
            return func(*args, **kwargs)

    return wrapper


def parse_xml(body: bytes, what: str) -> Element:
    """The safe preamble: defusedxml, no DTD at all (so no entities, no bombs); errors are FormatErrors."""
    with format_errors(f"not well-formed {what} XML"):
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    return root


def validated(model: type[M], data: object, what: str) -> M:
    """``model`` from decoded JSON; the first problem, with its location, as a FormatError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FormatError(f"{what}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def decimal(text: str | None, what: str, *, comma: bool = False, positive: bool = False) -> Decimal:
    """A finite Decimal from an element's text (``comma``: a decimal comma, as CBR writes)."""
    raw = (text or "").strip()
    try:
        value = Decimal(raw.replace(",", ".") if comma else raw)
    except InvalidOperation as exc:
        raise FormatError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite() or (positive and value <= 0):
        raise FormatError(f"{what} {text!r} is not a {'positive' if positive else 'finite'} number")
    return value


def currency_code(text: str | None, what: str) -> str:
    code = (text or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise FormatError(f"{what} {code!r} is not a currency code")
    return code


def collect(items: Iterable[T], build: Callable[[T], R], what: str) -> list[R]:
    """One bad item must not cost the others: build each, keep the good; fail only when none is usable."""
    built: list[R] = []
    problems: list[str] = []
    for item in items:
        try:
            with format_errors(what):
                built.append(build(item))
        except FormatError as exc:
            problems.append(str(exc))
    if not built:
        raise FormatError(f"{what} lists no usable items" + (f": {problems[0]}" if problems else ""))
    return built


def coordinate(value: float) -> str:
    """At most 4 decimals, no trailing zeros, never ``-0`` (MET Norway's terms; Open-Meteo's grid needs no more)."""
    return f"{round(value, 4) + 0.0:.4f}".rstrip("0").rstrip(".")


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise FormatError(f"{what} is not a finite number")
    return 0.0 if value == 0 else value  # -0.0 -> 0.0
