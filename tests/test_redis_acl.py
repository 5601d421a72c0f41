"""The least-privilege ACL user of docs/deploy.md, read from the document itself, on a real server and a real
cluster: every Redis path of the store runs as it with no refusal, each command it grants is needed, what it must
not do (FLUSHALL, KEYS, CLIENT) is refused, and a user refused the channel writes nothing unannounced."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from tests.redis_proc import RedisProcess
from tests.test_redis_ha import cluster, cluster_ready  # noqa: F401 - cluster: a fixture
from tests.test_store import T0, TODAY, rate, status
from ticker.store.history import Day
from ticker.store.redis_backend import CHANNEL, PREFIX, RedisBackend
from ticker.store.shared import LOST
from ticker.store.store import Store

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
CLUSTER_ONLY = ("+cluster|slots", "+command")
KEY = f"USD@{TODAY.isoformat()}"


def documented_acl() -> tuple[str, str, list[str]]:
    """(user, password, rules) from the ``<!-- acl: ... -->`` block of docs/deploy.md."""
    found = re.search(r"<!-- acl:[^>]*-->\s*```\s*\n(ACL SETUSER [^\n]+)\n```", DEPLOY.read_text())
    assert found, "docs/deploy.md has no <!-- acl: --> block"
    _, _, user, *rules = found.group(1).split()
    password = next(rule[1:] for rule in rules if rule.startswith(">"))
    return user, password, rules


def set_user(port: int, user: str, rules: list[str]) -> None:
    with redis.Redis(port=port) as admin:  # the default user: the operator
        admin.execute_command("ACL", "DELUSER", user)
        admin.execute_command("ACL", "SETUSER", user, *rules)
        admin.execute_command("ACL", "LOG", "RESET")


def refusals(port: int) -> list[str]:
    with redis.Redis(port=port, decode_responses=True) as admin:
        entries = admin.execute_command("ACL", "LOG")
    return [f"{dict(e)['reason']} {dict(e)['object']}" if isinstance(e, dict) else str(e) for e in entries]


async def every_path(url: str, timeout: float = 10) -> list[str]:
    """Each thing the store asks of Redis, as two replicas would: writes (scripts), loads, claims, history, the
    subscription and its announcements, the write-back, PING. Returns the reasons the store gave (none: all ran)."""
    writer, follower = Store(RedisBackend(url)), Store(RedisBackend(url))
    heard = asyncio.Event()
    follower.listen(heard.set)
    following = asyncio.create_task(follower.follow())
    reasons: list[str] = []

    def look(store: Store) -> None:
        if store.reason is not None:
            reasons.append(store.reason)

    nine_days_back = TODAY - timedelta(days=9)
    try:
        await writer.put("nbk", rate(470.0, T0 - timedelta(days=9), day=nine_days_back), nine_days_back)
        look(writer)
        await writer.put("nbk", rate(478.77, T0), TODAY)  # and drops the rate nine days back
        look(writer)
        await writer.put_status(status(T0))
        look(writer)
        await writer.put_history({"USD": {TODAY: Day(rate=478.77, change=0.0, source="nbk")}}, TODAY)
        look(writer)
        claimed = [await writer.claim("nbk:today:1", 60, "a"), await follower.claim("nbk:today:1", 60, "b")]
        look(writer)
        look(follower)
        await writer.release("nbk:today:1", "a")
        look(writer)
        if claimed != [True, False] or not await follower.claim("nbk:today:1", 60, "b"):
            reasons.append(f"claims: {claimed}, then not released")
        await writer.reload(write_back=True)
        look(writer)
        await writer.reload_history("USD", [TODAY])
        look(writer)
        if not await writer.shared.ping():
            reasons.append("no answer to PING")
        try:
            async with asyncio.timeout(timeout if not reasons else 0):
                while follower.held("nbk").get(KEY) != rate(478.77, T0)[KEY] or TODAY not in follower.history.get(
                    "USD", {}
                ):
                    heard.clear()
                    await heard.wait()
        except TimeoutError:
            reasons.append("the follower never heard")
        look(follower)
    finally:
        follower.stop()
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await writer.close()
        await follower.close()
    return reasons


def url_for(port: int, user: str, password: str, scheme: str = "redis") -> str:
    return f"{scheme}://{user}:{password}@127.0.0.1:{port}" + ("/0" if scheme == "redis" else "")


async def test_the_documented_user_runs_every_store_path_and_nothing_it_must_not(own_redis: RedisProcess) -> None:
    server = own_redis
    user, password, rules = documented_acl()
    assert "-@all" in rules and not {"+@all", "allcommands", "+flushall", "+keys", "+client"} & set(rules)
    set_user(server.port, user, [r for r in rules if r not in CLUSTER_ONLY])
    assert await every_path(url_for(server.port, user, password)) == []
    assert refusals(server.port) == []
    client = aioredis.Redis(port=server.port, username=user, password=password)
    try:
        for command in (["FLUSHALL"], ["FLUSHDB"], ["KEYS", "*"], ["CLIENT", "LIST"], ["CONFIG", "GET", "*"]):
            with pytest.raises(redis.exceptions.NoPermissionError):
                await client.execute_command(*command)
        with pytest.raises(redis.exceptions.NoPermissionError):  # another application's keys
            await client.get("other-app:secret")
    finally:
        await client.aclose()


async def test_every_command_the_documented_user_is_granted_is_needed(own_redis: RedisProcess) -> None:
    server = own_redis
    user, password, rules = documented_acl()
    granted = [r for r in rules if r.startswith("+") and r not in CLUSTER_ONLY]
    for command in granted:
        set_user(server.port, user, [r for r in rules if r != command and r not in CLUSTER_ONLY])
        with redis.Redis(port=server.port) as admin:
            admin.flushall()
            admin.script_flush()
        assert await every_path(url_for(server.port, user, password), timeout=2.5), f"{command} is not needed"


async def test_a_user_refused_the_channel_writes_nothing_and_says_so_once(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    server = own_redis
    user, password, rules = documented_acl()
    set_user(server.port, user, [r for r in rules if not r.startswith("&") and r not in CLUSTER_ONLY])
    url = url_for(server.port, user, password)
    store = Store(RedisBackend(url))
    try:
        for minutes in range(3):  # three fetches: one line for the transition, not one per attempt
            await store.put("nbk", rate(478.77 + minutes, T0 + timedelta(minutes=minutes)), TODAY)
        await store.put_status(status(T0))
        assert not store.ok
        assert store.reason is not None and "NOPERM" in store.reason and f"&{CHANNEL}" in store.reason
        assert store.held("nbk")  # served from memory
        with redis.Redis(port=server.port) as admin:
            assert admin.keys(PREFIX + "*") == []  # nothing written without its announcement
        lines = [r for r in caplog.records if "store unreachable" in r.getMessage()]
        assert len(lines) == 1 and "NOPERM" in lines[0].getMessage()

        updates = RedisBackend(url)
        stream = updates.updates()
        try:
            async with asyncio.timeout(10):
                lost = await anext(stream)
            assert lost.startswith(LOST) and "NOPERM" in lost  # the subscription names it too, and backs off
        finally:
            updates.stop()
            await stream.aclose()  # type: ignore[attr-defined]
            await updates.close()
    finally:
        await store.close()


@pytest.fixture
async def acl_cluster(cluster: str) -> tuple[str, list[int]]:  # noqa: F811 - the fixture
    await cluster_ready(cluster)
    ports = [int(part.rpartition(":")[2]) for part in cluster.removeprefix("redis+cluster://").split(",")]
    user, password, rules = documented_acl()
    for port in ports:  # ACL users are per node
        set_user(port, user, rules)
    return cluster.replace("redis+cluster://", f"redis+cluster://{user}:{password}@"), ports


async def test_the_documented_user_runs_every_store_path_on_a_cluster(acl_cluster: tuple[str, list[int]]) -> None:
    url, ports = acl_cluster
    assert await every_path(url) == []
    assert [line for port in ports for line in refusals(port)] == []
    user, _, rules = documented_acl()
    for command in CLUSTER_ONLY:  # what a cluster needs besides
        for port in ports:
            set_user(port, user, [r for r in rules if r != command])
        assert await every_path(url, timeout=2.5), f"{command} is not needed on a cluster"
