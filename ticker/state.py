"""What the stores hold: one Entry per item per source, and one SourceStatus per source.

An entry keeps when its value was last confirmed (``fetched_at``, drives staleness) apart from when the
value last changed (``changed_at``, drives ``updated_at``), so a refresh that brings the same values
changes nothing a reader sees. Merging is newest-``fetched_at``-wins, which makes every write
idempotent: replicas, restarts and a Redis that comes back empty all converge on the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from providers.base import Rate, Record, Temperature

Entries = dict[str, "Entry"]


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    record: Rate | Temperature
    fetched_at: datetime
    changed_at: datetime
    fresh_since: datetime | None = None  # start of the current unbroken run of fresh fetches

    @property
    def shown_since(self) -> datetime:
        """From when this value, fresh, has been what the source says: it changed, or came back."""
        return max(self.changed_at, self.fresh_since or self.changed_at)


class SourceStatus(BaseModel):
    """A source's health, shared across replicas so a fallback knows when it is needed."""

    model_config = ConfigDict(frozen=True)

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # consecutive
    open_until: datetime | None = None  # circuit breaker: skipped until then

    @property
    def healthy(self) -> bool:
        return self.last_success is not None and self.failures == 0


def usable(entry: Entry) -> bool:
    """A value a reader can be shown: a null temperature (the upstream had none) is not."""
    return not (isinstance(entry.record, Temperature) and entry.record.temperature is None)


def record_key(record: Record) -> str:
    return record.currency if isinstance(record, Rate) else record.city


def confirm(
    old: Mapping[str, Entry],
    source: str,
    records: Iterable[Record],
    now: datetime,
    stale_after: timedelta = timedelta.max,
) -> Entries:
    """Entries for freshly fetched records: an unchanged value keeps its ``changed_at``, and keeps its
    ``fresh_since`` unless it had gone stale in between (then it comes back now)."""
    out: Entries = {}
    second = now.replace(microsecond=0)
    for record in records:
        key = record_key(record)
        previous = old.get(key)
        if previous is not None and previous.record == record:
            changed_at = previous.changed_at
            unbroken = now - previous.fetched_at < stale_after
            fresh_since = (previous.fresh_since or previous.changed_at) if unbroken else second
        else:
            changed_at = fresh_since = second
        out[key] = Entry(source=source, record=record, fetched_at=now, changed_at=changed_at, fresh_since=fresh_since)
    return out


def merge(current: Entries, incoming: Mapping[str, Entry]) -> list[str]:
    """Apply ``incoming`` to ``current`` in place, newest ``fetched_at`` wins; returns changed keys."""
    changed = []
    for key, entry in incoming.items():
        have = current.get(key)
        if have is None or entry.fetched_at > have.fetched_at:
            current[key] = entry
            changed.append(key)
    return changed
