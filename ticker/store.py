"""The store interface and its in-process implementation; ``redis_store`` is the shared one.

Both keep the latest good entries per source (newest ``fetched_at`` wins), each source's status, and
announce every change to listeners; both pass the same contract tests (tests/test_store.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from ticker.state import Entries, Entry, SourceStatus, merge

RESYNC = "*"  # an announcement that means "reload everything" (first connect, reconnect)


class StoreError(Exception):
    """The store cannot be reached; callers keep what they have in memory and try again later."""


class Store(Protocol):
    kind: str

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
        """Everything, or one source's entries and status."""
        ...

    async def write(self, source: str, entries: Mapping[str, Entry]) -> list[str]:
        """Merge newest-wins, announce ``data:<source>`` if anything changed; returns changed keys."""
        ...

    async def write_status(self, status: SourceStatus) -> None: ...

    def updates(self) -> AsyncIterator[str]:
        """Announcements: ``data:<source>``, ``status:<source>`` or RESYNC (yielded first, and after
        every reconnect)."""
        ...

    async def claim(self, source: str, slot: int, ttl: float, owner: str) -> bool:
        """True for exactly one call per (source, slot) until ``ttl`` seconds pass: one fetch per slot."""
        ...

    async def release(self, source: str, slot: int, owner: str) -> None: ...

    async def ping(self) -> bool: ...

    def stop(self) -> None:
        """End ``updates()`` loops soon; called before cancelling them and before ``close()``."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """The embedded default: one process, same behaviour, nothing outside."""

    kind = "memory"

    def __init__(self) -> None:
        self._entries: dict[str, Entries] = {}
        self._status: dict[str, SourceStatus] = {}
        self._claims: dict[tuple[str, int], str] = {}
        self._listeners: set[asyncio.Queue[str]] = set()

    def _announce(self, message: str) -> None:
        for queue in self._listeners:
            queue.put_nowait(message)

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
        names = [source] if source else list(self._entries.keys() | self._status.keys())
        entries = {s: dict(self._entries[s]) for s in names if s in self._entries}
        return entries, {s: self._status[s] for s in names if s in self._status}

    async def write(self, source: str, entries: Mapping[str, Entry]) -> list[str]:
        changed = merge(self._entries.setdefault(source, {}), entries)
        if changed:
            self._announce(f"data:{source}")
        return changed

    async def write_status(self, status: SourceStatus) -> None:
        self._status[status.source] = status
        self._announce(f"status:{status.source}")

    async def updates(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            yield RESYNC
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def claim(self, source: str, slot: int, ttl: float, owner: str) -> bool:
        # stay bounded: forget this source's older slots (slot numbers of different sources don't compare)
        self._claims = {k: v for k, v in self._claims.items() if k[0] != source or k[1] >= slot - 1}
        if (source, slot) in self._claims:
            return False
        self._claims[(source, slot)] = owner
        return True

    async def release(self, source: str, slot: int, owner: str) -> None:
        if self._claims.get((source, slot)) == owner:
            del self._claims[(source, slot)]

    async def ping(self) -> bool:
        return True

    def stop(self) -> None:
        pass  # its updates() loop ends on cancellation

    async def close(self) -> None:
        self._listeners.clear()


def create_store(redis_url: str | None) -> Store:
    if not redis_url:
        return MemoryStore()
    from ticker.redis_store import RedisStore

    return RedisStore(redis_url)
