#!/usr/bin/env python3
"""`ticker serve` with one part taken away, for http_ratio.py --ablation: where does the time go?

    python bench/ticker_variant.py no-middleware   # ticker's app without its `errors` middleware
    python bench/ticker_variant.py fixed           # ... and GET /v1/ticker answered from a frozen copy

Configuration comes from the same TICKER_* variables as `ticker serve`. "fixed" answers every request
with ``web.Response(body, headers)`` built from what ticker's own handler returned the first time: the
ticker process and app (scheduler, store, routes) with a bare handler. Never use either in production.
"""

from __future__ import annotations

import sys

from aiohttp import web

from ticker import views
from ticker.app import create_app
from ticker.cli import load_settings
from ticker.logs import setup_logging


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else ""
    if variant not in ("no-middleware", "fixed"):
        raise SystemExit(__doc__)
    settings = load_settings()
    setup_logging(settings.log_level)
    app = create_app(settings)
    app.middlewares.clear()  # both variants: no `errors` (and so no aiohttp current-app wrapper)
    if variant == "fixed":
        real = views.strip_view("ticker")
        frozen: dict[str, object] = {}

        async def fixed(request: web.Request) -> web.Response:
            if not frozen:
                first = await real(request)
                frozen["body"] = first.body
                frozen["headers"] = {k: v for k, v in first.headers.items() if k != "Content-Length"}
            return web.Response(body=frozen["body"], headers=frozen["headers"])  # type: ignore[arg-type]

        for resource in app.router.resources():
            if resource.canonical == "/v1/ticker":
                for route in resource:
                    if route.method == "GET":
                        route._handler = fixed  # the route object is what the router resolves to
    web.run_app(app, host=settings.host, port=settings.port, access_log=None, print=None, shutdown_timeout=5)


if __name__ == "__main__":
    main()
