"""argv -> Settings -> logging -> run. ``ticker serve``, ``ticker fetch``, ``ticker config``, ``ticker --version``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence

from aiohttp import web
from pydantic import ValidationError
from pydantic_settings import SettingsError

from ticker import __version__
from ticker.run.app import BACKLOG, SHUTDOWN_TIMEOUT
from ticker.run.logs import setup_logging
from ticker.run.startup import listening_line, log_startup_warnings
from ticker.settings import Settings, describe_error, describe_settings_error, unknown_variables

log = logging.getLogger(__name__)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        print(f"ticker: {describe_error(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    except SettingsError as exc:  # a value that is not the JSON the variable needs
        print(f"ticker: invalid configuration:\n  {describe_settings_error(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(settings: Settings, workers: int) -> int:
    if workers > 1:
        if not settings.redis_url:
            print(
                "ticker: --workers > 1 needs TICKER_REDIS_URL: workers share data and elect one fetcher "
                "through Redis (without it, run one process)",
                file=sys.stderr,
            )
            return 2
        from ticker.run.pool import run_pool  # gunicorn: imported only for a pool

        return run_pool(settings, workers)
    from ticker.run.app import create_app

    def started(_banner: str) -> None:  # run_app calls this once the socket is bound
        log.info("%s", listening_line(settings))

    app = create_app(settings)
    # what start-up made lives as long as the process: out of the collector's way (gc.freeze), and young
    # collections less often, so a storm of connections is not spent re-scanning the same objects
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    web.run_app(
        app,
        loop=_event_loop(),
        host=settings.host,
        port=settings.port,
        reuse_port=settings.reuse_port or None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        backlog=BACKLOG,
        access_log=None,
        print=started,
        handle_signals=True,
    )
    log.info("ticker stopped cleanly")
    return 0


def _event_loop() -> asyncio.AbstractEventLoop | None:
    """uvloop where it is installed (`pip install ticker[uvloop]`): accepting a connection costs a third of
    asyncio's, which is most of what a storm of SSE subscribers costs; else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop


async def fetch_once(settings: Settings) -> tuple[bytes, bool]:
    """Fetch every chain once through the same wiring the service runs (in-process store); the strip,
    and whether every configured item is current."""
    from ticker.clock import utcnow
    from ticker.metrics import Metrics
    from ticker.render.snapshot import Snapshot
    from ticker.run.app import build_refresher, client_session
    from ticker.store.store import Store

    store = Store()
    snapshot = Snapshot(settings, store, utcnow)
    async with client_session() as session:
        refresher = build_refresher(settings, store, session, Metrics(settings.source_names, utcnow), utcnow)
        await refresher.run_due()
    snapshot.close()
    built = snapshot.build(snapshot.default)
    stale = [item.stale for items in (built.rates, built.weather, built.air or []) for item in items]
    current = not any(stale)
    return snapshot.render("ticker").body, current


def fetch(settings: Settings) -> int:
    body, current = asyncio.run(fetch_once(settings))
    sys.stdout.write(body.decode() + "\n")
    if not current:
        print("ticker: not every configured item is current (see the log above)", file=sys.stderr)
    return 0 if current else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ticker", description="KZT rates and city temperatures strip.")
    parser.add_argument("--version", action="version", version=f"ticker {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the HTTP service and the scheduled fetchers")
    serve_p.add_argument("--host", help="listen address (default TICKER_HOST or 0.0.0.0)")
    serve_p.add_argument("--port", type=int, help="listen port (default TICKER_PORT or 8080)")
    serve_p.add_argument("--workers", type=int, default=1, help="worker processes (gunicorn); more than 1 needs Redis")
    sub.add_parser("fetch", help="fetch every source once, print the strip JSON, exit 0 if every item is current")
    config_p = sub.add_parser("config", help="print every setting, its value and where it came from; 2 if one is bad")
    config_p.add_argument("--host", help="as for serve: shown as set on the command line")
    config_p.add_argument("--port", type=int, help="as for serve: shown as set on the command line")
    args = parser.parse_args(argv)

    given = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = load_settings(**overrides)
    if args.command == "config":
        from ticker.run.config_report import print_report

        return print_report(settings, overrides)
    setup_logging(settings.log_level)
    for var in unknown_variables():
        log.warning("%s is not a ticker setting and is ignored (see the README's configuration table)", var)
    log_startup_warnings(settings)
    if args.command == "serve":
        if args.workers < 1:
            parser.error("--workers must be at least 1")
        return serve(settings, args.workers)
    return fetch(settings)
