"""The freshness policy, in one place: per item, which reading is current and until when, which source is
responsible for it now, which source to ask next and when, and what an answer keeps. The planner, the
refresher, the strip, /readyz and the cross-check ask a ``Policy``; none of them re-derives it.

What "current" means (the README's section "Time"):

- A rate is current on the Astana date it is in force on; a rate dated after today is tomorrow's (``next``),
  current from Astana midnight. Among current rates the first source in the chain wins (NBK is official).
- A reading (a temperature) is current until ``observed_at + cadence + grace``. The cadence is the source's own:
  how often its data can change (Open-Meteo says it in each answer, ``current.interval``, 900 s; MET Norway's
  steps are hourly). The grace is the source's STALE_AFTER (default 2 x INTERVAL), for our polling and the
  source's delay. How often we ask never makes a fresh answer old.
- Per item the newest reading wins, whichever source brought it; on a tie a current one, then chain order.
- A fallback is asked for an item only while the sources before it in the chain hold no current value for it.

When each source is asked (publication drives the schedule): today's value at once when it is needed and has
not been asked since the need arose (Astana midnight for rates; the instant a reading went stale; an earlier
source failing or lacking an item), otherwise every INTERVAL at most; tomorrow's rates from shortly after the
source publishes (NBK about 15:30-16:00 Astana, CBR about 15:30 Moscow), every 5 minutes for half an hour, then
less and less often; a failing source after its gap (30 s doubling, at most 10 minutes and never more than its
INTERVAL, or what its Retry-After said when longer). Each planned run has a key naming the source, purpose, date
and instant: replicas claim that key, so one process makes each planned request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from providers import REGISTRY
from providers.base import Kind, Rate, Record
from ticker.clock import astana_at, astana_date, midnight
from ticker.settings import Settings
from ticker.state import Entry, Holdings, item_of, key_of, of_item

Purpose = Literal["today", "next"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CONFIRM_AFTER_MIDNIGHT = timedelta(seconds=60)
MAX_GAP = 600.0  # seconds: however long a source has failed, it is asked again within 10 minutes
# Astana wall-clock time from which tomorrow's rates are asked for (NBK: KASE 15:30 + cross rates at 16:00;
# CBR: about 15:30 Moscow = 17:30 Astana). Sources not listed are asked for today only.
PUBLISHES: dict[str, time] = {"nbk": time(15, 45), "cbr": time(17, 45)}
# minutes after the publication time: every 5 for half an hour, every 10 for the next half hour, then further apart
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


@dataclass(frozen=True)
class Pick:
    """What one item shows: the reading (None before any data), whether it is stale, when what it shows last
    changed, when it turns stale, tomorrow's rate, and the instants at which time alone changes the item."""

    entry: Entry | None
    stale: bool
    since: datetime | None
    stale_at: datetime | None
    next: Rate | None
    upcoming: tuple[datetime, ...]


class Policy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.chains: dict[Kind, tuple[str, ...]] = {kind: tuple(chain) for kind, chain in settings.chains.items()}
        self._kind = {source: kind for kind, chain in self.chains.items() for source in chain}
        self._grace = {s: timedelta(seconds=settings.source_config(s).stale_seconds) for s in self._kind}
        self._cadence = {s: float(REGISTRY[s].cadence or 0) for s in self._kind}

    # --- the chains ----------------------------------------------------------------------------------

    def kind_of(self, source: str) -> Kind:
        return self._kind[source]

    def chain_of(self, source: str) -> tuple[str, ...]:
        return self.chains[self._kind[source]]

    def earlier(self, source: str) -> tuple[str, ...]:
        """The sources asked before ``source`` for the same items."""
        chain = self.chain_of(source)
        return chain[: chain.index(source)]

    def later(self, source: str) -> tuple[str, ...]:
        chain = self.chain_of(source)
        return chain[chain.index(source) + 1 :]

    def wanted(self, source: str) -> list[str]:
        """The items ``source`` is asked for: the configured currencies, or city ids."""
        if self._kind[source] == "rates":
            return list(self.settings.currencies)
        return [city.id for city in self.settings.cities]

    # --- is a value current, and until when ----------------------------------------------------------

    def cadence(self, source: str, record: Record) -> timedelta:
        said = None if isinstance(record, Rate) else record.cadence  # what the answer said, where it says it
        return timedelta(seconds=said if said is not None else self._cadence.get(source, 0.0))

    def stale_at(self, source: str, record: Record) -> datetime:
        """The instant a value stops being current, if nothing newer arrives."""
        if isinstance(record, Rate):
            return midnight(record.valid_on + timedelta(days=1))
        return record.observed_at + self.cadence(source, record) + self._grace[source]

    def is_current(self, source: str, record: Record, now: datetime) -> bool:
        if isinstance(record, Rate):
            return record.valid_on == astana_date(now)
        return not record.empty and now < self.stale_at(source, record)

    def was_current(self, entry: Entry) -> bool:
        """Current when it was stored (a restart from Redis with the upstreams down is ready at once)."""
        return self.is_current(entry.source, entry.record, entry.fetched_at)

    def current(self, source: str, holdings: Holdings, now: datetime) -> dict[str, Entry]:
        """The source's current entry per item."""
        return {item_of(e.record): e for e in holdings.held(source).values() if self.is_current(source, e.record, now)}

    def why_not_current(self, source: str, records: Iterable[Record], now: datetime) -> str:
        """For /readyz and a failed run: what the source had instead of a current value."""
        held, today = list(records), astana_date(now)
        rates = [r.valid_on for r in held if isinstance(r, Rate)]
        if rates:
            past = [day for day in rates if day <= today]
            if not past:
                return f"no rate for {today.isoformat()}, only for {max(rates).isoformat()}"
            return f"newest data dated {max(past).isoformat()}, today is {today.isoformat()}"
        readings = [r for r in held if not isinstance(r, Rate)]
        if readings:
            newest = max(readings, key=lambda r: r.observed_at)
            until = self.stale_at(source, newest)
            return f"newest observation {newest.observed_at:%Y-%m-%dT%H:%M}Z, current until {until:%Y-%m-%dT%H:%M}Z"
        return "no data yet"

    # --- which reading an item shows -----------------------------------------------------------------

    def pick(self, kind: Kind, item: str, holdings: Holdings, now: datetime) -> Pick:
        chain = self.chains[kind]
        found = [(s, e) for s in chain for e in of_item(holdings, s, item)]
        instants = [
            (e, when) for s, e in found for when in (self.stale_at(s, e.record), _current_from(e.record)) if when
        ]
        upcoming = tuple(when for _, when in instants if when > now)
        tomorrow = astana_date(now) + timedelta(days=1)
        following = next(
            (e.record for _, e in found if isinstance(e.record, Rate) and e.record.valid_on == tomorrow), None
        )
        shown = [(rank, s, e) for rank, (s, e) in enumerate(found) if _dated_up_to(e.record, now)]
        if not shown:
            return Pick(None, True, None, None, following, upcoming)
        current = {id(e) for _, s, e in shown if self.is_current(s, e.record, now)}
        # ``relevant``: whose passed instants can have changed what the item shows. Rates change only at Astana
        # midnights (the latest passed one is the shown rate's own switch-in), so all of them; a reading shown is the
        # newest, so only a tie (a current one going stale hands over to another)
        if kind == "rates" and current:  # official first: the first source in the chain with today's rate
            _, source, entry = next(t for t in shown if id(t[2]) in current)
            relevant = {id(e) for _, e in found}
        elif kind == "rates":  # none current: the newest, the first in the chain on a tie
            _, source, entry = min(shown, key=lambda t: (-_ordinal(t[2].record), t[0]))
            relevant = {id(e) for _, e in found}
        else:  # the newest reading, whoever brought it; on a tie a current one, then chain order
            _, source, entry = min(shown, key=lambda t: (-_ordinal(t[2].record), id(t[2]) not in current, t[0]))
            relevant = {id(e) for _, _, e in shown if _ordinal(e.record) == _ordinal(entry.record)}
        passed = [when for e, when in instants if when <= now and id(e) in relevant]
        since = min(max([entry.changed_at, *passed]), now)
        return Pick(entry, id(entry) not in current, since, self.stale_at(source, entry.record), following, upcoming)

    # --- what an answer keeps, and how long a failing source waits -----------------------------------

    def keep(self, source: str, records: Iterable[Record], held: Mapping[str, Entry], now: datetime) -> list[Record]:
        """What to store of an answer: nothing dated beyond tomorrow, never an observation older than the one held,
        and a value held already that is no longer current is not stamped as confirmed now."""
        tomorrow = astana_date(now) + timedelta(days=1)
        keep = []
        for record in records:
            have = held.get(key_of(record))
            if isinstance(record, Rate) and record.valid_on > tomorrow:
                continue
            if have is not None and _older(record, have.record):
                continue
            ahead = isinstance(record, Rate) and record.valid_on > astana_date(now)
            if have is not None and have.record == record and not self.is_current(source, record, now) and not ahead:
                continue
            keep.append(record)
        return keep

    def gap(self, source: str, failures: int, retry_after: float | None) -> timedelta:
        """How long a source that failed ``failures`` times in a row waits before it is asked again."""
        interval = self.settings.source_config(source).interval
        backoff = min(self.settings.breaker_cooldown * 2 ** (failures - 1), interval, MAX_GAP)
        return timedelta(seconds=max(backoff, retry_after or 0.0))

    # --- when each source is asked next, and for which date ------------------------------------------

    def plan(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        """The next run of ``source`` (its ``due`` may be in the past: then it is due now), or None."""
        if any(holdings.status_of(name).last_attempt is None for name in self.earlier(source)):
            return None  # an earlier source's first run decides whether we are needed; it hands over at once
        runs = [r for r in (self._today(source, holdings, now), self._next(source, holdings, now)) if r]
        # due now first, today's before tomorrow's; of runs not due yet, today's (only due runs are started)
        return min(runs, key=lambda run: (run.due > now, run.purpose != "today", run.due), default=None)

    def uncovered(self, source: str, holdings: Holdings, now: datetime) -> list[str]:
        """The items no earlier source holds a current value for (what its last answer lacked is not covered,
        however recent the value held)."""
        covered: set[str] = set()
        for name in self.earlier(source):
            covered |= self.current(name, holdings, now).keys() - set(holdings.status_of(name).missing)
        return [item for item in self.wanted(source) if item not in covered]

    def _today(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        state, today = holdings.status_of(source), astana_date(now)
        uncovered = self.uncovered(source, holdings, now)
        rates = self._kind[source] == "rates"
        interval = timedelta(seconds=self.settings.source_config(source).interval)
        floor = state.open_until if state.failures and state.open_until else EPOCH
        mine = self.current(source, holdings, now)
        # a current value confirms an attempt as late as its fetch, though its status has not arrived yet (another
        # replica's entries are announced before its status): every replica then plans the same next run
        last = max([state.last_attempt or EPOCH, *(entry.fetched_at for entry in mine.values())])
        again = floor if floor > EPOCH else last + interval  # failing: when its gap is over
        if not uncovered:  # standing by: only rate fallbacks are asked, at most once per interval (cross-check)
            return Run(source, "today", today, max(floor, last + interval)) if rates else None
        if not any(item in mine for item in uncovered):
            need_since = self._need_since(source, uncovered, holdings, now)
            if last < need_since:  # (a failing source: below, when its gap is over)
                return Run(source, "today", today, max(floor, need_since))
        elif rates and not self.earlier(source) and last < midnight(today):
            held = [mine[item] for item in uncovered if item in mine]
            if all(entry.fetched_at < midnight(today) for entry in held):  # tomorrow's, switched in: confirm
                return Run(source, "today", today, max(floor, midnight(today) + CONFIRM_AFTER_MIDNIGHT))
        return Run(source, "today", today, max(floor, again))

    def _need_since(self, source: str, items: Sequence[str], holdings: Holdings, now: datetime) -> datetime:
        """When the items stopped being covered (the latest such instant): the same in every replica."""
        instants = [midnight(astana_date(now))] if self._kind[source] == "rates" else [EPOCH]
        for name in [*self.earlier(source), source]:
            attempt = holdings.status_of(name).last_attempt
            if name != source and attempt is not None:
                instants.append(attempt)
            for entry in holdings.held(name).values():
                if item_of(entry.record) in items and (flip := self.stale_at(name, entry.record)) <= now:
                    instants.append(flip)
        return min(max(instants), now)

    def _next(self, source: str, holdings: Holdings, now: datetime) -> Run | None:
        publishes, today = PUBLISHES.get(source), astana_date(now)
        if publishes is None or self._kind[source] != "rates":
            return None
        start = astana_at(today, publishes.hour, publishes.minute)
        tomorrow = today + timedelta(days=1)
        have = {
            e.record.currency
            for name in (*self.earlier(source), source)
            for e in holdings.held(name).values()
            if isinstance(e.record, Rate) and e.record.valid_on == tomorrow
        }
        if all(item in have for item in self.wanted(source)):
            return None
        state = holdings.status_of(source)
        asked = state.next_attempt if state.next_attempt and state.next_attempt >= start else None
        polls = (start + timedelta(minutes=minutes) for minutes in POLLS)
        due = next((when for when in polls if asked is None or when > asked), None)
        if due is None:
            return None  # the polls are over for today; past midnight the next day's schedule applies
        floor = state.open_until if state.failures and state.open_until else EPOCH
        return Run(source, "next", tomorrow, max(floor, due))


def _current_from(record: Record) -> datetime | None:
    """The instant a value can first be current: tomorrow's rate at Astana midnight."""
    return midnight(record.valid_on) if isinstance(record, Rate) else None


def _dated_up_to(record: Record, now: datetime) -> bool:
    """Shown only when dated up to now: never tomorrow's rate in today's slot."""
    return record.valid_on <= astana_date(now) if isinstance(record, Rate) else True


def _older(record: Record, held: Record) -> bool:
    """An observation from before the one held (it never replaces it)."""
    return not isinstance(record, Rate) and not isinstance(held, Rate) and record.observed_at < held.observed_at


def _ordinal(record: Record) -> float:
    return record.valid_on.toordinal() if isinstance(record, Rate) else record.observed_at.timestamp()
