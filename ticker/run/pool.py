"""``ticker serve --workers N``: gunicorn's master keeps N aiohttp workers on one listening socket.

The master binds the socket (backlog BACKLOG) and forks the workers; each worker builds its own app with
``create_app`` after the fork (``preload_app`` off: no event loop, Redis connection or scheduler crosses a
fork) and serves through ``aiohttp.GunicornWebWorker``. A worker that dies is replaced; SIGHUP starts N fresh
workers and drains the old ones; SIGTERM and SIGINT drain them all and exit 0. Only ``serve --workers N``
with N > 1 imports this module, so the single process never loads gunicorn.

A worker that is told to stop (SIGHUP's old workers, SIGTERM, SIGINT) stops accepting, then for ACCEPT_GRACE
keeps serving the connections it has, answering with ``Connection: close``: a connection it accepted just before
the stop delivers its request and is answered instead of closed unanswered, and a busy keep-alive client moves
to another worker instead of finding its connection closed under its next request. Then the usual aiohttp
shutdown: idle connections closed, SSE streams sent ``close``, requests in flight given DRAIN seconds, cleanup
contexts run (claims released, Redis closed). gunicorn kills a worker still running ``graceful_timeout``
(= SHUTDOWN_TIMEOUT) after the signal, so ACCEPT_GRACE + DRAIN leaves CLEANUP_BUDGET of it to the cleanup.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import math
import os
import signal
from types import FrameType
from typing import Any

from aiohttp import hdrs, web
from aiohttp.worker import GunicornUVLoopWebWorker, GunicornWebWorker
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from ticker.run.app import BACKLOG, SHUTDOWN_TIMEOUT, create_app
from ticker.run.startup import listening_line
from ticker.settings import Settings

log = logging.getLogger(__name__)
ACCEPT_GRACE = 1.0  # seconds a stopping worker keeps serving its connections (with Connection: close)
CLEANUP_BUDGET = 1.0  # seconds of SHUTDOWN_TIMEOUT kept for the cleanup contexts
DRAIN = SHUTDOWN_TIMEOUT - ACCEPT_GRACE - CLEANUP_BUDGET  # the most requests in flight get, as run_app's timeout
WORKER_TIMEOUT = 30  # a worker whose event loop has not come round for this long is killed and replaced


class Worker(GunicornWebWorker):
    """aiohttp's worker, but SIGTERM wakes its loop at once (as SIGINT/SIGQUIT already do), instead of at
    its next one-second check: the drain starts when the master says so, not up to a second later."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.handle_quit(sig, frame)


class UVLoopWorker(GunicornUVLoopWebWorker):
    """The same on uvloop (`pip install ticker[uvloop]`), as the single process runs where it is installed."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.handle_quit(sig, frame)


class DrainingRunner(web.AppRunner):
    """An AppRunner whose cleanup stops accepting ACCEPT_GRACE before aiohttp closes the idle connections."""

    def __init__(self, app: web.Application) -> None:
        super().__init__(app, access_log=None, shutdown_timeout=DRAIN)
        self.draining = False
        app.on_response_prepare.append(self._close_when_draining)

    async def _close_when_draining(self, _request: web.Request, response: web.StreamResponse) -> None:
        if self.draining:  # the client's next request goes to another worker
            response.force_close()  # close after this response...
            response.headers[hdrs.CONNECTION] = "close"  # ...and say so (the headers are made before this hook)

    async def cleanup(self) -> None:
        self.draining = True
        for site in list(self.sites):
            await site.stop()  # this worker no longer accepts; the others (or the new ones) take the queue
        await asyncio.sleep(ACCEPT_GRACE)
        await super().cleanup()  # idle connections closed, on_shutdown (SSE close), DRAIN, cleanup contexts
        # The worker is done; only closing the loop is left. A signal from the master landing while the loop closes
        # (after its wakeup pipe, before its handlers go) printed "Exception ignored when trying to write to the
        # signal wakeup fd" with a traceback (a worker leaving after max-requests as the pool stops): ignore them.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_IGN)


class PoolLogger(Logger):  # type: ignore[misc]
    """gunicorn's own lines (workers booting, exiting, replaced) through our root handler and line format;
    never an access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True
        self.access_log.handlers.clear()
        self.access_log.propagate = False


def options(settings: Settings, workers: int) -> dict[str, object]:
    """gunicorn's settings, from ours."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    uvloop = importlib.util.find_spec("uvloop") is not None
    return {
        "bind": [f"{host}:{settings.port}"],
        "workers": workers,
        "worker_class": UVLoopWorker if uvloop else Worker,
        "graceful_timeout": math.ceil(SHUTDOWN_TIMEOUT),  # gunicorn takes whole seconds
        "timeout": WORKER_TIMEOUT,
        "backlog": BACKLOG,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
        "logger_class": PoolLogger,
        "preload_app": False,
        "reuse_port": False,  # one socket the workers share: a worker leaving drops nothing queued on it
        "max_requests": settings.max_requests,
        "max_requests_jitter": settings.max_requests // 10,
        "proc_name": "ticker",
        # once the master holds the socket, before the first worker: the same first line as one process
        "when_ready": lambda _arbiter: log.info("%s", listening_line(settings, workers=workers)),
        "control_socket_disable": True,  # no gunicornc socket under $HOME (read-only in the image)
        # the workers' heartbeat files: on tmpfs where there is one (a read-only root has no writable /tmp)
        "worker_tmp_dir": "/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
    }


class Pool(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        super().__init__(prog="ticker serve")

    def load_config(self) -> None:
        for key, value in options(self.settings, self.workers).items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Called in each worker, after the fork: the worker awaits the coroutine in its own loop."""
        settings = self.settings

        async def runner() -> web.AppRunner:
            app = create_app(settings)
            gc.freeze()  # as the single process does (cli.serve): start-up's objects out of the collector's way
            gc.set_threshold(10_000, 20, 20)
            return DrainingRunner(app)

        return runner


def run_pool(settings: Settings, workers: int) -> int:
    """Run the pool in this process (gunicorn's master) until SIGTERM or SIGINT; gunicorn exits the process."""
    gc.freeze()  # what the master imported is shared by the forked workers: keep their pages untouched
    Pool(settings, workers).run()
    return 0
