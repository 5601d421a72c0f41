"""One run of one source: claim the planned run, fetch with bounded retries, then keep what the answer brought
and record how the run ended. Which run is due, and which source comes next, is the freshness policy's answer
(``ticker.policy``); what is kept is ``keep.Keeper``'s; how a run ends is ``outcomes.Outcomes``'.

The refresher talks to the store alone: it decides from the store's local copy and writes to it; the snapshot
hears of the change from the store. A failed run keeps the last good data, and the next source in the chain is
asked at once where an item is left without a current value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Literal

import aiohttp

from providers.base import Provider, Rate, Record
from providers.errors import FormatError, ProviderError
from ticker.clock import Clock, astana_date
from ticker.fetch.attempts import RetryPolicy as RetryPolicy  # re-exported: callers build runs with it
from ticker.fetch.attempts import fetch_with_retries
from ticker.fetch.keep import Keeper
from ticker.fetch.outcomes import Outcomes
from ticker.metrics import Metrics
from ticker.policy import Policy, Run
from ticker.settings import Settings
from ticker.store.store import Store

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "not_yet", "claimed", "busy", "error"]


class Refresher:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, Provider],
        store: Store,
        session: aiohttp.ClientSession,
        metrics: Metrics,
        clock: Clock,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.store = store
        self.session = session
        self.metrics = metrics
        self.clock = clock
        self.policy = policy or Policy(settings)
        self.keeper = Keeper(settings, self.policy, store)
        self.outcomes = Outcomes(self.policy, store)
        self.retry = retry or RetryPolicy(attempts=settings.fetch_attempts)
        self.sleep = sleep
        self.owner = uuid.uuid4().hex
        self._locks = {name: asyncio.Lock() for name in providers}
        self._idle = {name: asyncio.Event() for name in providers}  # set while no run of the source is in flight
        for event in self._idle.values():
            event.set()
        self._claimed: set[str] = set()  # claims whose fetch has not finished (released on shutdown)
        self._tasks: set[asyncio.Task[Outcome]] = set()

    # --- what is due ------------------------------------------------------------------------------

    def due(self, source: str) -> Run | None:
        run = self.policy.plan(source, self.store, self.clock())
        return run if run is not None and run.due <= self.clock() else None

    def poke(self) -> list[asyncio.Task[Outcome]]:
        """Start every run that is due now (the scheduler calls this every second); returns the tasks."""
        started = []
        begun: set[str] = set()
        for source in self.providers:
            earlier = self.policy.earlier(source)
            if self._locks[source].locked() or any(self._locks[e].locked() or e in begun for e in earlier):
                continue  # a run of an earlier source is in flight: it hands over when it ends, if need be
            run = self.due(source)
            if run is not None:
                task = asyncio.create_task(self._guarded(run), name=f"ticker-fetch-{source}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started.append(task)
                begun.add(source)
        return started

    async def _guarded(self, run: Run) -> Outcome:
        """The job boundary: a bug in a run is logged with its traceback and counted, never lost in a task."""
        try:
            return await self.run(run)
        except Exception:  # the job boundary
            log.exception("%s: unexpected error in a %s run; the plan will try again", run.source, run.purpose)
            self.metrics.fetches.labels(run.source, "error").inc()
            return "error"

    async def idle(self, source: str) -> None:
        """Return once no run of ``source`` is in flight: the backfill gives way to the strip's own fetches."""
        event = self._idle.get(source)
        if event is not None:
            await event.wait()

    async def run_due(self) -> list[Outcome]:
        """Start what is due and wait for it (tests and ``ticker fetch``)."""
        return list(await asyncio.gather(*self.poke()))

    # --- one run ------------------------------------------------------------------------------------

    async def run(self, run: Run | str) -> Outcome:
        """One planned run, or, given a source name, today's value asked for now whatever the plan says."""
        if isinstance(run, str):
            now = self.clock()
            run = Run(run, "today", astana_date(now), now)
        lock = self._locks[run.source]
        if lock.locked():
            return "busy"
        async with lock:
            self._idle[run.source].clear()
            try:
                outcome = await self._run(run)
            finally:
                self._idle[run.source].set()
        self.metrics.fetches.labels(run.source, outcome).inc()
        log.debug("%s: %s run ended: %s", run.source, run.purpose, outcome, extra={"source": run.source})
        for later in self.policy.later(run.source):  # hand over at once where an item is left uncovered
            follow = self.due(later)
            if follow is not None and not self._locks[later].locked():
                await self.run(follow)
                break
        return outcome

    async def _run(self, run: Run) -> Outcome:
        source = run.source
        ttl = self.settings.source_config(source).timeout * self.retry.attempts + 30
        if not await self.store.claim(run.key, ttl, self.owner):
            return "claimed"  # another replica makes this planned request
        self._claimed.add(run.key)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            records = await self._fetch_with_retries(source, run.day)
            accepted = self.keeper.validate(source, records)
        except ProviderError as exc:
            self._claimed.discard(run.key)
            await self.outcomes.failed(source, self.clock(), exc)
            return "failed"
        finally:
            self.metrics.duration.labels(source).observe(loop.time() - started)
        self._claimed.discard(run.key)  # a cancelled run keeps its claim listed: release_claims hands it on
        now = self.clock()
        await self.keeper.keep(source, accepted, now)
        current = [r for r in accepted if self.policy.is_current(source, r, now)]
        if run.purpose == "next":
            if any(isinstance(r, Rate) and r.valid_on == run.day for r in accepted):
                await self.outcomes.succeeded(source, now, accepted, tomorrow=True, missing=None)
                return "ok"
            await self.outcomes.not_yet(source, now, confirmed_today=bool(current))
            return "not_yet"
        if not current:  # an answer with nothing current is a failure: the next source is asked at once
            why = self.policy.why_not_current(source, accepted, now)
            await self.outcomes.failed(source, now, FormatError(why))
            return "failed"
        await self.outcomes.succeeded(source, now, accepted, missing=self.keeper.lacking(source, accepted, now))
        return "ok"

    async def _fetch_with_retries(self, source: str, day: date) -> Sequence[Record]:
        timeout = self.settings.source_config(source).timeout
        return await fetch_with_retries(self.providers[source], self.session, day, timeout, self.retry, self.sleep)

    # --- shutdown -----------------------------------------------------------------------------------

    async def close(self, timeout: float = 5.0) -> None:
        """Cancel runs in flight, wait for them (bounded), and hand unfinished claims on."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        for key in list(self._claimed):
            with contextlib.suppress(Exception):
                await self.store.release(key, self.owner)
        self._claimed.clear()
