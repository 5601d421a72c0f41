"""A source's status across replicas: the newest wins, and "newest" is the latest thing that happened to the source
(its last run for today, or its last ask for tomorrow's rates), so a replica that writes back an older view after
a failover never makes the fetcher forget that tomorrow's rates were asked for at 16:05.

README ("Time"): one process makes each planned request; every replica plans the same next fetch from the status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ticker.state import SourceStatus
from ticker.store.redis_backend import RedisBackend
from ticker.store.store import Store

T0 = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # 10:00 Astana: today's rate asked
BEFORE = SourceStatus(source="nbk", last_attempt=T0, last_success=T0)
# later the same day: tomorrow's rates asked at 16:05 Astana (nothing else changed)
AFTER = BEFORE.model_copy(update={"next_attempt": T0 + timedelta(hours=6, minutes=5)})


@pytest.fixture
async def backend(redis_url: str) -> AsyncIterator[RedisBackend]:
    made = RedisBackend(redis_url)
    yield made
    await made.close()


async def test_an_older_view_written_late_never_replaces_the_newer_status(backend: RedisBackend) -> None:
    await backend.write_status(AFTER)
    await backend.write_status(BEFORE)  # a replica with the morning's view writes it back late
    assert (await backend.load("nbk"))[1] == {"nbk": AFTER}


async def test_a_store_takes_another_replicas_status_only_when_newer(redis_url: str) -> None:
    a, b = Store(RedisBackend(redis_url)), Store(RedisBackend(redis_url))
    try:
        await a.put_status(AFTER)
        await b.put_status(BEFORE)  # b's own write, late: Redis keeps AFTER
        await b.reload()
        assert b.status_of("nbk") == AFTER
        await a.reload()
        assert a.status_of("nbk") == AFTER
    finally:
        await a.close()
        await b.close()
