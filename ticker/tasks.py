"""Background tasks under supervision: restarted with backoff when they fail, counted in /metrics, and
named in /readyz while down, so a replica never freezes silently behind a 200."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, restarts: Counter, *, base_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self.restarts = restarts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.down: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(self._keep(name, run), name=f"ticker-{name}"))

    async def _keep(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        delay = self.base_delay
        while True:
            try:
                await run()
                if not self._closing:
                    log.error("%s ended unexpectedly; restarting it", name)
            except Exception:  # the task boundary: whatever broke, the task comes back
                if not self._closing:
                    log.exception("%s failed; restarting it in %.1f s", name, delay)
            if self._closing:  # closed, but the body swallowed its cancellation (redis-py can): end here
                return
            self.down.add(name)
            self.restarts.labels(name).inc()
            await asyncio.sleep(delay)
            delay = min(max(delay * 2, 0.1), self.max_delay)
            self.down.discard(name)

    async def stop(self, name: str, timeout: float = 3.0) -> None:
        """Cancel one task and wait for it (bounded): a task whose resources close before the others'."""
        ending = [task for task in self._tasks if task.get_name() == f"ticker-{name}"]
        for task in ending:
            task.cancel()
        if ending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(ending, timeout=timeout)
        self._tasks = [task for task in self._tasks if task not in ending]

    async def close(self, timeout: float = 3.0) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(self._tasks, timeout=timeout)
        self._tasks.clear()
