"""What the store holds: entries, each source's status, and how writes merge (newest confirmation wins).

One ``Entry`` per item per source (per item *and date* for rates: today's and tomorrow's rates are held
side by side), and one ``SourceStatus`` per source. An entry keeps when its value was last confirmed
(``fetched_at``) apart from when it last changed (``changed_at``), so a refresh that brings the same values
changes nothing a reader sees. Merging is newest-``fetched_at``-wins, which makes every write idempotent:
replicas, restarts and a Redis that comes back empty all converge on the same state.

Whether a held value is current, and which one an item shows, is the freshness policy's answer
(``ticker.policy``), never decided from these records alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from providers.base import Rate, Record, Temperature

Entries = dict[str, "Entry"]
KEEP_DAYS = 3  # rates dated further back than this are dropped from the store
_NEVER = datetime.min.replace(tzinfo=UTC)


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    record: Rate | Temperature
    fetched_at: datetime
    changed_at: datetime


class SourceStatus(BaseModel):
    """A source's health, shared across replicas so every process plans the same next fetch."""

    model_config = ConfigDict(frozen=True)

    source: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # consecutive
    open_until: datetime | None = None  # circuit breaker: not asked before then
    next_attempt: datetime | None = None  # the last time tomorrow's rates were asked for
    missing: list[str] = []  # items the last answer lacked (null, absent, rejected): the next source is asked

    @property
    def touched(self) -> datetime:
        """The latest instant anything happened to this source (newest status wins across replicas)."""
        return max((t for t in (self.last_attempt, self.next_attempt) if t is not None), default=_NEVER)

    @property
    def healthy(self) -> bool:
        return self.last_success is not None and self.failures == 0


def item_of(record: Record) -> str:
    """The strip item a record fills: a currency code or a city id."""
    return record.currency if isinstance(record, Rate) else record.city


def rate_key(currency: str, day: date) -> str:
    return f"{currency}@{day.isoformat()}"


def key_of(record: Record) -> str:
    """The store key: rates are kept per date they are in force on, temperatures per city."""
    return rate_key(record.currency, record.valid_on) if isinstance(record, Rate) else record.city


def day_of(key: str) -> date | None:
    _, at, day = key.partition("@")
    return date.fromisoformat(day) if at else None


def confirm(old: Mapping[str, Entry], source: str, records: Iterable[Record], now: datetime) -> Entries:
    """Entries for freshly fetched records: an unchanged value keeps its ``changed_at``."""
    out: Entries = {}
    second = now.replace(microsecond=0)
    for record in records:
        key = key_of(record)
        previous = old.get(key)
        changed_at = previous.changed_at if previous is not None and previous.record == record else second
        out[key] = Entry(source=source, record=record, fetched_at=now, changed_at=changed_at)
    return out


def merge(current_entries: Entries, incoming: Mapping[str, Entry]) -> list[str]:
    """Apply ``incoming`` in place, newest ``fetched_at`` wins; returns the changed keys."""
    changed = []
    for key, entry in incoming.items():
        have = current_entries.get(key)
        if have is None or entry.fetched_at > have.fetched_at:
            current_entries[key] = entry
            changed.append(key)
    return changed


def expired(entries: Mapping[str, Entry], today: date) -> list[str]:
    """Keys of rates dated more than KEEP_DAYS before ``today``: nothing will show them again."""
    oldest = today - timedelta(days=KEEP_DAYS)
    return [key for key in entries if (day := day_of(key)) is not None and day < oldest]


class Holdings(Protocol):
    """What the policy reads: each source's held entries and status (the store; a plain ``Held`` in tests)."""

    def held(self, source: str) -> Mapping[str, Entry]: ...

    def status_of(self, source: str) -> SourceStatus: ...


class Held:
    """Holdings from plain mappings: what a table test (or a one-off decision) hands the policy."""

    def __init__(
        self, entries: Mapping[str, Mapping[str, Entry]] | None = None, status: Mapping[str, SourceStatus] | None = None
    ) -> None:
        self._entries = entries or {}
        self._status = status or {}

    def held(self, source: str) -> Mapping[str, Entry]:
        return self._entries.get(source, {})

    def status_of(self, source: str) -> SourceStatus:
        return self._status.get(source) or SourceStatus(source=source)
