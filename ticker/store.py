"""The one store: the local copy in memory, and Redis behind it when configured.

The local copy is always written first and is always readable: the refresher decides from it and the
snapshot renders from it. The shared backend (``redis_store``) is written best effort; announcements from
other replicas are loaded into the local copy; when the backend comes back after an outage, everything held
locally is written back (newest-wins). This class alone owns and reports "is the store healthy".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import date
from typing import Protocol

from ticker.state import Entries, Entry, SourceStatus, expired, merge

log = logging.getLogger(__name__)
RESYNC = "*"  # an announcement that means "reload everything" (first connect, reconnect)


class StoreError(Exception):
    """The shared backend cannot be reached; the local copy carries on and is written back later."""


class Shared(Protocol):
    """A backend several processes share (Redis); tests/test_store.py holds its contract."""

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]: ...

    async def write(self, source: str, entries: Mapping[str, Entry], drop: list[str]) -> None:
        """Merge newest-wins, delete ``drop``, announce ``data:<source>`` if anything changed."""
        ...

    async def write_status(self, status: SourceStatus) -> None: ...

    def updates(self) -> AsyncIterator[str]:
        """``data:<source>``, ``status:<source>``, or RESYNC (first, and after every reconnect)."""
        ...

    async def claim(self, key: str, ttl: float, owner: str) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...

    async def ping(self) -> bool: ...

    def stop(self) -> None: ...

    async def close(self) -> None: ...


class Store:
    def __init__(self, shared: Shared | None = None) -> None:
        self.shared = shared
        self.kind = "redis" if shared is not None else "memory"
        self.entries: dict[str, Entries] = {}  # the local copy: read by the refresher and the snapshot
        self.status: dict[str, SourceStatus] = {}
        self.ok = True
        self._claims: dict[str, tuple[str, float]] = {}  # key -> (owner, loop time it lapses), as Redis's PX
        self._listeners: list[Callable[[], None]] = []

    # --- the local copy -----------------------------------------------------------------------------

    def listen(self, callback: Callable[[], None]) -> None:
        """``callback`` runs after every change to the local copy (data or status)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def _apply(self, entries: Mapping[str, Entries], status: Mapping[str, SourceStatus]) -> bool:
        changed = False
        for source, incoming in entries.items():
            changed |= bool(merge(self.entries.setdefault(source, {}), incoming))
        for source, state in status.items():
            if self.status.get(source) != state and _newer(state, self.status.get(source)):
                self.status[source] = state
                changed = True
        return changed

    async def put(self, source: str, entries: Mapping[str, Entry], today: date) -> None:
        local = self.entries.setdefault(source, {})
        changed = merge(local, entries)
        drop = expired(local, today)
        for key in drop:
            del local[key]
        if changed or drop:
            self._changed()
        if self.shared is not None:
            await self._shared_write(lambda shared: shared.write(source, dict(entries), drop))

    async def put_status(self, status: SourceStatus) -> None:
        self.status[status.source] = status
        self._changed()
        if self.shared is not None:
            await self._shared_write(lambda shared: shared.write_status(status))

    async def _shared_write(self, write: Callable[[Shared], Awaitable[None]]) -> None:
        assert self.shared is not None
        try:
            await write(self.shared)
        except StoreError as exc:
            self._set_ok(False, str(exc))
        else:
            self._set_ok(True)

    def _set_ok(self, ok: bool, why: str = "") -> None:
        """The one place store health changes, logged on the transition only."""
        if ok and not self.ok:
            log.info("store reachable again")
        elif not ok and self.ok:
            log.warning("store unreachable, serving and fetching from memory: %s", why)
        self.ok = ok

    # --- claims: one fetch per source per planned run, across replicas ----------------------------

    async def claim(self, key: str, ttl: float, owner: str) -> bool:
        if self.shared is not None:
            try:
                return await self.shared.claim(key, ttl, owner)
            except StoreError as exc:
                self._set_ok(False, str(exc))  # fetch anyway: better twice than never
        now = asyncio.get_running_loop().time()
        self._claims = {k: held for k, held in self._claims.items() if held[1] > now}  # lapsed claims go
        if key in self._claims:
            return False
        self._claims[key] = (owner, now + ttl)
        return True

    async def release(self, key: str, owner: str) -> None:
        if self._claims.get(key, ("", 0.0))[0] == owner:
            del self._claims[key]
        if self.shared is not None:
            try:
                await self.shared.release(key, owner)
            except StoreError as exc:
                self._set_ok(False, str(exc))

    # --- keeping in step with the shared backend -------------------------------------------------

    async def reload(self, source: str | None = None, *, write_back: bool = False) -> None:
        if self.shared is None:
            return
        try:
            entries, status = await self.shared.load(source)
            if self._apply(entries, status):
                self._changed()
            if write_back:  # a backend that restarted empty is refilled from what we hold
                for name, held in list(self.entries.items()):
                    if held:
                        await self.shared.write(name, dict(held), [])
                for state in list(self.status.values()):
                    await self.shared.write_status(state)
        except StoreError as exc:
            self._set_ok(False, str(exc))
            return
        self._set_ok(True)

    async def follow(self) -> None:
        """Apply every announcement (``data:nbk`` reloads nbk alone); runs until cancelled."""
        if self.shared is None:
            await asyncio.Event().wait()  # nothing to follow: an in-process store is the only copy
            return
        async for message in self.shared.updates():
            if message == RESYNC:
                await self.reload(write_back=True)
            else:
                await self.reload(message.partition(":")[2] or None)

    async def watch(self, every: float = 5.0) -> None:
        """Ping the backend; when it answers again, reload and write back at once."""
        if self.shared is None:
            await asyncio.Event().wait()
            return
        while True:
            await asyncio.sleep(every)
            answered = await self.shared.ping()
            if answered and not self.ok:
                await self.reload(write_back=True)
            elif not answered:
                self._set_ok(False, "no answer to PING")

    def stop(self) -> None:
        """End the follow loop soon, before it is cancelled: redis-py can swallow a cancellation."""
        if self.shared is not None:
            self.shared.stop()

    async def close(self) -> None:
        self._listeners.clear()
        self.stop()
        if self.shared is not None:
            await self.shared.close()


def _newer(state: SourceStatus, have: SourceStatus | None) -> bool:
    return have is None or state.touched >= have.touched
