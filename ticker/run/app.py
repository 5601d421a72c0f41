"""create_app(settings): the wiring, in one place; one cleanup context per resource, closed in reverse.

Data flows one way: fetch -> parse -> validate -> store -> announce -> snapshot -> request. The store
(local copy + Redis) is built here; the snapshot and the cross-check listen to it; the refresher writes to
it alone. Cleanup contexts, in order: store, client session, sync (the store's background tasks), fetching
(refresher and scheduler), history (the backfill and its own session); aiohttp closes them in reverse.
Streams get their final event first, in on_shutdown, before aiohttp waits for handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import web

from providers.base import Provider
from ticker import __version__
from ticker.clock import Clock, utcnow
from ticker.fetch.attempts import RetryPolicy
from ticker.fetch.backfill import Backfill, Sleep, progress
from ticker.fetch.crosscheck import CrossCheck
from ticker.fetch.refresh import Refresher
from ticker.fetch.scheduler import start_scheduler, stop_scheduler
from ticker.fetch.sources import build_providers
from ticker.metrics import Metrics
from ticker.policy import Policy
from ticker.render.snapshot import Snapshot, View
from ticker.settings import Settings
from ticker.store.shared import Shared
from ticker.store.store import Store
from ticker.tasks import Supervisor
from ticker.web import assets, openapi, views
from ticker.web.appkeys import (
    BACKFILL,
    CACHE_POLICY,
    CLOCK,
    CLOSING,
    CORS,
    CROSSCHECK,
    METRICS,
    POLICY,
    REFRESHER,
    RESPONDER,
    SESSION,
    SETTINGS,
    SNAPSHOT,
    STORE,
    STREAM_HUB,
    SUPERVISOR,
)
from ticker.web.fanout import Hub
from ticker.web.history_view import HistoryView
from ticker.web.respond import CachePolicy, Cors, Handler, Responder
from ticker.web.stream import stream

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 5.0  # seconds in-flight requests get after SIGTERM; well inside a 10 s stop grace
# listen backlog: aiohttp's 128 drops the SYNs of a reconnect storm (thousands of SSE subscribers at once),
# which then wait 1 s, 3 s, ... for the kernel's retransmit; the kernel caps it at net.core.somaxconn
BACKLOG = 4096
USER_AGENT = f"ticker/{__version__} (KZT rates and weather strip)"
MAX_RATES_AGE = 900  # rates change at publication and at midnight: pollers look at least every 15 min


def create_store(redis_url: str | None) -> Store:
    shared: Shared | None = None
    if redis_url:
        from ticker.store.redis_backend import RedisBackend

        shared = RedisBackend(redis_url)
    return Store(shared)


def cache_policies(settings: Settings) -> dict[View, CachePolicy]:
    """max-age is half the primary source's interval (rates at most 15 min): a poller never lags long."""
    rates = settings.source_config(settings.rate_sources[0]).interval
    weather = settings.source_config(settings.weather_sources[0]).interval

    def policy(interval: float, cap: float) -> CachePolicy:
        return CachePolicy(max(1, int(min(interval // 2, cap))), max(1, int(min(interval, cap * 2))))

    strip = policy(min(rates, weather), min(MAX_RATES_AGE, weather))
    air = settings.source_config(settings.air_sources[0]).interval if settings.air_on else weather
    return {
        "rates": policy(rates, MAX_RATES_AGE),
        "weather": policy(weather, weather),
        "air": policy(air, air),
        "ticker": strip,
        "ticker.txt": strip,  # the whole strip in other formats: the same lifetimes
        "ticker.html": strip,
    }


def build_refresher(
    settings: Settings,
    store: Store,
    session: aiohttp.ClientSession,
    metrics: Metrics,
    clock: Clock,
    providers: Mapping[str, Provider] | None = None,
    retry: RetryPolicy | None = None,
) -> Refresher:
    """The one way to build the fetching side: ``ticker serve`` and ``ticker fetch`` both use it."""
    return Refresher(
        settings, providers or build_providers(settings, clock), store, session, metrics, clock, retry=retry
    )


def client_session() -> aiohttp.ClientSession:
    # trust_env: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment, as curl and pip honour them; where
    # the only way out is a proxy, that is what an operator expects (without it every source fails at start)
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60, connect=10),
        headers={"User-Agent": USER_AGENT},
        connector=aiohttp.TCPConnector(limit=16),
        trust_env=True,
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    providers: Mapping[str, Provider] | None = None,
    retry: RetryPolicy | None = None,
    schedule: bool = True,
    supervisor_delay: float = 0.5,
    backfill_sleep: Sleep = asyncio.sleep,
) -> web.Application:
    app = web.Application()  # no middleware: see views.request_boundary
    store = create_store(settings.redis_url)
    metrics = Metrics(settings.source_names, clock)
    policy = Policy(settings)
    snapshot = Snapshot(settings, store, clock, policy)  # timers and events bind to the loop only when used
    crosscheck = CrossCheck(settings, store, clock, policy)
    store.listen(crosscheck.changed)
    metrics.newest, metrics.store_up = store.newest_fetch, lambda: store.ok
    metrics.divergences = lambda: [(d.currency, d.ratio) for d in crosscheck.all()]
    app[SETTINGS], app[CLOCK], app[STORE], app[SNAPSHOT] = settings, clock, store, snapshot
    app[CROSSCHECK], app[METRICS], app[POLICY] = crosscheck, metrics, policy
    app[CORS] = Cors(tuple(settings.cors_origins))
    app[RESPONDER] = Responder(snapshot, app[CORS], clock)
    app[CACHE_POLICY] = cache_policies(settings)
    app[CLOSING] = asyncio.Event()
    app[STREAM_HUB] = Hub(snapshot, app[CLOSING])
    app[SUPERVISOR] = Supervisor(metrics.task_restarts, base_delay=supervisor_delay)
    if settings.history_on:
        metrics.history = lambda: progress(settings, store, clock())

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(TimeoutError):  # serve what the store holds before the first fetch
            await asyncio.wait_for(store.reload(), 5)
        yield
        snapshot.close()
        await store.close()

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        async with client_session() as session:
            app[SESSION] = session
            yield

    async def sync_ctx(app: web.Application) -> AsyncIterator[None]:
        supervisor = app[SUPERVISOR]
        supervisor.start("store-follow", store.follow)
        supervisor.start("store-watch", store.watch)
        yield
        store.stop()
        await supervisor.close()

    async def fetching_ctx(app: web.Application) -> AsyncIterator[None]:
        refresher = app[REFRESHER] = build_refresher(settings, store, app[SESSION], metrics, clock, providers, retry)
        scheduler = start_scheduler(refresher) if schedule and settings.role != "api" else None
        yield
        if scheduler is not None:
            await stop_scheduler(scheduler)
        await refresher.close()

    async def history_ctx(app: web.Application) -> AsyncIterator[None]:
        """The backfill, on a session of its own (the strip's fetches never queue behind it)."""
        if not settings.history_on or settings.role == "api":
            yield
            return
        async with client_session() as session:
            backfill = app[BACKFILL] = Backfill(
                settings, store, app[REFRESHER], session, metrics, clock, sleep=backfill_sleep
            )
            if schedule:
                app[SUPERVISOR].start("history-backfill", backfill.loop)
            yield
            await app[SUPERVISOR].stop("history-backfill")

    async def end_streams(app: web.Application) -> None:
        app[CLOSING].set()
        snapshot.close()

    app.cleanup_ctx.extend([store_ctx, session_ctx, sync_ctx, fetching_ctx, history_ctx])
    app.on_shutdown.append(end_streams)
    _routes(app)
    return app


def _routes(app: web.Application) -> None:
    views_: tuple[View, ...] = ("ticker", "rates", "weather", "ticker.txt", "ticker.html")
    if app[SETTINGS].air_on:
        views_ += ("air",)
    for view in views_:
        app.router.add_get(f"/v1/{view}", views.strip_view(app, view))  # counts its own requests
    others: list[tuple[str, Handler]] = [] if app[SETTINGS].air_on else [("/v1/air", views.air_off)]
    others += [
        ("/v1/stream", stream),
        ("/healthz", views.healthz),
        ("/readyz", views.readyz),
        ("/metrics", views.metrics),
        ("/openapi.json", openapi.handler),
        ("/v1/rates/history", HistoryView(app)),
    ]
    others.extend(assets.routes())  # /widget.js, /widget-history.js and /, where the static files are installed
    for path, handler in others:  # no HEAD on the stream: it has no end to stop at
        app.router.add_get(path, views.request_boundary(path, handler), allow_head=path != "/v1/stream")
    for resource in list(app.router.resources()):  # CORS preflight wherever a GET is served
        if isinstance(resource, web.Resource):
            resource.add_route("OPTIONS", views.request_boundary("preflight", views.preflight))
    # last: 404/405 as JSON
    app.router.add_route("*", "/{tail:.*}", views.request_boundary("unmatched", views.not_found))
