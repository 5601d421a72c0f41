"""Supervised background tasks: restarted when they fail or end, counted in /metrics, named in /readyz while
down, and stopped for good by close(). Waits are on events the tasks set, never on durations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry, Counter

from providers.base import Rate
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.state import Entry
from ticker.store.redis_backend import RedisBackend
from ticker.tasks import Supervisor
from ticker.web.appkeys import SNAPSHOT, STORE, SUPERVISOR

Client = TestClient[Any, Any]


def counter() -> Counter:
    return Counter("ticker_task_restarts", "restarts", ["task"], registry=CollectorRegistry())


def restarts(count: Counter, task: str) -> float:
    return float(count.labels(task)._value.get())


class Flaky:
    """A task body that fails ``failures`` times (raising, or returning when ``returns``), then runs until
    cancelled. It records, at each start, whether the supervisor still listed it as down."""

    def __init__(self, supervisor: Callable[[], Supervisor], name: str, failures: int, *, returns: bool = False):
        self.supervisor = supervisor
        self.name = name
        self.failures = failures
        self.returns = returns
        self.starts: list[bool] = []  # "was I named down when started?"
        self.running = asyncio.Event()
        self.started = asyncio.Event()

    async def __call__(self) -> None:
        self.starts.append(self.name in self.supervisor().down)
        self.started.set()
        if len(self.starts) <= self.failures:
            if self.returns:
                return
            raise RuntimeError("boom")
        self.running.set()
        await asyncio.Event().wait()


async def test_a_task_that_raises_is_restarted_and_counted() -> None:
    count = counter()
    supervisor = Supervisor(count, base_delay=0)
    task = Flaky(lambda: supervisor, "follow", failures=1)
    supervisor.start("follow", task)
    try:
        await asyncio.wait_for(task.running.wait(), 10)
        assert task.starts == [False, False]  # started twice, and no longer named down when restarted
        assert restarts(count, "follow") == 1
        assert supervisor.down == set()
    finally:
        await supervisor.close()


async def test_a_task_that_ends_is_restarted_too() -> None:
    count = counter()
    supervisor = Supervisor(count, base_delay=0)
    task = Flaky(lambda: supervisor, "watch", failures=1, returns=True)
    supervisor.start("watch", task)
    try:
        await asyncio.wait_for(task.running.wait(), 10)
        assert len(task.starts) == 2 and restarts(count, "watch") == 1
    finally:
        await supervisor.close()


async def test_a_failed_task_is_named_down_while_it_waits_to_restart() -> None:
    count = counter()
    supervisor = Supervisor(count, base_delay=3600)  # it stays down for the whole test
    failing = Flaky(lambda: supervisor, "follow", failures=1)
    healthy = Flaky(lambda: supervisor, "watch", failures=0)
    supervisor.start("follow", failing)
    supervisor.start("watch", healthy)
    try:
        await asyncio.wait_for(healthy.running.wait(), 10)
        await asyncio.wait_for(failing.started.wait(), 10)
        async with asyncio.timeout(10):
            while "follow" not in supervisor.down:  # noqa: ASYNC110 - set by the supervisor, no event to await
                await asyncio.sleep(0)
        assert supervisor.down == {"follow"}
        assert restarts(count, "follow") == 1 and restarts(count, "watch") == 0
        assert len(failing.starts) == 1  # not restarted yet
    finally:
        await supervisor.close()


async def test_close_stops_the_tasks_for_good() -> None:
    supervisor = Supervisor(counter(), base_delay=0)
    task = Flaky(lambda: supervisor, "follow", failures=0)
    supervisor.start("follow", task)
    await asyncio.wait_for(task.running.wait(), 10)
    await supervisor.close()
    assert len(task.starts) == 1
    assert [t for t in asyncio.all_tasks() if t.get_name() == "ticker-follow"] == []


async def test_close_does_not_restart_a_task_that_swallowed_its_cancellation() -> None:
    """redis-py 8 can finish a command despite a cancel and drop the CancelledError (see test_replicas):
    the task body then returns normally after close(). It must not come back."""
    supervisor = Supervisor(counter(), base_delay=0)
    cancelled, ended = asyncio.Event(), asyncio.Event()
    starts = 0

    async def swallows() -> None:
        nonlocal starts
        starts += 1
        if starts > 1:
            return  # a restart after close: the bug
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
        await ended.wait()  # like the follow loop, it goes on until its store closes

    supervisor.start("follow", swallows)
    await asyncio.sleep(0)  # let the task start: one turn of the loop
    closing = asyncio.ensure_future(supervisor.close(timeout=0))
    await asyncio.wait_for(cancelled.wait(), 10)
    await closing
    ended.set()  # the store closes: the body returns
    leftover = [t for t in asyncio.all_tasks() if t.get_name() == "ticker-follow"]
    if leftover:
        await asyncio.wait(leftover, timeout=5)
    assert starts == 1
    assert all(t.done() for t in leftover)


# --- through the app: the store's follow loop -------------------------------------------------------------


async def kill_follow_once(client: Client, redis_url: str, clock: FakeClock) -> None:
    """Make the follow loop fail once: a listener raises when an announcement from elsewhere is applied."""
    store = client.app[STORE]
    armed = {"on": True}

    def explode() -> None:
        if armed["on"]:
            armed["on"] = False
            raise RuntimeError("a listener broke")

    store.listen(explode)
    now = clock()
    record = Rate(currency="USD", rate=478.77, date=now.date())
    backend = RedisBackend(redis_url)
    try:
        key = "USD@" + record.date.isoformat()
        await backend.write("nbk", {key: Entry(source="nbk", record=record, fetched_at=now, changed_at=now)}, [])
    finally:
        await backend.close()


async def test_a_dead_follow_loop_is_named_in_readyz_while_down(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    client = await start_app(make_settings(redis_url=redis_url), supervisor_delay=3600)
    supervisor = client.app[SUPERVISOR]
    await kill_follow_once(client, redis_url, clock)
    async with asyncio.timeout(10):
        while "store-follow" not in supervisor.down:  # noqa: ASYNC110 - the supervisor sets it, no event
            await asyncio.sleep(0)
    body = await (await client.get("/readyz")).json()
    assert body["tasks_down"] == ["store-follow"]
    assert "store-follow" in body["reason"]
    metrics = await (await client.get("/metrics")).text()
    assert 'ticker_task_restarts_total{task="store-follow"} 1.0' in metrics


async def test_a_dead_follow_loop_comes_back_and_catches_up(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str, clock: FakeClock
) -> None:
    client = await start_app(make_settings(redis_url=redis_url), supervisor_delay=0)
    store, supervisor = client.app[STORE], client.app[SUPERVISOR]
    await kill_follow_once(client, redis_url, clock)
    later = clock() + timedelta(minutes=5)
    record = Rate(currency="EUR", rate=548.62, date=later.date())
    backend = RedisBackend(redis_url)
    try:  # written while it may be down: the restarted loop resyncs and sees it
        key = "EUR@" + record.date.isoformat()
        await backend.write("nbk", {key: Entry(source="nbk", record=record, fetched_at=later, changed_at=later)}, [])
    finally:
        await backend.close()
    async with asyncio.timeout(10):
        while "EUR@" + record.date.isoformat() not in store.held("nbk"):
            await client.app[SNAPSHOT].changed.wait()
    metrics = await (await client.get("/metrics")).text()
    assert 'ticker_task_restarts_total{task="store-follow"} 1.0' in metrics
    assert supervisor.down == set()
    assert (await (await client.get("/readyz")).json())["tasks_down"] == []


async def test_an_app_closed_at_once_leaves_no_task_behind(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, redis_url: str
) -> None:
    """Closing right after start cancels the follow loop mid-command (its first resync), where redis-py 8 tends
    to drop the cancellation: the supervisor must still not restart it, and nothing may remain."""
    for _ in range(2):
        client = await start_app(make_settings(redis_url=redis_url), supervisor_delay=0)
        await client.get("/readyz")
        await client.close()
        left = [t for t in asyncio.all_tasks() if t.get_name().startswith("ticker-store")]
        if left:
            await asyncio.wait(left, timeout=10)
        assert all(t.done() for t in left), left
