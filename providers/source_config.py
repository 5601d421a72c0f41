"""The settings every source has (each provider subclasses ``SourceConfig`` with its own defaults), and
``narrow``, which hands a provider its own Config class back from the registry's general one."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


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


C = TypeVar("C", bound=SourceConfig)


def narrow(config: SourceConfig, want: type[C]) -> C:
    """The provider's own Config class, or a TypeError naming both (a wiring mistake, not bad data)."""
    if not isinstance(config, want):
        raise TypeError(f"{want.__module__}.{want.__qualname__} expected, got {type(config).__qualname__}")
    return config
