"""What a start says about itself: the one "listening" line (where the data comes from, where to look) and the
warnings about configuration that works but breaks someone's terms."""

from __future__ import annotations

import logging

from providers.met_no import PLACEHOLDER_USER_AGENT
from ticker import __version__
from ticker.settings import Settings

log = logging.getLogger(__name__)
ARROW = "→"  # the order a chain is asked in: the first healthy source wins


def listening_line(settings: Settings, host: str | None = None, port: int | None = None, workers: int = 1) -> str:
    """``ticker 0.1.0 listening on 0.0.0.0:8080 (store: in-process, role: all); rates from nbk→cbr, weather from
    open_meteo→met_no; see /readyz for each source's state and /v1/ticker for the strip``; a pool says
    ``listening on 0.0.0.0:8080 with 2 workers``."""
    store = "redis" if settings.redis_url else "in-process"
    air = f", air quality from {ARROW.join(settings.air_sources)}" if settings.air_on else ""
    where = f"{host or settings.host}:{settings.port if port is None else port}"
    if workers > 1:
        where += f" with {workers} workers"
    return (
        f"ticker {__version__} listening on {where} (store: {store}, role: {settings.role}); "
        f"rates from {ARROW.join(settings.rate_sources)}, weather from {ARROW.join(settings.weather_sources)}"
        f"{air}; see /readyz for each source's state and /v1/ticker for the strip"
    )


def met_no_placeholder_warning(settings: Settings) -> str | None:
    """MET Norway's terms: an application name and a contact in the User-Agent; generic ones are blocked."""
    if "met_no" not in settings.weather_sources or settings.role == "api":  # an api replica never fetches
        return None
    if getattr(settings.source_config("met_no"), "user_agent", None) != PLACEHOLDER_USER_AGENT:
        return None
    return (
        f"TICKER_MET_NO__USER_AGENT is the shared placeholder {PLACEHOLDER_USER_AGENT!r}: MET Norway's terms "
        "require your application's name and a contact, and they block generic agents; set it to yours, "
        "e.g. TICKER_MET_NO__USER_AGENT='news-example-kz-ticker/1.0 ops@news.example.kz' "
        "(or drop met_no from TICKER_WEATHER_SOURCES)"
    )


def startup_warnings(settings: Settings) -> list[str]:
    return [w for w in (met_no_placeholder_warning(settings),) if w]


def log_startup_warnings(settings: Settings) -> None:
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
