"""Keep this process's snapshot in step with the store, and the store with what we hold.

Every announcement reloads the (small) state; a (re)connection also writes back everything held in
memory, newest-wins, so a Redis that restarted empty is refilled without waiting for the next fetch.
"""

from __future__ import annotations

import asyncio
import logging

from ticker.health import StoreHealth
from ticker.snapshot import Snapshot
from ticker.store import RESYNC, Store, StoreError

log = logging.getLogger(__name__)


async def write_back(store: Store, snapshot: Snapshot) -> None:
    for source, entries in list(snapshot.entries.items()):
        if entries:
            await store.write(source, dict(entries))
    for status in list(snapshot.status.values()):
        await store.write_status(status)


async def reload(
    store: Store, snapshot: Snapshot, health: StoreHealth, *, push: bool, source: str | None = None
) -> None:
    try:
        entries, status = await store.load(source)
        snapshot.load(entries, status)
        if push:
            await write_back(store, snapshot)
    except StoreError as exc:
        if health.ok:
            log.warning("store unreachable, serving from memory: %s", exc)
        health.ok = False
        return
    if not health.ok:
        log.info("store reachable again")
    health.ok = True


async def follow(store: Store, snapshot: Snapshot, health: StoreHealth) -> None:
    """Apply every announcement (``data:nbk`` reloads nbk alone); never returns until cancelled."""
    async for message in store.updates():
        if message == RESYNC:
            await reload(store, snapshot, health, push=True)
        else:
            await reload(store, snapshot, health, push=False, source=message.partition(":")[2] or None)


async def watch(store: Store, snapshot: Snapshot, health: StoreHealth, every: float = 5.0) -> None:
    """Ping the store; when it comes back, reload and write back at once."""
    while True:
        await asyncio.sleep(every)
        ok = await store.ping()
        if ok and not health.ok:
            await reload(store, snapshot, health, push=True)
        elif not ok and health.ok:
            log.warning("store stopped answering; serving from memory")
            health.ok = False
