"""create_app(settings): routes, and one cleanup context per resource, closed in reverse.

Order of life: store -> HTTP client session -> data (load from the store, follow its announcements,
schedule the fetchers). On shutdown, streams get a final event first (on_shutdown, before aiohttp waits
for handlers), then the scheduler stops, unfinished time slots are released, the session and the store
close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import web

from providers.base import Provider
from ticker import __version__, openapi, views
from ticker.appkeys import (
    CACHE_CONTROL,
    CLOSING,
    CORS,
    METRICS,
    SETTINGS,
    SNAPSHOT,
    STORE_HEALTH,
)
from ticker.health import StoreHealth
from ticker.http_cache import Cors, cache_control
from ticker.metrics import Metrics
from ticker.refresh import Refresher, RetryPolicy
from ticker.scheduler import start_scheduler
from ticker.settings import Settings
from ticker.snapshot import Clock, Snapshot, utcnow
from ticker.sources import build_providers
from ticker.store import Store, create_store
from ticker.stream import stream
from ticker.sync import follow, reload, watch

log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
SESSION = web.AppKey("session", aiohttp.ClientSession)
REFRESHER = web.AppKey("refresher", Refresher)
USER_AGENT = f"ticker/{__version__} (KZT rates and weather strip)"


def _cache_policies(settings: Settings) -> dict[str, str]:
    """max-age is half the primary source's interval: a poller never lags more than 1.5 intervals."""
    rates = settings.source_config(settings.rate_sources[0]).interval
    weather = settings.source_config(settings.weather_sources[0]).interval

    def policy(interval: float) -> str:
        return cache_control(max(1, int(interval // 2)), max(1, int(interval)), 86400)

    return {"rates": policy(rates), "weather": policy(weather), "ticker": policy(min(rates, weather))}


def create_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    providers: Mapping[str, Provider] | None = None,
    retry: RetryPolicy | None = None,
    schedule: bool = True,
) -> web.Application:
    app = web.Application()  # no middleware: see views.guarded
    app[SETTINGS] = settings
    app[CORS] = Cors(tuple(settings.cors_origins))
    app[CACHE_CONTROL] = _cache_policies(settings)
    app[CLOSING] = asyncio.Event()
    health = app[STORE_HEALTH] = StoreHealth(kind="redis" if settings.redis_url else "memory")
    snapshot = Snapshot(settings, clock)  # timers and events bind to the loop only when used
    app[SNAPSHOT] = snapshot
    app[METRICS] = Metrics(settings.source_names, lambda: snapshot.entries, clock, health)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = create_store(settings.redis_url)
        app[STORE] = store
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60, connect=10),
            headers={"User-Agent": USER_AGENT},
            connector=aiohttp.TCPConnector(limit=16),
        )
        app[SESSION] = session
        tasks: list[asyncio.Task[None]] = []
        scheduler = None
        refresher = Refresher(
            settings,
            providers or build_providers(settings, clock),
            snapshot,
            store,
            session,
            app[METRICS],
            health,
            retry=retry,
        )
        app[REFRESHER] = refresher
        try:
            # serve what the store holds before the first fetch completes
            await asyncio.wait_for(reload(store, snapshot, health, push=False), 5)
            tasks.append(asyncio.create_task(follow(store, snapshot, health), name="ticker-follow"))
            if settings.redis_url:
                tasks.append(asyncio.create_task(watch(store, snapshot, health), name="ticker-watch"))
            if schedule and settings.role != "api":
                scheduler = start_scheduler(settings, refresher, clock())
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)  # cancels runs in flight
            await refresher.wait_idle(5)
            await refresher.release_claims()
            store.stop()  # subscription loops end even where redis-py swallows a cancellation
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=3)  # before the store closes: no reconnect behind it
            snapshot.close()
            await session.close()
            await store.close()

    async def end_streams(app: web.Application) -> None:
        app[CLOSING].set()
        app[SNAPSHOT].close()

    app.cleanup_ctx.append(resources)
    app.on_shutdown.append(end_streams)
    _routes(app)
    return app


def _routes(app: web.Application) -> None:
    for view in ("ticker", "rates", "weather"):
        app.router.add_get(f"/v1/{view}", views.strip_view(app, view))  # counts its own requests
    others: list[tuple[str, views.Handler]] = [
        ("/v1/stream", stream),
        ("/healthz", views.healthz),
        ("/readyz", views.readyz),
        ("/metrics", views.metrics),
        ("/openapi.json", openapi.handler),
    ]
    with contextlib.suppress(FileNotFoundError):
        others.append(("/widget.js", views.static_file("widget.js", "text/javascript")))
        others.append(("/", views.static_file("index.html", "text/html", max_age=60)))
    for path, handler in others:  # no HEAD on the stream: it has no end to stop at
        app.router.add_get(path, views.guarded(path, handler), allow_head=path != "/v1/stream")
    for resource in list(app.router.resources()):  # CORS preflight wherever a GET is served
        if isinstance(resource, web.Resource):
            resource.add_route("OPTIONS", views.guarded("preflight", views.preflight))
    app.router.add_route("*", "/{tail:.*}", views.guarded("unmatched", views.not_found))  # last: 404/405 as JSON
