"""How a run ends, in each source's shared status: a success resets the failures, a failure counts one more and
sets the gap before the source is asked again (the policy's ``gap``). Error policy (after home-assistant's
update coordinator): logged once when a source starts failing and once when it recovers, never on every run;
and one line, once per kind, when every source of a chain has failed with no data held at all."""

from __future__ import annotations

import logging
from datetime import datetime

from providers.base import Record
from providers.errors import ProviderError
from ticker.policy import Policy
from ticker.store.store import Store

log = logging.getLogger(__name__)
WORDS = {"rates": "rates", "weather": "weather", "air": "air quality"}  # what a kind is called in a log line


class Outcomes:
    def __init__(self, policy: Policy, store: Store) -> None:
        self.policy = policy
        self.store = store
        self._told_all_failed: set[str] = set()  # kinds whose every source failed with no data: said once

    async def succeeded(
        self, source: str, now: datetime, accepted: list[Record], *, tomorrow: bool = False, missing: list[str] | None
    ) -> None:
        status = self.store.status_of(source)
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
        update["next_attempt" if tomorrow else "last_attempt"] = now
        await self.store.put_status(status.model_copy(update=update))

    async def not_yet(self, source: str, now: datetime, confirmed_today: bool) -> None:
        """Asked for tomorrow's rates, which are not published yet; an answer that confirmed today's rates also
        counts as today's attempt (no safety fetch needed soon)."""
        update: dict[str, object] = {"next_attempt": now}
        if confirmed_today:
            update["last_attempt"] = now
        await self.store.put_status(self.store.status_of(source).model_copy(update=update))

    async def failed(self, source: str, now: datetime, exc: ProviderError) -> None:
        status = self.store.status_of(source)
        failures = status.failures + 1
        extra = {"source": source, "outcome": "failed", "error": str(exc)}
        if status.failures == 0 and self.store.held(source):
            log.warning("%s: fetch failed, keeping the last good data: %s", source, exc, extra=extra)
        elif status.failures == 0:
            log.warning("no data yet from %s: %s", source, exc, extra=extra)
        update = {
            "last_attempt": now,
            "last_error": f"{type(exc).__name__}: {exc}"[:300],
            "failures": failures,
            "open_until": now + self.policy.gap(source, failures, exc.retry_after),
        }
        await self.store.put_status(status.model_copy(update=update))
        self._tell_if_all_failed(source)

    def _tell_if_all_failed(self, source: str) -> None:
        """What a first start without network (or behind a proxy, or with a wrong base URL) looks like, and what
        to check."""
        chain, kind = self.policy.chain_of(source), self.policy.kind_of(source)
        if kind in self._told_all_failed or any(self.store.held(name) for name in chain):
            return
        if not all(self.store.status_of(name).failures for name in chain):
            return
        self._told_all_failed.add(kind)
        log.warning(
            "no %s at all: every %s source failed (%s: each one's reason is above and in /readyz); check this "
            "machine's network and DNS, the proxy (HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured) and the base "
            "URLs (%s); the sources are asked again on their own",
            WORDS[kind],
            WORDS[kind],
            ", ".join(chain),
            ", ".join(f"TICKER_{name.upper()}__BASE_URL" for name in chain),
            extra={"kind": kind},
        )
