"""The history backfill: NBK's official rates for the last DAYS days, one request per date, newest first, paced.

Politeness and priority:

- at most RATE requests per second from this process (a one-token bucket on the injected clock; the pause is
  injectable, so tests record it instead of sleeping);
- its own ClientSession (a connector of its own), so it never queues behind, or in front of, the strip's fetches;
  and before every request it waits while a scheduled NBK run is in flight;
- one process per date across replicas: a claim ``history:<date>`` in the store (SET NX PX in Redis), never a
  key the strip's runs use; once answered it is kept until it lapses, so a replica that has not heard of the
  date yet skips it; a failed date's claim is released for a later pass.

Resumable: the dates asked are those the store's history lacks (ticker/history.py plans them), so a restart asks
nothing it has. A failed date is not stored and is asked again by a later pass; a pass ends early after a few
failures in a row, or when NBK says to come back later. What NBK answers is stored under the date its document
names, never under another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import aiohttp

from providers.base import ProviderError
from providers.nbk import Nbk
from ticker import history
from ticker.clock import Clock, astana_date
from ticker.metrics import Metrics
from ticker.refresh import Refresher
from ticker.settings import Settings
from ticker.store import Store

log = logging.getLogger("ticker.history")
Sleep = Callable[[float], Awaitable[None]]
CLAIM_TTL = 600.0  # seconds a date stays claimed after it was asked: longer than an announcement takes to arrive
FAILURES_IN_A_ROW = 3  # then the pass ends: NBK is down, the next pass tries again
RETRY_AFTER_FAILURE = timedelta(hours=1)  # a pass that left failed dates is followed by another this soon


class Pacer:
    """At most ``rate`` starts per second: each start waits until 1/rate seconds after the previous one."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        self.gap = timedelta(seconds=1 / rate)
        self.clock = clock
        self.sleep = sleep
        self._next: datetime | None = None

    async def wait(self) -> None:
        now = self.clock()
        if self._next is not None and self._next > now:
            await self.sleep((self._next - now).total_seconds())
            now = max(self.clock(), self._next)
        self._next = now + self.gap


@dataclass
class Pass:
    """What one pass did, for logs and tests."""

    asked: list[date] = field(default_factory=list)
    stored: int = 0  # currency-days written
    failed: list[date] = field(default_factory=list)
    absent: list[date] = field(default_factory=list)  # NBK answered another date's document
    skipped: int = 0  # claimed by another process


class Backfill:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        refresher: Refresher,
        session: aiohttp.ClientSession,
        metrics: Metrics,
        clock: Clock,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        provider = refresher.providers.get(history.SOURCE)
        if not isinstance(provider, Nbk):
            raise TypeError("the history backfill needs the nbk provider in the rate chain")
        self.settings = settings
        self.store = store
        self.refresher = refresher
        self.session = session
        self.metrics = metrics
        self.clock = clock
        self.sleep = sleep
        self.provider = provider
        self.pacer = Pacer(settings.history.rate, clock, sleep)
        self.owner = uuid.uuid4().hex
        self._answered: set[date] = set()  # dates NBK answered in this process: what they lacked, they lack

    def wanted(self) -> list[date]:
        today = astana_date(self.clock())
        todo = history.wanted(self.store.history, self.settings.currencies, today, self.settings.history.days)
        return [day for day in todo if day not in self._answered]

    async def run_pass(self) -> Pass:
        """Ask NBK for every date still wanted, newest first, paced; returns what happened."""
        done = Pass()
        in_a_row = 0
        for day in self.wanted():
            if day in self._answered or not self._lacks(day):
                continue  # filled meanwhile (another replica's announcement) or answered as another date's
            key = f"history:{day.isoformat()}"
            if not await self.store.claim(key, CLAIM_TTL, self.owner):
                done.skipped += 1
                continue
            try:
                outcome, come_back_later = await self._ask(day, done)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):  # shutting down mid-request: another process may take it
                    await self.store.release(key, self.owner)
                raise
            self.metrics.history_requests.labels(outcome).inc()
            if outcome == "failed":  # free for a later pass, here or elsewhere; an answered date stays claimed
                await self.store.release(key, self.owner)
            in_a_row = in_a_row + 1 if outcome == "failed" else 0
            if in_a_row >= FAILURES_IN_A_ROW or come_back_later:
                why = "asked us to come back later" if come_back_later else f"failed {in_a_row} times in a row"
                log.warning("history: NBK %s; the remaining dates wait for the next pass", why)
                break
        if done.asked:
            log.info(
                "history: asked NBK for %d dates, stored %d values, %d failed, %d answered for another date",
                len(done.asked),
                done.stored,
                len(done.failed),
                len(done.absent),
            )
        return done

    def _lacks(self, day: date) -> bool:
        return any(day not in self.store.history.get(code, {}) for code in self.settings.currencies)

    async def _ask(self, day: date, done: Pass) -> tuple[str, bool]:
        """One request: the outcome, and whether NBK asked us to come back later (Retry-After)."""
        await self.refresher.idle(history.SOURCE)  # the strip's own fetch first
        await self.pacer.wait()
        await self.refresher.idle(history.SOURCE)
        done.asked.append(day)
        try:
            rates = await self.provider.fetch_dated(self.session, day)
        except ProviderError as exc:
            done.failed.append(day)
            log.debug("history: %s failed: %s", day.isoformat(), exc)
            return "failed", exc.retry_after is not None
        today = astana_date(self.clock())
        days = history.days_of(rates, self.settings.currencies, today)
        done.stored += await self.store.put_history(days, today)
        self._answered.add(day)
        if not any(day in values for values in days.values()):
            done.absent.append(day)
            return "absent", False
        return "ok", False

    async def loop(self) -> None:
        """A pass at start, then daily at history.DAILY_AT Astana (sooner after failures); runs until cancelled."""
        while True:
            done = await self.run_pass()
            now = self.clock()
            due = history.next_pass(now)
            if done.failed:
                due = min(due, now + RETRY_AFTER_FAILURE)
            await self.sleep(max(0.0, (due - now).total_seconds()))


def progress(settings: Settings, store: Store, now: datetime) -> dict[str, int]:
    """Per configured currency, the dates of the backfill's window held."""
    return history.stored(store.history, settings.currencies, astana_date(now), settings.history.days)
