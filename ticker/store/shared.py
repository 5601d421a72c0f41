"""What a shared backend is to the store: the ``Shared`` protocol (Redis, or the null backend), the error it
raises when it cannot be reached, and the control announcements of its subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Protocol

from ticker.state import Entries, Entry, SourceStatus
from ticker.store.history import Day

RESYNC = "*"  # an announcement that means "reload everything" (first connect, reconnect)
LOST = "!"  # "!<why>": the subscription is down (once per loss); announcements may be missed until RESYNC


class StoreError(Exception):
    """The shared backend cannot be reached; the local copy carries on and is written back later."""


class Shared(Protocol):
    """A backend several processes share (Redis), or NullBackend; tests/test_store.py holds its contract."""

    kind: str  # "redis" or "memory"

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]: ...

    async def write(self, source: str, entries: Mapping[str, Entry], drop: list[str]) -> None:
        """Merge newest-wins, delete ``drop``, announce ``data:<source>`` if anything changed."""
        ...

    async def write_status(self, status: SourceStatus) -> None: ...

    async def load_history(
        self, currency: str | None = None, dates: Sequence[date] | None = None
    ) -> dict[str, dict[date, Day]]: ...

    async def write_history(self, currency: str, days: Mapping[date, Day], today: date) -> None:
        """Days before ``today`` only where absent (past days are immutable), others where different; announce
        ``history:<currency>:<date>,<date>`` naming what was written."""
        ...

    def updates(self) -> AsyncIterator[str]:
        """``data:<source>``, ``status:<source>``, RESYNC (first, and after every reconnect), or LOST + why (once
        when the subscription goes down)."""
        ...

    async def claim(self, key: str, ttl: float, owner: str) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...

    async def ping(self) -> bool: ...

    def stop(self) -> None: ...

    async def close(self) -> None: ...
