"""The configured upstreams, built from the provider registry and their settings sections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from providers import REGISTRY
from providers.base import Provider
from ticker.settings import Settings


def build_providers(settings: Settings, clock: Callable[[], datetime]) -> dict[str, Provider]:
    """One provider per configured source name, in chain order (rates, then weather)."""
    return {
        name: REGISTRY[name](settings.source_config(name), settings.locations, clock) for name in settings.source_names
    }
