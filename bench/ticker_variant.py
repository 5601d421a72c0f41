#!/usr/bin/env python3
"""`ticker serve` with part of GET /v1/ticker taken away, for http_ratio.py --ablation: where does the time go?

    python bench/ticker_variant.py fixed    # ticker's process and app; /v1/ticker is a bare handler
    python bench/ticker_variant.py render   # ... that also looks the rendering up in the snapshot

Configuration comes from the same TICKER_* variables as `ticker serve`; the app is `create_app`'s, with its
routes, scheduler, store and snapshot. Only the /v1/ticker handler differs: on its first request it asks
ticker's own handler (`views.strip_view(app, "ticker")`) and keeps that answer's status, body and headers as
a `CIMultiDict`, built once, as bench/bare_server.py does. Then every request:

    fixed    returns web.Response(status, body, headers) from those constants: the bare handler inside
             ticker's app (its router, its other routes, its running scheduler and store);
    render   calls snapshot.render("ticker") and returns its body with the constant headers: the above plus
             the snapshot lookup, so that ticker minus render is the Responder (validators, Cache-Control,
             CORS, codings, the header set).

Never use either in production: the answer never changes.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's ticker, not whichever one is installed

from aiohttp import web  # noqa: E402
from multidict import CIMultiDict  # noqa: E402

from ticker.render.snapshot import View  # noqa: E402
from ticker.run.app import SHUTDOWN_TIMEOUT, create_app  # noqa: E402
from ticker.run.cli import load_settings  # noqa: E402
from ticker.run.logs import setup_logging  # noqa: E402
from ticker.web import views  # noqa: E402
from ticker.web.appkeys import SNAPSHOT  # noqa: E402

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VARIANTS = ("fixed", "render")
DROP = {"content-length", "date", "server"}  # aiohttp writes these itself


def frozen_view(variant: str) -> Callable[[web.Application, View], Handler]:
    real_strip_view = views.strip_view

    def strip_view(app: web.Application, view: View) -> Handler:
        real = real_strip_view(app, view)
        if view != "ticker":
            return real
        snapshot = app[SNAPSHOT]
        first: list[tuple[int, bytes, CIMultiDict[str]]] = []

        async def handler(request: web.Request) -> web.StreamResponse:
            if not first:
                got = await real(request)
                assert isinstance(got, web.Response) and isinstance(got.body, bytes), got
                headers = CIMultiDict((k, v) for k, v in got.headers.items() if k.lower() not in DROP)
                first.append((got.status, got.body, headers))
            status, body, headers = first[0]
            if variant == "render":
                body = snapshot.render("ticker").body
            return web.Response(status=status, body=body, headers=headers)

        return handler

    return strip_view


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else ""
    if variant not in VARIANTS:
        raise SystemExit(__doc__)
    settings = load_settings()
    setup_logging(settings.log_level)
    with mock.patch.object(views, "strip_view", frozen_view(variant)):  # create_app adds the routes with it
        app = create_app(settings)
    web.run_app(
        app, host=settings.host, port=settings.port, access_log=None, print=None, shutdown_timeout=SHUTDOWN_TIMEOUT
    )


if __name__ == "__main__":
    main()
