"""The history backfill: NBK's official rates for the last DAYS days, one request per date, newest first, paced.

Politeness and priority:

- at most RATE requests per second from this process (a one-token bucket on the injected clock; the pause is
  injectable, so tests record it instead of sleeping), and, with Redis, from the whole pool: each request first
  takes a time slot (``SharedPace``, below), so N replicas together still ask at most RATE per second;
- its own ClientSession (a connector of its own), so it never queues behind, or in front of, the strip's fetches;
  and before every request it waits while a scheduled NBK run is in flight;
- one process per date across replicas: a claim ``history:<date>`` in the store (SET NX PX in Redis), never a
  key the strip's runs use; once answered it is kept until it lapses, so a replica that has not heard of the
  date yet skips it; a failed date's claim is released for a later pass.

Resumable: the dates asked are those the store's history lacks (ticker/store/history.py plans them), so a restart asks
nothing it has. A failed date is not stored and is asked again by a later pass; a pass ends early after a few
failures in a row, or when NBK says to come back later. What NBK answers is stored under the date its document
names, never under another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import aiohttp

from providers.errors import ProviderError
from providers.nbk import Nbk
from ticker.clock import Clock, astana_date
from ticker.fetch.refresh import Refresher
from ticker.metrics import Metrics
from ticker.settings import Settings
from ticker.state import item_of
from ticker.store import history
from ticker.store.store import Store

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
CLAIM_TTL = 600.0  # seconds a date stays claimed after it was asked: longer than an announcement takes to arrive
FAILURES_IN_A_ROW = 3  # then the pass ends: NBK is down, the next pass tries again
RETRY_AFTER_FAILURE = timedelta(hours=1)  # a pass that left failed dates is followed by another this soon
PACE_SKEW = 5.0  # seconds of clock spread between replicas across which the shared pace still holds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


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


class SharedPace:
    """At most one request start per time slot across every process sharing the store's Redis.

    Slots are instants on each process's own (injected) clock: slot ``n`` is the n-th slot length (1/rate seconds,
    rounded up to a whole microsecond, so never shorter) since the epoch, i.e. floor(epoch seconds x rate). Before
    a request the process claims ``history:pace:<n>`` in the store (SET NX PX in Redis); if another process holds
    it, it waits (the injected sleep) for the next slot and tries again. The claim is never released: it lapses
    after PACE_SKEW plus two slot lengths. The strip's own NBK run is waited for before each claim, not after: the
    request then starts one claim round trip after its slot was read from the clock (well under a millisecond
    on a LAN), which counts like skew below. (Re-checking the slot after the claim would never end where a round
    trip outlasts a slot, as at 1000/s, or while Redis times out and the store falls back to local claims.)

    Clock skew: each slot number is used once across the pool, but a replica whose clock runs δ ahead starts its
    slot δ early in true time. With a spread of δ between the clocks (plus a round trip), any W seconds hold at most
    floor((W + δ) x rate) + 1 starts from the whole pool: over time never more than RATE per second; the excess
    is a burst of one start (two starts less than a slot length apart around a boundary, as happens even without
    skew when two processes take adjacent slots) plus δ x rate, i.e. nothing for NTP-synced hosts (milliseconds
    against a default slot of 500 ms). Acceptable: the limit is there to be polite to NBK, not to meter a
    millisecond. A replica more than PACE_SKEW off no longer meets the others' claims (they lapsed), and the pool
    falls back towards the per-process limit (N x RATE at worst), never worse than without this.

    Why not a stricter scheme: a Redis-side count per slot (INCR + PEXPIRE in Lua, the slot taken from Redis's
    TIME) would remove the skew term, and one key SET NX PX 1/rate (a gap timed by Redis's expiry) the boundary
    burst as well, but both time the pace on Redis's clock: the waits would follow a clock the process cannot
    inject (the tests could no longer move time by hand), and the first needs a new script in the store. For
    milliseconds of skew against a 500 ms slot that buys nothing NBK would notice. Without Redis (one process) this is
    not used: the local Pacer alone, exactly as before; with Redis unreachable the store's in-process claims
    stand in, so each process keeps its own RATE, as before.
    """

    def __init__(self, rate: float, store: Store, owner: str, clock: Clock, sleep: Sleep) -> None:
        self.slot_us = math.ceil(1_000_000 / rate)
        self.ttl = PACE_SKEW + 2 * self.slot_us / 1_000_000
        self.store = store
        self.owner = owner
        self.clock = clock
        self.sleep = sleep

    def slot(self, now: datetime) -> int:
        return ((now - EPOCH) // MICROSECOND) // self.slot_us

    async def take(self, idle: Callable[[], Awaitable[None]]) -> None:
        """Return once this process holds the slot the clock is in, ``idle`` (the strip's run) awaited first."""
        while True:
            await idle()
            now = self.clock()
            slot = self.slot(now)
            if await self.store.claim(f"history:pace:{slot}", self.ttl, self.owner):
                return
            await self.sleep((((slot + 1) * self.slot_us) - (now - EPOCH) // MICROSECOND) / 1_000_000)


@dataclass
class Pass:
    """What one pass did, for logs and tests."""

    asked: list[date] = field(default_factory=list)
    stored: int = 0  # currency-days written
    failed: list[date] = field(default_factory=list)
    absent: list[date] = field(default_factory=list)  # NBK answered another date's document
    skipped: int = 0  # claimed by another process
    retry_after: float | None = None  # seconds NBK asked us to stay away (Retry-After), when it did


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
        self.shared_pace = (
            SharedPace(settings.history.rate, store, self.owner, clock, sleep) if store.kind != "memory" else None
        )
        self._answered: set[date] = set()  # dates NBK answered in this process: what they lacked, they lack

    def wanted(self) -> list[date]:
        today = astana_date(self.clock())
        todo = history.wanted(self.store.history, self._currencies(), today, self.settings.history.days)
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

    def _currencies(self) -> list[str]:
        seen = (item_of(entry.record) for entry in self.store.held(history.SOURCE).values())
        return history.published(self.store.history, self.settings.currencies, seen)

    def _lacks(self, day: date) -> bool:
        return any(day not in self.store.history.get(code, {}) for code in self._currencies())

    async def _ask(self, day: date, done: Pass) -> tuple[str, bool]:
        """One request: the outcome, and whether NBK asked us to come back later (Retry-After)."""
        await self.refresher.idle(history.SOURCE)  # the strip's own fetch first
        await self.pacer.wait()
        if self.shared_pace is not None:  # and across the pool
            await self.shared_pace.take(lambda: self.refresher.idle(history.SOURCE))
        else:
            await self.refresher.idle(history.SOURCE)
        done.asked.append(day)
        try:
            rates = await self.provider.fetch_dated(self.session, day)
        except ProviderError as exc:
            done.failed.append(day)
            log.debug("history: %s failed: %s", day.isoformat(), exc)
            if exc.retry_after is not None:
                done.retry_after = exc.retry_after
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
            if done.retry_after is not None:  # NBK's word beats our schedule, however long it is
                due = max(due, now + timedelta(seconds=done.retry_after))
            await self.sleep(max(0.0, (due - now).total_seconds()))


def progress(settings: Settings, store: Store, now: datetime) -> dict[str, int]:
    """Per configured currency, the dates of the backfill's window held."""
    return history.stored(store.history, settings.currencies, astana_date(now), settings.history.days)
