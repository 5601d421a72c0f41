"""Request handlers. They read the in-memory snapshot and nothing else: no Redis, no upstream."""

from __future__ import annotations

import logging

from aiohttp import web

from ticker import __version__
from ticker.models import Error, Health
from ticker.render.query import QueryError, parse_query
from ticker.render.snapshot import View
from ticker.web.appkeys import (
    CACHE_POLICY,
    CLOCK,
    CORS,
    CROSSCHECK,
    METRICS,
    POLICY,
    RESPONDER,
    SETTINGS,
    SNAPSHOT,
    STORE,
    SUPERVISOR,
)
from ticker.web.readiness import report
from ticker.web.respond import ALLOW_HEADERS, Cors, Handler

log = logging.getLogger(__name__)


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
    snapshot, policy, requests = app[SNAPSHOT], app[CACHE_POLICY][view], app[METRICS].requests
    respond = app[RESPONDER].respond
    ok, not_modified = (f"/v1/{view}", 200), (f"/v1/{view}", 304)

    async def handler(request: web.Request) -> web.Response:
        try:
            query = parse_query(request.query, snapshot.default) if request.query_string else None
            response = respond(request, snapshot.render(view, query), policy)
        except Exception as exc:  # noqa: BLE001 - the request boundary (a try costs nothing until it raises)
            response = error_from(request, exc)
        status = response.status
        requests[ok if status == 200 else not_modified if status == 304 else (ok[0], status)] += 1
        return response

    return handler


def request_boundary(route: str, handler: Handler) -> Handler:
    """The request boundary for every route but the strip's (which inlines the same): errors become
    JSON, answers are counted by route. No middleware: a middleware costs every request on the hot path."""

    async def boundary(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except Exception as exc:  # noqa: BLE001 - the request boundary
            response = error_from(request, exc)
        request.app[METRICS].requests[(route, response.status)] += 1
        return response

    return boundary


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Never depends on Redis or an upstream."""
    return web.Response(
        body=Health(version=__version__).model_dump_json().encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def readyz(request: web.Request) -> web.Response:
    """Readiness: every data kind has data that is (or was, when stored) current. Degraded states are named."""
    app = request.app
    body = report(
        app[SETTINGS],
        app[STORE],
        app[CLOCK](),
        tasks_down=sorted(app[SUPERVISOR].down),
        warnings=app[CROSSCHECK].warnings(),
        policy=app[POLICY],
    )
    return web.Response(
        status=200 if body.ready else 503,
        body=body.model_dump_json().encode(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def air_off(request: web.Request) -> web.Response:
    """/v1/air while air quality is off: say how to turn it on."""
    message = 'air quality is off: set TICKER_AIR_SOURCES (["open_meteo_air"]) to turn it on'
    return error_response(request, 404, message)


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


def error_from(request: web.Request, exc: Exception) -> web.Response:
    """Every error is JSON with the right status and ``no-store``; the unexpected ones are logged."""
    if isinstance(exc, QueryError):
        return error_response(request, 400, str(exc), parameter=exc.parameter, allowed=exc.allowed)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(request, exc.status, exc.reason, headers=headers)
    log.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, "internal error")


async def not_found(request: web.Request) -> web.Response:
    """The last route: 405 with Allow where the path exists under other methods, else 404."""
    allowed = sorted(
        {route.method for resource in request.app.router.resources() if resource.canonical == request.path
         for route in resource}
    )  # fmt: skip
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()
