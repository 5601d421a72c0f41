#!/usr/bin/env python3
"""The reference servers http_ratio.py compares ticker with: a tiny aiohttp app, one process.

    python bench/bare_server.py --port P --spec spec.json [--redis-port R]

``spec.json`` maps a path to the exact response ticker gave for it, captured beforehand::

    {"/v1/ticker": {"status": 200, "headers": {"Content-Type": ...}, "body_b64": "..."}, ...}

Each path gets a handler that returns ``web.Response(status, body, headers)`` built from constants: the
"bare" handler, the ceiling for any aiohttp service. With ``--redis-port``, ``/naive`` is the naive
design instead: every request GETs the body from Redis (key ``bench:ticker``, written here at start-up
from the spec's ``/v1/ticker`` body) and returns it with the same headers. ``--noop-middleware`` adds one
middleware that only awaits the handler: what merely having a middleware costs in aiohttp.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

from aiohttp import web

NAIVE_KEY = "bench:ticker"


@web.middleware
async def noop(request: web.Request, handler):  # type: ignore[no-untyped-def]
    return await handler(request)


def make_app(spec: dict[str, dict[str, object]], redis_port: int | None, middleware: bool) -> web.Application:
    app = web.Application(middlewares=[noop] if middleware else [])
    for path, answer in spec.items():
        body = base64.b64decode(str(answer["body_b64"]))
        headers = dict(answer["headers"])  # type: ignore[call-overload]
        status = int(answer["status"])  # type: ignore[call-overload]

        def bare(body: bytes = body, headers: dict[str, str] = headers, status: int = status):  # type: ignore[no-untyped-def]
            async def handler(request: web.Request) -> web.Response:
                return web.Response(status=status, body=body or None, headers=headers)

            return handler

        app.router.add_get(path, bare())

    if redis_port is not None:
        import redis.asyncio as aioredis

        identity = spec["/v1/ticker"]
        naive_headers = dict(identity["headers"])  # type: ignore[call-overload]

        async def connect(app: web.Application):  # type: ignore[no-untyped-def]
            client = aioredis.Redis(host="127.0.0.1", port=redis_port)
            await client.set(NAIVE_KEY, base64.b64decode(str(identity["body_b64"])))
            app["redis"] = client
            yield
            await client.aclose()

        async def naive(request: web.Request) -> web.Response:
            body = await request.app["redis"].get(NAIVE_KEY)
            return web.Response(body=body, headers=naive_headers)

        app.cleanup_ctx.append(connect)
        app.router.add_get("/naive", naive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--redis-port", type=int)
    parser.add_argument("--noop-middleware", action="store_true")
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    # the same run_app options as `ticker serve`
    web.run_app(
        make_app(spec, args.redis_port, args.noop_middleware),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
