"""When each source is asked next, and for which date: pure, so every replica plans the same runs.

Publication drives the schedule (the README's section "Time"):

- a source is asked for today's value at once when it is needed and has not been asked since the need
  arose (Astana midnight for rates; the instant a temperature went stale; an earlier source in the chain
  failing or lacking an item), and otherwise every INTERVAL at most (the safety gap);
- a rate source is asked for tomorrow's rates from shortly after it publishes (NBK about 15:30-16:00
  Astana, CBR about 15:30 Moscow), every 5 minutes for half an hour, then less and less often;
- tomorrow's rates held before midnight become today's at midnight without a fetch; the primary confirms
  them once just after midnight;
- a failing source waits for its breaker (30 s, doubling up to INTERVAL, or what Retry-After said).

Each planned run has a key naming the source, purpose, date and instant: replicas claim that key, so one
process makes each planned request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from providers.base import Rate
from ticker.clock import astana_at, astana_date, midnight
from ticker.settings import Settings
from ticker.state import Entry, Holdings, SourceStatus, current, item_of, stale_at

Purpose = Literal["today", "next"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CONFIRM_AFTER_MIDNIGHT = timedelta(seconds=60)
# Astana wall-clock time from which tomorrow's rates are asked for (NBK: KASE 15:30 + cross rates at 16:00;
# CBR: about 15:30 Moscow = 17:30 Astana). Sources not listed are asked for today only.
PUBLISHES: dict[str, time] = {"nbk": time(15, 45), "cbr": time(17, 45)}
# minutes after the publication time: every 5 for half an hour, every 10 for the next half hour (tomorrow's
# rate known within 10 minutes of a publication up to 16:45), then further and further apart
POLLS = (0, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 105, 165, 285, 525)


@dataclass(frozen=True)
class Run:
    source: str
    purpose: Purpose
    day: date  # the Astana date asked for
    due: datetime

    @property
    def key(self) -> str:
        return f"{self.source}:{self.purpose}:{self.day.isoformat()}:{int(self.due.timestamp())}"


class Planner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stale_after = {
            name: timedelta(seconds=settings.source_config(name).stale_seconds) for name in settings.source_names
        }

    def chain_of(self, source: str) -> Sequence[str]:
        rates = self.settings.rate_sources
        return rates if source in rates else self.settings.weather_sources

    def is_rates(self, source: str) -> bool:
        return source in self.settings.rate_sources

    def wanted(self, source: str) -> list[str]:
        return list(self.settings.currencies) if self.is_rates(source) else [c.id for c in self.settings.cities]

    def holds(self, source: str, holdings: Holdings, now: datetime) -> dict[str, Entry]:
        """The source's current entry per item."""
        out: dict[str, Entry] = {}
        for entry in holdings.held(source).values():
            if current(entry.record, now, self.stale_after[source]):
                out[item_of(entry.record)] = entry
        return out

    def holds_next(self, source: str, holdings: Holdings, now: datetime) -> set[str]:
        tomorrow = astana_date(now) + timedelta(days=1)
        return {
            e.record.currency
            for e in holdings.held(source).values()
            if isinstance(e.record, Rate) and e.record.valid_on == tomorrow
        }

    def plan(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        """The next run of ``source`` (its ``due`` may be in the past: then it is due now), or None."""
        runs = [r for r in (self._today(source, holdings, now), self._next(source, holdings, now)) if r]
        # today's value first whenever it is due; otherwise whichever comes first
        return min(runs, key=lambda run: (run.due > now, run.purpose != "today", run.due), default=None)

    def _floor(self, state: SourceStatus) -> datetime:
        return state.open_until if state.failures and state.open_until else EPOCH

    def _today(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        chain = self.chain_of(source)
        earlier = chain[: chain.index(source)]
        state = holdings.status_of(source)
        if any(holdings.status_of(name).last_attempt is None for name in earlier):
            return None  # an earlier source's first run decides whether we are needed; it hands over at once
        covered: set[str] = set()
        for name in earlier:  # what its last answer lacked is not covered, however recent the value held
            lacked = holdings.status_of(name).missing
            covered |= self.holds(name, holdings, now).keys() - set(lacked)
        uncovered = [item for item in self.wanted(source) if item not in covered]
        interval = timedelta(seconds=self.settings.source_config(source).interval)
        today = astana_date(now)
        floor = self._floor(state)
        last = state.last_attempt or EPOCH
        again = floor if state.failures and state.open_until else last + interval  # failing: when the breaker opens
        if not uncovered:  # standing by: only rate fallbacks are asked, at most once per interval (cross-check)
            if not self.is_rates(source):
                return None
            return Run(source, "today", today, max(floor, last + interval))
        mine = self.holds(source, holdings, now)
        if not any(item in mine for item in uncovered):
            need_since = self._need_since(source, earlier, uncovered, holdings, now)
            if last < need_since or state.failures:  # a failing source is asked again when its breaker allows
                return Run(source, "today", today, max(floor, need_since))
        elif self.is_rates(source) and not earlier and last < midnight(today):
            held = [mine[item] for item in uncovered if item in mine]
            if all(entry.fetched_at < midnight(today) for entry in held):  # tomorrow's, switched in: confirm
                return Run(source, "today", today, max(floor, midnight(today) + CONFIRM_AFTER_MIDNIGHT))
        return Run(source, "today", today, max(floor, again))

    def _need_since(
        self,
        source: str,
        earlier: Iterable[str],
        items: Sequence[str],
        holdings: Holdings,
        now: datetime,
    ) -> datetime:
        """When the items stopped being covered: a deterministic instant, the same in every replica."""
        instants = [midnight(astana_date(now))] if self.is_rates(source) else [EPOCH]
        for name in [*earlier, source]:
            attempt = holdings.status_of(name).last_attempt
            if name != source and attempt is not None:
                instants.append(attempt)
            for entry in holdings.held(name).values():
                if item_of(entry.record) in items:
                    flip = stale_at(entry.record, self.stale_after[name])
                    if flip <= now:
                        instants.append(flip)
        return min(max(instants), now)

    def _next(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        publishes = PUBLISHES.get(source)
        if publishes is None or not self.is_rates(source):
            return None
        today = astana_date(now)
        start = astana_at(today, publishes.hour, publishes.minute)
        if now < start:
            return None
        chain = self.chain_of(source)
        if any(holdings.status_of(name).last_attempt is None for name in chain[: chain.index(source)]):
            return None  # as for today's value: an earlier source's first run decides
        have: set[str] | None = None
        for name in chain[: chain.index(source) + 1]:
            held = self.holds_next(name, holdings, now)
            have = held if have is None else have | held
        if have is not None and all(item in have for item in self.wanted(source)):
            return None
        state = holdings.status_of(source)
        asked = state.next_attempt if state.next_attempt and state.next_attempt >= start else None
        for minutes in POLLS:
            due = start + timedelta(minutes=minutes)
            if asked is None or due > asked:
                break
        else:
            return None
        if due >= midnight(today + timedelta(days=1)):
            return None  # past midnight today's own run takes over
        return Run(source, "next", today + timedelta(days=1), max(self._floor(state), due))
