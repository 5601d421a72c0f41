"""One run of one source: claim the planned run, fetch with bounded retries, validate, sort by date, store.

The refresher talks to the store alone: it decides from the store's local copy and writes to it; the
snapshot hears of the change from the store. Error policy (after home-assistant's update coordinator):
provider errors are expected and named, logged once when a source starts failing and once when it
recovers. A failed run keeps the last good data, opens the source's breaker (30 s, doubling up to its
interval, or Retry-After) and the next source in the chain is asked at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

import aiohttp

from providers.base import Provider, Rate, Record, Temperature
from providers.errors import FormatError, ProviderError
from ticker.clock import Clock, astana_date
from ticker.fetch.attempts import RetryPolicy as RetryPolicy  # re-exported: callers build runs with it
from ticker.fetch.attempts import fetch_with_retries
from ticker.fetch.plan import Planner, Run
from ticker.fetch.validate import Validator
from ticker.metrics import Metrics
from ticker.settings import Settings
from ticker.state import Entry, SourceStatus, ahead, confirm, current, item_of, key_of, older, why_not_current
from ticker.store import history
from ticker.store.store import Store

log = logging.getLogger("ticker.fetch")

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
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.store = store
        self.session = session
        self.metrics = metrics
        self.clock = clock
        self.planner = Planner(settings)
        self.retry = retry or RetryPolicy(attempts=settings.fetch_attempts)
        self.sleep = sleep
        self.owner = uuid.uuid4().hex
        self._locks = {name: asyncio.Lock() for name in providers}
        self._idle = {name: asyncio.Event() for name in providers}  # set while no run of the source is in flight
        for event in self._idle.values():
            event.set()
        self._validators = {name: Validator() for name in providers}
        self._claimed: set[str] = set()  # claims whose fetch has not finished (released on shutdown)
        self._missing: set[tuple[str, str]] = set()  # (source, item) an answer lacked: warned once
        self._told_all_failed: set[str] = set()  # kinds whose every source failed with no data: said once
        self._tasks: set[asyncio.Task[Outcome]] = set()

    # --- what is due ------------------------------------------------------------------------------

    def due(self, source: str) -> Run | None:
        run = self.planner.plan(source, self.store, self.clock())
        return run if run is not None and run.due <= self.clock() else None

    def poke(self) -> list[asyncio.Task[Outcome]]:
        """Start every run that is due now (the scheduler calls this every second); returns the tasks."""
        started = []
        begun: set[str] = set()
        for source in self.providers:
            chain = self.planner.chain_of(source)
            earlier = chain[: chain.index(source)]
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
        chain = self.planner.chain_of(run.source)
        for later in chain[chain.index(run.source) + 1 :]:  # hand over at once where an item is uncovered
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
        now = self.clock()
        try:
            records = await self._fetch_with_retries(source, run.day)
            accepted = self._validate(source, records)
        except ProviderError as exc:
            self._claimed.discard(run.key)
            await self._failed(source, self.clock(), exc)
            return "failed"
        finally:
            self.metrics.duration.labels(source).observe(loop.time() - started)
        self._claimed.discard(run.key)  # a cancelled run keeps its claim listed: release_claims hands it on
        now = self.clock()
        await self._keep(source, accepted, now)
        if run.purpose == "next":
            if any(isinstance(r, Rate) and r.valid_on == run.day for r in accepted):
                await self._succeeded(source, now, accepted, next_attempt=True)
                return "ok"
            update: dict[str, object] = {"next_attempt": now}
            if any(current(r, now, self.planner.stale_after[source]) for r in accepted):
                update["last_attempt"] = now  # the answer confirmed today's rates: no safety fetch needed soon
            await self._set_status(self._status(source).model_copy(update=update))
            return "not_yet"
        stale_after = self.planner.stale_after[source]
        if not any(current(record, now, stale_after) for record in accepted):
            await self._failed(source, now, FormatError(why_not_current(accepted, now, stale_after)))
            return "failed"
        await self._succeeded(source, now, accepted, missing=self._lacking(source, accepted))
        return "ok"

    async def _fetch_with_retries(self, source: str, day: date) -> Sequence[Record]:
        timeout = self.settings.source_config(source).timeout
        return await fetch_with_retries(self.providers[source], self.session, day, timeout, self.retry, self.sleep)

    def _validate(self, source: str, records: Sequence[Record]) -> list[Record]:
        """The values fit to keep: no nulls, nothing impossible, implausible jumps held back once."""
        wanted = set(self.planner.wanted(source))
        usable = [r for r in records if not (isinstance(r, Temperature) and r.temperature is None)]
        for key in sorted(wanted - {item_of(r) for r in usable}):
            if (source, key) not in self._missing:  # once per process: a typo, or a city the model lacks
                self._missing.add((source, key))
                log.warning("%s: the answer has no value for %s; the next source is asked for it", source, key)
        verdict = self._validators[source].check(usable, wanted, self._newest(source))
        for problem in verdict.rejected:
            log.warning("%s: dropped an impossible value: %s", source, problem)
        for key in verdict.held:
            log.warning("%s: %s jumped implausibly; held back until the next fetch confirms it", source, key)
        if not verdict.accepted:
            why = verdict.rejected[:1] or [f"held back: {', '.join(verdict.held)}" for _ in verdict.held[:1]]
            raise FormatError("no usable value in the answer" + (f" ({why[0]})" if why else ""))
        return verdict.accepted

    def _newest(self, source: str) -> dict[str, Entry]:
        """The newest value held per item (by the date or instant it is for)."""
        newest: dict[str, Entry] = {}
        for entry in self.store.held(source).values():
            have = newest.get(item_of(entry.record))
            if have is None or _when(entry.record) > _when(have.record):
                newest[item_of(entry.record)] = entry
        return newest

    async def _keep(self, source: str, accepted: list[Record], now: datetime) -> None:
        """Store what the answer brought, where it tells something: an older observation never replaces a
        newer one, nothing dated beyond tomorrow is kept, and a value we hold already that is no longer
        current is not stamped as confirmed now (it was current when it was stored, and stays so)."""
        old = self.store.held(source)
        stale_after = self.planner.stale_after[source]
        tomorrow = astana_date(now) + timedelta(days=1)
        keep = []
        for r in accepted:
            have = old.get(key_of(r))
            if isinstance(r, Rate) and r.valid_on > tomorrow:
                continue
            if have is not None and older(r, have.record):
                continue
            if have is not None and have.record == r and not current(r, now, stale_after) and not ahead(r, now):
                continue
            keep.append(r)
        if keep:
            await self.store.put(source, confirm(old, source, keep, now), astana_date(now))
        if source == history.SOURCE and self.settings.history_on:  # the strip's official rates, into history
            rates = [r for r in accepted if isinstance(r, Rate)]
            await self.store.put_history(
                history.days_of(rates, self.settings.currencies, astana_date(now)), astana_date(now)
            )

    def _lacking(self, source: str, accepted: list[Record]) -> list[str]:
        got = {item_of(r) for r in accepted if not isinstance(r, Rate) or r.valid_on <= astana_date(self.clock())}
        return [item for item in self.planner.wanted(source) if item not in got]

    def _status(self, source: str) -> SourceStatus:
        return self.store.status_of(source)

    async def _succeeded(
        self,
        source: str,
        now: datetime,
        accepted: list[Record],
        *,
        next_attempt: bool = False,
        missing: list[str] | None = None,
    ) -> None:
        status = self._status(source)
        if status.failures or status.last_success is None:
            log.info(
                "%s: fetch ok (%d values)%s",
                source,
                len(accepted),
                f" after {status.failures} failures" if status.failures else "",
                extra={"source": source, "outcome": "ok", "failures": status.failures},
            )
        update: dict[str, object] = {"last_success": now, "failures": 0, "last_error": None, "open_until": None}
        if missing is not None:
            update["missing"] = missing
        update["next_attempt" if next_attempt else "last_attempt"] = now
        await self._set_status(status.model_copy(update=update))

    async def _failed(self, source: str, now: datetime, exc: ProviderError) -> None:
        status = self._status(source)
        failures = status.failures + 1
        extra = {"source": source, "outcome": "failed", "error": str(exc)}
        if status.failures == 0 and self.store.held(source):
            log.warning("%s: fetch failed, keeping the last good data: %s", source, exc, extra=extra)
        elif status.failures == 0:
            log.warning("no data yet from %s: %s", source, exc, extra=extra)
        interval = self.settings.source_config(source).interval
        cooldown = max(min(self.settings.breaker_cooldown * 2 ** (failures - 1), interval), exc.retry_after or 0.0)
        await self._set_status(
            status.model_copy(
                update={
                    "last_attempt": now,
                    "last_error": f"{type(exc).__name__}: {exc}"[:300],
                    "failures": failures,
                    "open_until": now + timedelta(seconds=cooldown),
                }
            )
        )
        self._tell_if_all_failed(source)

    def _tell_if_all_failed(self, source: str) -> None:
        """One line, once per kind, when every source of a chain has failed and none holds any data: what a first
        start without network (or behind a proxy, or with a wrong base URL) looks like, and what to check."""
        chain = self.planner.chain_of(source)
        kind = "rates" if self.planner.is_rates(source) else "weather"
        if kind in self._told_all_failed or any(self.store.held(name) for name in chain):
            return
        if not all(self.store.status_of(name).failures for name in chain):
            return
        self._told_all_failed.add(kind)
        log.warning(
            "no %s at all: every %s source failed (%s: each one's reason is above and in /readyz); check this "
            "machine's network and DNS, the proxy (HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured) and the base "
            "URLs (%s); the sources are asked again on their own",
            kind,
            kind,
            ", ".join(chain),
            ", ".join(f"TICKER_{name.upper()}__BASE_URL" for name in chain),
            extra={"kind": kind},
        )

    async def _set_status(self, status: SourceStatus) -> None:
        await self.store.put_status(status)

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


def _when(record: Record) -> datetime | date:
    return record.valid_on if isinstance(record, Rate) else record.observed_at
