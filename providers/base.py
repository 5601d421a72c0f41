"""What every provider shares: the records, the provider shape, the error tree and one bounded read.

Providers turn upstream bytes into these records and nothing else; they never import ``ticker``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Trend = Literal["up", "down", "flat"]
Kind = Literal["rates", "weather"]


class Rate(BaseModel):
    """KZT for ONE unit of ``currency``, official for ``date``."""

    model_config = ConfigDict(frozen=True)

    currency: str
    rate: float
    change: float | None = None
    trend: Trend | None = None
    date: dt.date


class Temperature(BaseModel):
    """Air temperature at 2 m in °C for a configured city, observed at a true UTC instant."""

    model_config = ConfigDict(frozen=True)

    city: str
    temperature: float | None
    observed_at: datetime


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
        default=None, gt=0, description="seconds after the last good fetch; default 3 x interval"
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
        return self.stale_after if self.stale_after is not None else 3 * self.interval


class Provider(Protocol):
    """One upstream: ``fetch`` returns parsed, typed records or raises a ProviderError."""

    name: str
    kind: Kind

    async def fetch(self, session: aiohttp.ClientSession) -> Sequence[Record]: ...


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


# --- the one bounded read --------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    now = now or datetime.now(when.tzinfo)
    return max(0.0, (when - now).total_seconds())


def looks_like_html(body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


async def read_bounded(
    session: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
    ok_statuses: Sequence[int] = (200,),
) -> Response:
    """GET ``url`` and read at most ``max_bytes`` within ``timeout`` seconds in total.

    Any status outside ``ok_statuses`` raises UpstreamStatusError (with Retry-After); an HTML page is
    a FormatError whatever its status; a body over the cap is dropped unread past the cap.
    """
    # One timer only: aiohttp's own ClientTimeout firing in the same tick as the caller's deadline
    # swallowed the caller's cancellation, so a hang could outlast the fetch's total limit.
    no_client_timer = aiohttp.ClientTimeout()
    try:
        async with asyncio.timeout(timeout):
            async with session.get(
                url, params=params, headers=headers, timeout=no_client_timer, allow_redirects=True
            ) as resp:
                if resp.status not in ok_statuses:
                    raise UpstreamStatusError(resp.status, parse_retry_after(resp.headers.get("Retry-After")))
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise ResponseTooLarge(f"Content-Length {resp.content_length} > cap {max_bytes}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ResponseTooLarge(f"body exceeds cap of {max_bytes} bytes")
                    chunks.append(chunk)
                body = b"".join(chunks)
                if resp.status != 304 and looks_like_html(body):
                    raise FormatError("upstream sent an HTML page instead of data")
                return Response(resp.status, dict(resp.headers), body)
    except TimeoutError as exc:
        raise UpstreamUnavailable(f"no complete answer within {timeout:g} s") from exc
    except aiohttp.ClientPayloadError as exc:
        raise FormatError(f"truncated body: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc


# --- number helpers shared by the parsers -----------------------------------------------------------


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise FormatError(f"{what} is not a finite number")
    return 0.0 if value == 0 else value  # -0.0 -> 0.0
