"""Request handlers. They read the in-memory snapshot and nothing else: no Redis, no upstream."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import resources

from aiohttp import web

from ticker import __version__
from ticker.appkeys import CACHE_CONTROL, CORS, METRICS, SNAPSHOT, STORE_HEALTH
from ticker.http_cache import ALLOW_HEADERS, Cors, respond
from ticker.models import Error, Health, Readiness, SourceReport
from ticker.query import QueryError, parse_query
from ticker.snapshot import View

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(
    request: web.Request,
    status: int,
    message: str,
    *,
    parameter: str | None = None,
    allowed: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = Error(error=message, status=status, parameter=parameter, allowed=allowed)
    out = {
        "Cache-Control": "no-store",
        **request.app[CORS].headers(request.headers.get("Origin")),
        **(headers or {}),
    }
    return web.Response(
        status=status,
        body=body.model_dump_json(exclude_none=True).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=out,
    )


def strip_view(app: web.Application, view: View) -> Handler:
    """The hot path: everything it needs is bound here once, not looked up per request."""
    snapshot, cors, cache, requests = app[SNAPSHOT], app[CORS], app[CACHE_CONTROL][view], app[METRICS].requests
    ok, not_modified = (f"/v1/{view}", 200), (f"/v1/{view}", 304)

    async def handler(request: web.Request) -> web.Response:
        query = parse_query(request.query, snapshot.default) if request.query_string else None
        response = respond(request, snapshot.render(view, query), cors, cache)
        requests[ok if response.status == 200 else not_modified] += 1  # errors are counted by `errors`
        return response

    return handler


def counted(route: str, handler: Handler) -> Handler:
    async def counting(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        request.app[METRICS].requests[(route, response.status)] += 1
        return response

    return counting


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Never depends on Redis or an upstream."""
    return web.Response(
        body=Health(version=__version__).model_dump_json().encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def readyz(request: web.Request) -> web.Response:
    """Readiness: every data kind has data (fetched or loaded from Redis). Degraded states are named."""
    snapshot = request.app[SNAPSHOT]
    health = request.app[STORE_HEALTH]
    settings = snapshot.settings
    now = snapshot.clock()
    reports = []
    for source in settings.source_names:
        entries = snapshot.entries.get(source, {})
        status = snapshot.status.get(source)
        newest = max((e.fetched_at for e in entries.values()), default=None)
        age = (now - newest).total_seconds() if newest else None
        stale_after = settings.source_config(source).stale_seconds
        reports.append(
            SourceReport(
                source=source,
                kind="rates" if source in settings.rate_sources else "weather",
                items=len(entries),
                age_seconds=None if age is None else round(age, 3),
                stale=newest is None or now >= newest + timedelta(seconds=stale_after),
                last_error=status.last_error if status and status.failures else None,
                failures=status.failures if status else 0,
                open_until=status.open_until if status and status.failures else None,
            )
        )
    missing = [kind for kind in ("rates", "weather") if not snapshot.has_data(kind)]
    reasons = [f"no {kind} data yet" for kind in missing]
    if not health.ok:
        reasons.append("store unreachable: serving from memory")
    body = Readiness(
        ready=not missing,
        reason="; ".join(reasons) or None,
        store="redis" if health.kind == "redis" else "memory",
        store_ok=health.ok,
        sources=reports,
    )
    return web.Response(
        status=200 if not missing else 503,
        body=body.model_dump_json().encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store"},
    )


async def preflight(request: web.Request) -> web.Response:
    cors: Cors = request.app[CORS]
    origin = request.headers.get("Origin")
    if not cors.allows(origin):
        return error_response(request, 403, f"origin {origin!r} is not allowed", allowed=list(cors.origins))
    headers = {
        **cors.headers(origin),
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": "86400",
        "Cache-Control": "no-store",
    }
    return web.Response(status=204, headers=headers)


def static_file(name: str, content_type: str, max_age: int = 300) -> Handler:
    data = resources.files("ticker").joinpath("static", name).read_bytes()

    async def handler(request: web.Request) -> web.Response:
        headers = {
            "Cache-Control": f"public, max-age={max_age}",
            **request.app[CORS].headers(request.headers.get("Origin")),
        }
        return web.Response(body=data, content_type=content_type, charset="utf-8", headers=headers)

    return handler


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error is JSON with the right status and ``no-store``, and counted by route. The success
    path adds nothing: handlers count their own answers."""
    try:
        return await handler(request)
    except QueryError as exc:
        response = error_response(request, 400, str(exc), parameter=exc.parameter, allowed=exc.allowed)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = error_response(request, exc.status, exc.reason, headers=headers)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = error_response(request, 500, "internal error")
    resource = request.match_info.route.resource
    name = resource.canonical if resource is not None and response.status != 404 else "unmatched"
    request.app[METRICS].requests[(name, response.status)] += 1
    return response
