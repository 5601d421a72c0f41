"""The backend of a store with no Redis: nothing shared, nothing to load, no announcements, claims in memory.

``Store`` always has a backend; without ``TICKER_REDIS_URL`` it is this one, so the store's code has no
"is there a backend" branches. A store on Redis also keeps one for its claims while Redis cannot be reached
(fetch anyway: better twice than never).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date

from ticker.state import Entries, Entry, SourceStatus
from ticker.store.history import Day


class NullBackend:
    kind = "memory"

    def __init__(self) -> None:
        self._claims: dict[str, tuple[str, float]] = {}  # key -> (owner, loop time it lapses), as Redis's PX

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
        return {}, {}  # the local copy is the only copy

    async def write(self, source: str, entries: Mapping[str, Entry], drop: list[str]) -> None:
        return None

    async def write_status(self, status: SourceStatus) -> None:
        return None

    async def load_history(
        self, currency: str | None = None, dates: Sequence[date] | None = None
    ) -> dict[str, dict[date, Day]]:
        return {}

    async def write_history(self, currency: str, days: Mapping[date, Day], today: date) -> None:
        return None

    async def updates(self) -> AsyncIterator[str]:
        """Nothing to follow: no other process writes this store. Waits until cancelled."""
        await asyncio.Event().wait()
        yield ""  # pragma: no cover - never reached; makes this an async generator

    async def claim(self, key: str, ttl: float, owner: str) -> bool:
        now = asyncio.get_running_loop().time()
        self._claims = {k: held for k, held in self._claims.items() if held[1] > now}  # lapsed claims go
        if key in self._claims:
            return False
        self._claims[key] = (owner, now + ttl)
        return True

    async def release(self, key: str, owner: str) -> None:
        if self._claims.get(key, ("", 0.0))[0] == owner:
            del self._claims[key]

    async def ping(self) -> bool:
        return True

    def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None
