"""One contract, two stores: the in-process default and Redis (a private redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from providers.base import Rate, Temperature
from ticker.state import Entry, SourceStatus, confirm
from ticker.store import RESYNC, MemoryStore, Store, create_store

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def usd(rate: float, at: datetime) -> Entry:
    record = Rate(currency="USD", rate=rate, change=0.0, trend="flat", date=date(2026, 4, 1))
    return Entry(source="nbk", record=record, fetched_at=at, changed_at=at)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made = create_store(url)
    yield made
    await made.close()


async def test_write_then_load_round_trips(store: Store) -> None:
    temp = Temperature(city="astana", temperature=-0.0, observed_at=T0)
    await store.write("nbk", {"USD": usd(478.77, T0)})
    await store.write("open_meteo", confirm({}, "open_meteo", [temp], T0))
    await store.write_status(SourceStatus(source="nbk", last_attempt=T0, last_success=T0))
    entries, status = await store.load()
    assert entries["nbk"]["USD"] == usd(478.77, T0)
    assert entries["open_meteo"]["astana"].record == temp
    assert status["nbk"].healthy


async def test_newest_fetched_at_wins_whatever_the_write_order(store: Store) -> None:
    assert await store.write("nbk", {"USD": usd(480.0, T0 + timedelta(minutes=30))}) == ["USD"]
    assert await store.write("nbk", {"USD": usd(470.0, T0)}) == []  # older: ignored
    entries, _ = await store.load()
    assert entries["nbk"]["USD"].record.rate == 480.0  # type: ignore[union-attr]


async def test_every_change_is_announced_and_a_no_op_is_not(store: Store) -> None:
    updates = store.updates()
    assert await anext(updates) == RESYNC  # first connect
    await store.write("nbk", {"USD": usd(478.77, T0)})
    await store.write("nbk", {"USD": usd(478.77, T0)})  # same instant again: no change, no announcement
    await store.write_status(SourceStatus(source="nbk", last_attempt=T0))
    assert await asyncio.wait_for(anext(updates), 5) == "data:nbk"
    assert await asyncio.wait_for(anext(updates), 5) == "status:nbk"
    await updates.aclose()  # type: ignore[attr-defined]


async def test_one_claim_per_source_and_slot(store: Store) -> None:
    assert await store.claim("nbk", 100, 60, "replica-a")
    assert not await store.claim("nbk", 100, 60, "replica-a")  # one fetch per slot, even for the owner
    assert not await store.claim("nbk", 100, 60, "replica-b")
    assert await store.claim("nbk", 101, 60, "replica-b")  # the next slot is free
    assert await store.claim("cbr", 100, 60, "replica-b")  # and so is another source
    await store.release("nbk", 100, "replica-b")  # not the owner: nothing happens
    assert not await store.claim("nbk", 100, 60, "replica-b")
    await store.release("nbk", 100, "replica-a")
    assert await store.claim("nbk", 100, 60, "replica-b")


async def test_ping(store: Store) -> None:
    assert await store.ping()


async def test_redis_keeps_data_for_a_new_process(redis_url: str) -> None:
    first = create_store(redis_url)
    await first.write("nbk", {"USD": usd(478.77, T0)})
    await first.close()
    second = create_store(redis_url)  # a restarted process
    entries, _ = await second.load()
    await second.close()
    assert entries["nbk"]["USD"].record.rate == 478.77  # type: ignore[union-attr]


async def test_memory_store_is_private_to_its_process() -> None:
    assert (await MemoryStore().load()) == ({}, {})
