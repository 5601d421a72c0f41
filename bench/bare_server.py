#!/usr/bin/env python3
"""The reference servers http_ratio.py compares ticker with: a tiny aiohttp app, one process.

    python bench/bare_server.py --port P --spec spec.json [--redis-port R] [--noop-middleware]

``spec.json`` maps a path to the exact response ticker gave for it, captured beforehand::

    {"/v1/ticker": {"status": 200, "headers": [["Content-Type", "..."], ...], "body_b64": "..."}, ...}

Each path gets the "bare" handler, the ceiling for any aiohttp service: its status, body and headers are
built ONCE at start (the headers as a ``CIMultiDict``, as a hand-written handler would keep them), and every
request returns ``web.Response(status=status, body=body, headers=headers)``. aiohttp copies the headers into
each response and adds Date, Server and Content-Length itself, as it does for ticker. With ``--redis-port``,
``/naive`` is the naive design: every request GETs the body from Redis (key ``bench:ticker``, written here
at start-up from the spec's ``/v1/ticker`` body) and returns it with the same prebuilt headers.
``--noop-middleware`` adds one middleware that only awaits the handler: what merely having one costs.
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypedDict

import redis.asyncio as aioredis
from aiohttp import web
from multidict import CIMultiDict

NAIVE_KEY = "bench:ticker"
REDIS = web.AppKey("redis", aioredis.Redis)


class Answer(TypedDict):
    status: int
    headers: list[tuple[str, str]]
    body_b64: str


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def noop(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handler(request)


def bare(status: int, body: bytes, headers: CIMultiDict[str]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body or None, headers=headers)

    return handler


def make_app(spec: dict[str, Answer], redis_port: int | None, middleware: bool) -> web.Application:
    app = web.Application(middlewares=[noop] if middleware else [])
    for path, answer in spec.items():
        headers = CIMultiDict(answer["headers"])  # once, at start
        app.router.add_get(path, bare(answer["status"], base64.b64decode(answer["body_b64"]), headers))

    if redis_port is not None:
        identity = spec["/v1/ticker"]
        naive_headers = CIMultiDict(identity["headers"])

        async def connect(app: web.Application) -> AsyncIterator[None]:
            client = aioredis.Redis(host="127.0.0.1", port=redis_port)
            await client.set(NAIVE_KEY, base64.b64decode(identity["body_b64"]))
            app[REDIS] = client
            yield
            await client.aclose()

        async def naive(request: web.Request) -> web.Response:
            return web.Response(body=await request.app[REDIS].get(NAIVE_KEY), headers=naive_headers)

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
    spec: dict[str, Answer] = json.loads(args.spec.read_text())
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
