"""The store on highly available Redis, against real servers the suite starts: a primary, a replica and three
Sentinels with the primary killed mid-test; a three-node Redis Cluster (``redis-cli --cluster create``).

Waits are bounded polls (asyncio.sleep(0.1) under an overall asyncio.timeout); no duration is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.redis_proc import RedisProcess, redis_cli
from tests.test_replicas import converge, etags, run_due_everywhere
from tests.test_store import T0, TODAY, rate, status, value_of
from ticker.store.connect import connect
from ticker.store.redis_backend import CHANNEL, PREFIX, RedisBackend
from ticker.store.shared import RESYNC
from ticker.store.store import Store
from ticker.web.appkeys import REFRESHER, STORE

SERVICE = "mymaster"


async def poll(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Until ``check()`` holds: a bounded poll of servers we do not control the timing of."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - nothing to wait on in another process: poll, bounded
            await asyncio.sleep(0.1)


async def answers(port: int, *command: str) -> object:
    client = aioredis.Redis(port=port, decode_responses=True, socket_timeout=2)
    try:
        return await client.execute_command(*command)
    finally:
        await client.aclose()


def nbk_value(store: Store) -> float | None:
    held = store.held("nbk").get(f"USD@{TODAY.isoformat()}")
    return None if held is None else value_of(held)


# --- Sentinel -------------------------------------------------------------------------------------------


class SentinelSet:
    def __init__(self, workdir: Path) -> None:
        self.primary = RedisProcess(workdir)
        self.primary.start()
        self.replica = RedisProcess(workdir, replicaof=self.primary.port)
        self.replica.start()
        self.sentinels = [RedisProcess(workdir, sentinel=(SERVICE, self.primary.port)) for _ in range(3)]
        for sentinel in self.sentinels:
            sentinel.start()

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    async def settled(self) -> bool:
        """The replica is in sync and every Sentinel knows it and the two other Sentinels."""
        info = await answers(self.replica.port, "INFO", "replication")
        if not isinstance(info, dict) or info.get("master_link_status") != "up":
            return False
        for sentinel in self.sentinels:
            replicas = await answers(sentinel.port, "SENTINEL", "REPLICAS", SERVICE)
            others = await answers(sentinel.port, "SENTINEL", "SENTINELS", SERVICE)
            if not (isinstance(replicas, list) and replicas and isinstance(others, list) and len(others) == 2):
                return False
        return True

    async def primary_port(self) -> int:
        host_port = await answers(self.sentinels[0].port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        assert isinstance(host_port, list)
        return int(host_port[1])

    def stop(self) -> None:
        for proc in [*self.sentinels, self.replica, self.primary]:
            proc.stop()


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSet]:
    found = SentinelSet(tmp_path)
    yield found
    found.stop()


@contextlib.asynccontextmanager
async def following(store: Store) -> AsyncIterator[None]:
    task = asyncio.create_task(store.follow())
    try:
        yield
    finally:
        store.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()


async def test_sentinel_primary_killed_memory_serves_then_the_promoted_replica_takes_writes(
    sentinels: SentinelSet,
) -> None:
    await poll(sentinels.settled)
    writer = Store(RedisBackend(sentinels.url))
    reader = Store(RedisBackend(sentinels.url))  # another replica of the app, following announcements
    async with following(writer), following(reader):
        await writer.put("nbk", rate(478.77, T0), TODAY)
        await writer.put_status(status(T0))
        assert writer.ok
        await poll(lambda: _true(nbk_value(reader) == 478.77))

        sentinels.primary.stop()  # mid-test: the primary is gone
        later = rate(479.10, T0 + timedelta(minutes=30))
        await writer.put("nbk", later, TODAY)
        assert not writer.ok  # the store says so (and /readyz with it) ...
        assert nbk_value(writer) == 479.10  # ... and serves from memory
        assert await writer.claim("nbk:today:2026-04-01:1", 60, "a")  # better twice than never

        await poll(lambda: _promoted(sentinels))  # the Sentinels' failover, in their own time
        minutes = 31

        async def written() -> bool:  # writes resume by themselves, on the promoted replica
            nonlocal minutes
            minutes += 1
            await writer.put("nbk", rate(480.0 + minutes / 100, T0 + timedelta(minutes=minutes)), TODAY)
            return writer.ok

        await poll(written)
        now_primary = await sentinels.primary_port()
        assert now_primary == sentinels.replica.port
        assert (
            str(await answers(now_primary, "HGET", PREFIX + "data:nbk", f"USD@{TODAY.isoformat()}")).find(
                str(nbk_value(writer))
            )
            > 0
        )
        await poll(lambda: _true(nbk_value(reader) == nbk_value(writer)))  # reloaded after resubscribing
        await writer.put("nbk", rate(481.5, T0 + timedelta(hours=2)), TODAY)  # and announced on the new primary
        await poll(lambda: _true(nbk_value(reader) == 481.5))
        assert await writer.claim("nbk:today:2026-04-01:2", 60, "a")
        assert not await reader.claim("nbk:today:2026-04-01:2", 60, "b")  # claims on the promoted replica


async def _true(value: bool) -> bool:
    return value


async def _promoted(sentinels: SentinelSet) -> bool:
    return await sentinels.primary_port() == sentinels.replica.port


# --- Cluster --------------------------------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    cli = redis_cli()
    if cli is None:
        pytest.skip("redis-cli is not installed: it creates the cluster (Debian package redis-tools)")
    nodes = [RedisProcess(tmp_path, cluster=True) for _ in range(3)]
    try:
        for node in nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        yield "redis+cluster://" + ",".join(addresses)
    finally:
        for node in nodes:
            node.stop()


async def cluster_ready(url: str) -> None:
    ports = [int(part.rpartition(":")[2]) for part in url.removeprefix("redis+cluster://").split(",")]

    async def ok() -> bool:
        infos = [await answers(port, "CLUSTER", "INFO") for port in ports]
        return all("cluster_state:ok" in str(info) or "'cluster_state': 'ok'" in str(info) for info in infos)

    await poll(ok)


async def test_cluster_keys_share_one_slot(cluster: str) -> None:
    await cluster_ready(cluster)
    conn = connect(cluster)
    try:
        client = conn.client
        await client.initialize()
        slots = {client.keyslot(PREFIX + name) for name in ("data:nbk", "ts:nbk", "status:nbk", "sources", "claim:x")}
        assert slots == {client.keyslot(CHANNEL)}
    finally:
        await conn.aclose()


async def test_cluster_store_put_load_claim_announce(cluster: str) -> None:
    await cluster_ready(cluster)
    writer = Store(RedisBackend(cluster))
    listener = RedisBackend(cluster)
    updates = listener.updates()
    try:
        async with asyncio.timeout(30):
            assert await anext(updates) == RESYNC  # subscribed
            await writer.put("nbk", rate(478.77, T0), TODAY)
            assert writer.ok
            assert await anext(updates) == "data:nbk"  # announced through the script's PUBLISH
            await writer.put_status(status(T0))
            assert await anext(updates) == "status:nbk"
            entries, states = await listener.load()
            assert entries == {"nbk": rate(478.77, T0)} and states == {"nbk": status(T0)}
            await writer.put("nbk", rate(470.0, T0 - timedelta(hours=1)), TODAY)  # older: merged away
            assert (await listener.load("nbk"))[0]["nbk"] == rate(478.77, T0)
            assert await writer.claim("nbk:today:2026-04-01:1", 60, "a")
            assert not await listener.claim("nbk:today:2026-04-01:1", 60, "b")
            await writer.release("nbk:today:2026-04-01:1", "a")
            assert await listener.claim("nbk:today:2026-04-01:1", 60, "b")
            assert await listener.ping()
    finally:
        listener.stop()
        await updates.aclose()  # type: ignore[attr-defined]
        await listener.close()
        await writer.close()


async def test_two_apps_on_a_cluster_share_one_fetch(
    cluster: str, start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    await cluster_ready(cluster)
    settings = make_settings(redis_url=cluster)
    replicas: list[TestClient] = [await start_app(settings), await start_app(settings)]
    outcomes = await run_due_everywhere(replicas)
    assert upstream.fake.hits["nbk"] == upstream.fake.hits["open_meteo"] == 1  # one fetch per planned run
    assert "claimed" in outcomes  # the other found the runs claimed
    await converge(replicas, timeout=30)  # the one that fetched nothing heard of it through pub/sub
    assert all(client.app[STORE].held("nbk") for client in replicas)
    assert all(client.app[STORE].ok for client in replicas)
    assert len(await etags(replicas)) == 1  # one snapshot


async def test_two_apps_through_three_sentinels_ride_out_the_primary_dying(
    sentinels: SentinelSet,
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
) -> None:
    await poll(sentinels.settled)
    settings = make_settings(redis_url=sentinels.url)
    replicas: list[TestClient] = [await start_app(settings), await start_app(settings)]
    await run_due_everywhere(replicas)
    assert upstream.fake.hits["nbk"] == 1
    await converge(replicas, timeout=30)
    before = {await (await client.get("/v1/ticker")).text() for client in replicas}
    assert len(before) == 1

    sentinels.primary.stop()
    fetcher = replicas[0]
    clock.advance(60)
    upstream.fake.rates["USD"] = ("480.05", 1, "UP", "+1.28")
    assert await fetcher.app[REFRESHER].run("nbk") == "ok"  # fetching goes on from memory
    assert not fetcher.app[STORE].ok
    for client in replicas:  # every request answered with the full strip, and /readyz says why
        response = await client.get("/v1/ticker")
        assert response.status == 200 and (await response.json())["rates"]
    readiness = await (await fetcher.get("/readyz")).json()
    assert readiness["store_ok"] is False and "store unreachable" in readiness["reason"]

    async def both_ok() -> bool:  # the watch loop and the resubscription find the promoted replica
        states = [(await (await client.get("/readyz")).json())["store_ok"] for client in replicas]
        return all(states)

    await poll(both_ok, timeout=60)
    assert await sentinels.primary_port() == sentinels.replica.port
    try:
        await converge(replicas, timeout=30)  # the fetch made during the outage was written back and announced
    except TimeoutError:
        from tests.test_replicas import held

        for c in replicas:
            print("HELD", held(c)[1], c.app[STORE].ok)
        print("REDIS", (await RedisBackend(sentinels.url).load())[1])
        raise
    for client in replicas:
        body = await (await client.get("/v1/rates")).json()
        assert next(item["rate"] for item in body["rates"] if item["currency"] == "USD") == 480.05
    assert len(await etags(replicas)) == 1

    clock.advance(60)
    upstream.fake.rates["USD"] = ("481.00", 1, "UP", "+0.95")  # the next publication, via the new primary
    assert await replicas[1].app[REFRESHER].run("nbk") == "ok"
    await converge(replicas, timeout=30)
    body = await (await fetcher.get("/v1/rates")).json()
    assert next(item["rate"] for item in body["rates"] if item["currency"] == "USD") == 481.00
