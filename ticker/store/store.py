"""The one store: the local copy in memory, and Redis behind it when configured.

The local copy is always written first and is always readable: the refresher decides from it and the
snapshot renders from it. The shared backend (ticker/store/redis_backend.py; without Redis, the null backend of
ticker/store/null_backend.py) is written best effort; announcements from other replicas are loaded into the
local copy, and while the subscription that brings them is down, everything is reloaded every ADRIFT_RELOAD
seconds instead; when the backend comes back after an outage, everything held locally is written back
(newest-wins). This class alone owns and reports "is the store healthy", and why not (``reason``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType

from ticker.redis_url import mask_url_passwords
from ticker.state import Entries, Entry, SourceStatus, expired, merge
from ticker.store.history import Day
from ticker.store.null_backend import NullBackend
from ticker.store.shared import LOST, RESYNC, Shared, StoreError

log = logging.getLogger(__name__)
_EMPTY: Entries = {}
ADRIFT_RELOAD = 2.0  # seconds between reloads while the subscription is down (nothing else would tell us)


class Store:
    def __init__(self, shared: Shared | None = None) -> None:
        self.shared: Shared = shared if shared is not None else NullBackend()
        self.kind = self.shared.kind
        self._entries: dict[str, Entries] = {}  # the local copy: read through held() and status_of()
        self._status: dict[str, SourceStatus] = {}
        self._ok = True
        self._why = ""  # why the backend is unreachable (secrets masked), while not ok
        self._adrift = ""  # why the subscription is down, while it is
        self._claims = NullBackend()  # claims while the backend cannot be reached
        self._listeners: list[Callable[[], None]] = []
        self._history: dict[str, dict[date, Day]] = {}  # currency -> date -> NBK's official rate that day
        self.history_version = 0  # bumped by every change to ``history`` (the history route's renderings key on it)
        self._history_changed = asyncio.Event()

    # --- reading the local copy (read-only views: only the store writes it) ---------------------------

    def held(self, source: str) -> Mapping[str, Entry]:
        """What ``source`` holds, by store key (a rate per currency and date, a temperature per city)."""
        return MappingProxyType(self._entries.get(source, _EMPTY))

    def all_held(self) -> dict[str, Mapping[str, Entry]]:
        """Every source that holds something, with what it holds (replicas compare these)."""
        return {source: MappingProxyType(held) for source, held in self._entries.items() if held}

    def all_status(self) -> dict[str, SourceStatus]:
        return dict(self._status)

    def status_of(self, source: str) -> SourceStatus:
        return self._status.get(source) or SourceStatus(source=source)

    def newest_fetch(self, source: str) -> datetime | None:
        """When ``source`` last brought a good value (for the data age in /readyz and /metrics)."""
        return max((e.fetched_at for e in self._entries.get(source, _EMPTY).values()), default=None)

    @property
    def ok(self) -> bool:
        """False while the shared backend cannot be reached (the local copy carries on)."""
        return self._ok

    @property
    def reason(self) -> str | None:
        """What is wrong with the store, for /readyz (secrets masked), or None."""
        parts = [f"store unreachable, serving from memory: {self._why}"] if not self._ok else []
        if self._adrift:
            parts.append(f"store subscription down ({self._adrift}): reloading every {ADRIFT_RELOAD:g} s")
        return "; ".join(parts) or None

    @property
    def history(self) -> Mapping[str, Mapping[date, Day]]:
        """NBK's official rate per currency per date, as held here."""
        return MappingProxyType(self._history)

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
            changed |= bool(merge(self._entries.setdefault(source, {}), incoming))
        for source, state in status.items():
            if self._status.get(source) != state and _newer(state, self._status.get(source)):
                self._status[source] = state
                changed = True
        return changed

    async def put(self, source: str, entries: Mapping[str, Entry], today: date) -> None:
        local = self._entries.setdefault(source, {})
        changed = merge(local, entries)
        drop = expired(local, today)
        for key in drop:
            del local[key]
        if changed or drop:
            self._changed()
        await self._shared_write(lambda shared: shared.write(source, dict(entries), drop))

    async def put_status(self, status: SourceStatus) -> None:
        self._status[status.source] = status
        self._changed()
        await self._shared_write(lambda shared: shared.write_status(status))

    # --- history: NBK's official rate per currency per date -----------------------------------------

    def _merge_history(self, currency: str, days: Mapping[date, Day], today: date | None) -> dict[date, Day]:
        """Apply ``days`` and return what changed; with ``today``, a day before it already held is kept (past days
        are immutable); without (loaded from the shared backend, which applied that rule itself), the backend's
        value wins, so every replica converges on what Redis holds."""
        held = self._history.setdefault(currency, {})
        changed: dict[date, Day] = {}
        for day, value in days.items():
            if held.get(day) == value or (today is not None and day < today and day in held):
                continue
            held[day] = changed[day] = value
        if changed:
            self.history_version += 1
            self._history_changed.set()
            self._history_changed = asyncio.Event()
        return changed

    @property
    def history_changed(self) -> asyncio.Event:
        """Set at the next change to ``history``: take it before looking, then wait on it."""
        return self._history_changed

    async def put_history(self, days: Mapping[str, Mapping[date, Day]], today: date) -> int:
        """Record days in the local copy, then in the shared backend (what the local copy did not hold yet);
        returns how many values were new or changed here."""
        count = 0
        for currency, values in days.items():
            changed = self._merge_history(currency, values, today)
            if changed:
                count += len(changed)
                await self._write_history(currency, changed, today)
        return count

    async def _write_history(self, currency: str, days: dict[date, Day], today: date) -> None:
        await self._shared_write(lambda shared: shared.write_history(currency, days, today))

    async def reload_history(self, currency: str | None = None, dates: Sequence[date] | None = None) -> None:
        try:
            loaded = await self.shared.load_history(currency, dates)
        except StoreError as exc:
            self._set_ok(False, str(exc))
            return
        for code, values in loaded.items():
            self._merge_history(code, values, None)

    async def _shared_write(self, write: Callable[[Shared], Awaitable[None]]) -> None:
        try:
            await write(self.shared)
        except StoreError as exc:
            self._set_ok(False, str(exc))
        else:
            self._set_ok(True)

    def _set_ok(self, ok: bool, why: str = "") -> None:
        """The one place store health changes, logged on the transition only."""
        why = mask_url_passwords(why)
        if ok and not self._ok:
            log.info("store reachable again")
        elif not ok and self._ok:
            log.warning("store unreachable, serving and fetching from memory: %s", why)
        self._ok, self._why = ok, why

    # --- claims: one fetch per source per planned run, across replicas ----------------------------

    async def claim(self, key: str, ttl: float, owner: str) -> bool:
        try:
            return await self.shared.claim(key, ttl, owner)
        except StoreError as exc:
            self._set_ok(False, str(exc))  # fetch anyway: better twice than never
        return await self._claims.claim(key, ttl, owner)

    async def release(self, key: str, owner: str) -> None:
        await self._claims.release(key, owner)
        try:
            await self.shared.release(key, owner)
        except StoreError as exc:
            self._set_ok(False, str(exc))

    # --- keeping in step with the shared backend -------------------------------------------------

    async def reload(self, source: str | None = None, *, write_back: bool = False) -> None:
        try:
            entries, status = await self.shared.load(source)
            if self._apply(entries, status):
                self._changed()
            if source is None:
                for code, values in (await self.shared.load_history()).items():
                    self._merge_history(code, values, None)
            if write_back:  # a backend that restarted empty is refilled from what we hold
                for name, held in list(self._entries.items()):
                    if held:
                        await self.shared.write(name, dict(held), [])
                for state in list(self._status.values()):
                    await self.shared.write_status(state)
                for code, days in list(self._history.items()):  # past days only where absent: never overwritten
                    if days:
                        await self.shared.write_history(code, dict(days), date.max)
        except StoreError as exc:
            self._set_ok(False, str(exc))
            return
        self._set_ok(True)

    async def follow(self) -> None:
        """Apply every announcement (``data:nbk`` reloads nbk alone); while the subscription is down, reload
        everything every ADRIFT_RELOAD seconds instead (a serve-only replica has no other way to hear of a
        publication). Runs until cancelled; with no shared backend, waits for ever."""
        inbox: asyncio.Queue[str | None] = asyncio.Queue()

        async def pump() -> None:
            async for message in self.shared.updates():
                inbox.put_nowait(message)

        pumping = asyncio.create_task(pump())
        pumping.add_done_callback(lambda _: inbox.put_nowait(None))
        me = asyncio.current_task()
        try:
            while me is None or not me.cancelling():  # redis-py can swallow a cancellation: then end here
                try:
                    message = await asyncio.wait_for(inbox.get(), ADRIFT_RELOAD if self._adrift else None)
                except TimeoutError:
                    await self.reload()
                    continue
                if message is None:  # the subscription ended (stop()) or failed: say how
                    return pumping.result()
                await self._take(message)
            raise asyncio.CancelledError
        finally:
            pumping.cancel()
            await asyncio.gather(pumping, return_exceptions=True)

    async def _take(self, message: str) -> None:
        if message.startswith(LOST):
            self._adrift = message[1:] or "lost"
        elif message == RESYNC:
            self._adrift = ""
            await self.reload(write_back=True)
        elif message.startswith("history:"):  # history:USD:2026-03-31,2026-03-30
            _, currency, dates = message.split(":", 2)
            await self.reload_history(currency, [date.fromisoformat(d) for d in dates.split(",") if d])
        else:
            await self.reload(message.partition(":")[2] or None)

    async def watch(self, every: float = 5.0, most: float = 60.0) -> None:
        """Ping the backend; when it answers again, reload and write back at once. A backend that answers PING
        but refuses the write-back (an ACL without a permission) is asked less and less often, up to ``most``."""
        delay = every
        while True:
            await asyncio.sleep(delay)
            answered = await self.shared.ping()
            if answered and not self._ok:
                await self.reload(write_back=True)
                delay = every if self._ok else min(delay * 2, most)
            elif not answered:
                self._set_ok(False, "no answer to PING")
                delay = every

    def stop(self) -> None:
        """End the follow loop soon, before it is cancelled: redis-py can swallow a cancellation."""
        self.shared.stop()

    async def close(self) -> None:
        self._listeners.clear()
        self.stop()
        await self.shared.close()


def _newer(state: SourceStatus, have: SourceStatus | None) -> bool:
    return have is None or state.touched >= have.touched
