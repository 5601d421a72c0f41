"""What an answer leaves in the store: the values fit to keep (no nulls, nothing impossible, implausible jumps
held back once), stored where they tell something new (the policy's ``keep``), and NBK's official rates recorded
into history. Each lacking item and each dropped value is said once per process, not on every run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from providers.base import Rate, Record
from providers.errors import FormatError
from ticker.clock import astana_date
from ticker.fetch.validate import Validator
from ticker.policy import Policy
from ticker.settings import Settings
from ticker.state import Entry, confirm, item_of
from ticker.store import history
from ticker.store.store import Store

log = logging.getLogger(__name__)


class Keeper:
    def __init__(self, settings: Settings, policy: Policy, store: Store) -> None:
        self.settings = settings
        self.policy = policy
        self.store = store
        self._validators: dict[str, Validator] = {}
        self._missing: set[tuple[str, str]] = set()  # (source, item) an answer lacked: warned once

    def validate(self, source: str, records: Sequence[Record]) -> list[Record]:
        """The values fit to keep; FormatError when none is."""
        wanted = set(self.policy.wanted(source))
        usable = [r for r in records if isinstance(r, Rate) or not r.empty]  # a null never replaces a value
        for key in sorted(wanted - {item_of(r) for r in usable}):
            if (source, key) not in self._missing:  # once per process: a typo, or a city the model lacks
                self._missing.add((source, key))
                then = "the next source is asked for it" if self.policy.later(source) else "no source is left to ask"
                log.warning("%s: the answer has no value for %s; %s", source, key, then)
        validator = self._validators.setdefault(source, Validator())
        verdict = validator.check(usable, wanted, self._newest(source))
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

    async def keep(self, source: str, accepted: list[Record], now: datetime) -> None:
        held = self.store.held(source)
        keep = self.policy.keep(source, accepted, held, now)
        if keep:
            await self.store.put(source, confirm(held, source, keep, now), astana_date(now))
        if source == history.SOURCE and self.settings.history_on:  # the strip's official rates, into history
            rates = [r for r in accepted if isinstance(r, Rate)]
            await self.store.put_history(
                history.days_of(rates, self.settings.currencies, astana_date(now)), astana_date(now)
            )

    def lacking(self, source: str, accepted: list[Record], now: datetime) -> list[str]:
        """The items the answer brought no value for (today's, for rates): the next source is asked for them."""
        got = {item_of(r) for r in accepted if not isinstance(r, Rate) or r.valid_on <= astana_date(now)}
        return [item for item in self.policy.wanted(source) if item not in got]


def _when(record: Record) -> datetime | date:
    return record.valid_on if isinstance(record, Rate) else record.observed_at
