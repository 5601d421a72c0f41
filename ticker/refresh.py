"""One run of one source: decide, claim the time slot, fetch with bounded retries, validate, publish.

Error policy (after home-assistant's update coordinator): provider errors are expected and named; they
are logged once when a source starts failing and once when it recovers. A failed run keeps the last
good data, opens the source's circuit breaker for a cool-off and hands over to the next source in the
chain at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import aiohttp

from providers.base import FormatError, Provider, ProviderError, Record, astana_date
from ticker.health import StoreHealth
from ticker.metrics import Metrics
from ticker.settings import Settings
from ticker.snapshot import Snapshot
from ticker.state import Entries, SourceStatus, confirm, record_key, usable
from ticker.store import Store, StoreError
from ticker.validate import Validator

log = logging.getLogger("ticker.fetch")

Outcome = Literal["ok", "failed", "cooling", "standby", "claimed", "busy"]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # full jitter


class Refresher:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[str, Provider],
        snapshot: Snapshot,
        store: Store,
        session: aiohttp.ClientSession,
        metrics: Metrics,
        health: StoreHealth,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.snapshot = snapshot
        self.store = store
        self.session = session
        self.metrics = metrics
        self.health = health
        self.retry = retry or RetryPolicy(attempts=settings.fetch_attempts)
        self.sleep = sleep
        self.owner = uuid.uuid4().hex
        self._locks = {name: asyncio.Lock() for name in providers}
        self._validators = {name: Validator() for name in providers}
        self._claimed: set[tuple[str, int]] = set()  # slots claimed whose fetch has not finished
        self._missing: set[str] = set()  # configured items an answer lacked (warned once)

    # --- the chain ------------------------------------------------------------------------------

    def chain_of(self, source: str) -> Sequence[str]:
        rates = self.settings.rate_sources
        return rates if source in rates else self.settings.weather_sources

    def wanted(self, source: str) -> set[str]:
        if source in self.settings.rate_sources:
            return set(self.settings.currencies)
        return {city.id for city in self.settings.cities}

    def needed(self, source: str, now: datetime) -> bool:
        """A fallback fetches only while a source before it is unhealthy or leaves an item uncovered."""
        chain = self.chain_of(source)
        earlier = chain[: chain.index(source)]
        if not earlier:
            return True
        if any(self._status(name).last_attempt is None for name in earlier):
            return False  # its first run decides; if it fails, it hands over to us at once
        if any(not self._status(name).healthy for name in earlier):
            return True
        for key in self.wanted(source):
            covered = False
            for name in earlier:
                entry = self.snapshot.entries.get(name, {}).get(key)
                stale_after = timedelta(seconds=self.settings.source_config(name).stale_seconds)
                if entry is not None and usable(entry) and now < entry.fetched_at + stale_after:
                    covered = True
                    break
            if not covered:
                return True
        return False

    def _status(self, source: str) -> SourceStatus:
        return self.snapshot.status.get(source) or SourceStatus(source=source)

    # --- one run --------------------------------------------------------------------------------

    async def run(self, source: str) -> Outcome:
        lock = self._locks[source]
        if lock.locked():
            return "busy"  # never two runs of one source at once
        async with lock:
            outcome = await self._run(source)
        self.metrics.fetches.labels(source, outcome).inc()
        log.debug("%s: run ended: %s", source, outcome, extra={"source": source, "outcome": outcome})
        if outcome == "failed":
            chain = self.chain_of(source)
            for fallback in chain[chain.index(source) + 1 :]:
                if await self.run(fallback) in ("ok", "busy", "claimed"):
                    break
        return outcome

    async def _run(self, source: str) -> Outcome:
        now = self.snapshot.clock()
        status = self._status(source)
        if status.open_until is not None and now < status.open_until:
            return "cooling"
        if not self.needed(source, now):
            return "standby"
        config = self.settings.source_config(source)
        slot = int(now.timestamp() // config.interval)
        try:
            if not await self.store.claim(source, slot, config.interval, self.owner):
                return "claimed"  # another replica fetches this slot
            self._claimed.add((source, slot))
        except StoreError:
            pass  # store down: fetch anyway and keep the result in memory until it is back
        started = time.perf_counter()
        try:
            records = await self._fetch_with_retries(source, config.timeout)
            accepted = self._validate(source, records)
        except ProviderError as exc:
            self._claimed.discard((source, slot))
            await self._failed(source, status, now, exc)
            return "failed"
        finally:
            self.metrics.duration.labels(source).observe(time.perf_counter() - started)
        # only a run cancelled above (shutdown) keeps its slot listed, so release_claims() hands it on
        self._claimed.discard((source, slot))
        await self._succeeded(source, status, now, accepted)
        return "ok"

    async def _fetch_with_retries(self, source: str, timeout: float) -> Sequence[Record]:
        provider = self.providers[source]
        deadline = time.monotonic() + timeout * self.retry.attempts
        for attempt in range(self.retry.attempts):
            try:
                async with asyncio.timeout(timeout):
                    return await provider.fetch(self.session, astana_date(self.snapshot.clock()))
            except TimeoutError as exc:
                error: ProviderError = ProviderError(f"no answer within {timeout:g} s")
                error.transient = True
                if attempt + 1 >= self.retry.attempts:
                    raise error from exc
            except ProviderError as exc:
                error = exc
                if not exc.transient or attempt + 1 >= self.retry.attempts:
                    raise
            pause = self.retry.delay(attempt, error.retry_after)
            if time.monotonic() + pause + timeout > deadline:
                raise error  # honour Retry-After by not coming back in this run
            await self.sleep(pause)
        raise AssertionError("unreachable")

    def _validate(self, source: str, records: Sequence[Record]) -> list[Record]:
        """The values fit to show; an answer with none is a failure, so the chain moves on."""
        old: Entries = self.snapshot.entries.get(source, {})
        wanted = self.wanted(source)
        for key in sorted(wanted - {record_key(r) for r in records} - self._missing):
            self._missing.add(key)  # once per process: a typo in the config, or a currency the source lacks
            log.warning("%s: the answer has no %s; a fallback source will be asked for it", source, key)
        verdict = self._validators[source].check(records, wanted, old)
        for problem in verdict.rejected:
            log.warning("%s: dropped an impossible value: %s", source, problem)
        for key in verdict.held:
            log.warning("%s: %s jumped implausibly; held back until the next fetch confirms it", source, key)
        if not verdict.accepted:
            why = verdict.rejected[:1] or [f"held back: {', '.join(verdict.held)}" for _ in verdict.held[:1]]
            raise FormatError("no usable value in the answer" + (f" ({why[0]})" if why else ""))
        return verdict.accepted

    async def _succeeded(self, source: str, status: SourceStatus, now: datetime, accepted: list[Record]) -> None:
        old: Entries = self.snapshot.entries.get(source, {})
        if status.failures or status.last_success is None:
            log.info(
                "%s: fetch ok (%d values)%s",
                source,
                len(accepted),
                f" after {status.failures} failures" if status.failures else "",
                extra={"source": source, "outcome": "ok", "failures": status.failures},
            )
        stale_after = timedelta(seconds=self.settings.source_config(source).stale_seconds)
        entries = confirm(old, source, accepted, now, stale_after)
        self.snapshot.apply(source, entries)
        await self._save(source, entries)
        await self._set_status(SourceStatus(source=source, last_attempt=now, last_success=now))

    async def _failed(self, source: str, status: SourceStatus, now: datetime, exc: ProviderError) -> None:
        if status.failures == 0:
            log.warning(
                "%s: fetch failed, keeping the last good data",
                source,
                extra={"source": source, "outcome": "failed", "error": str(exc)},
            )
        cooldown = max(
            min(self.settings.breaker_cooldown, self.settings.source_config(source).interval),
            exc.retry_after or 0.0,
        )
        await self._set_status(
            status.model_copy(
                update={
                    "last_attempt": now,
                    "last_error": f"{type(exc).__name__}: {exc}"[:300],
                    "failures": status.failures + 1,
                    "open_until": now + timedelta(seconds=cooldown),
                }
            )
        )

    async def _save(self, source: str, entries: Entries) -> None:
        try:
            await self.store.write(source, entries)
        except StoreError as exc:
            if self.health.ok:
                log.warning("store unavailable, keeping %s in memory: %s", source, exc)
            self.health.ok = False  # /readyz and /metrics say so at once; sync writes back on return
            return
        self.health.ok = True

    async def _set_status(self, status: SourceStatus) -> None:
        self.snapshot.apply_status(status)
        try:
            await self.store.write_status(status)
        except StoreError:
            self.health.ok = False

    async def wait_idle(self, timeout: float) -> None:
        """Wait (bounded) until no run is in flight; runs were cancelled by the scheduler's shutdown."""

        async def all_idle() -> None:
            for lock in self._locks.values():
                async with lock:
                    pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_idle(), timeout)

    async def release_claims(self) -> None:
        """On shutdown: let another replica take a slot whose fetch we had not finished."""
        for source, slot in list(self._claimed):
            try:
                await self.store.release(source, slot, self.owner)
            except StoreError:
                break
        self._claimed.clear()
