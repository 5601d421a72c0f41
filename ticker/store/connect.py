"""A Redis client from a parsed TICKER_REDIS_URL (``ticker.redis_url``): one server, Sentinel, or Cluster; and
where to subscribe, asked afresh every time (the primary of the moment, never a cached map)."""

from __future__ import annotations

from typing import Any, cast

from redis.exceptions import ConnectionError, RedisClusterException, RedisError

from ticker.redis_url import Target, parse_redis_url

# Every way redis-py says "cannot do that now": its RedisError family, the cluster client's own exceptions
# (RedisClusterUnreachableError, SlotNotCoveredError: not RedisErrors) and a socket's OSError.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)


class Connected:
    """A client for commands and a way to subscribe, whatever the deployment."""

    def __init__(self, target: Target, timeout: float) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.cluster import ClusterNode, RedisCluster
        from redis.asyncio.sentinel import Sentinel

        self.target = target
        common: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "decode_responses": True,
        }
        self._node_kwargs: dict[str, Any] = dict(common)
        if target.mode == "single":
            self.client: Any = aioredis.from_url(target.url, health_check_interval=15, **common)
            return
        auth: dict[str, Any] = {"username": target.username, "password": target.password}
        tls: dict[str, Any] = {"ssl": True, **dict(target.tls_options)} if target.tls else {}
        self._node_kwargs.update(auth, **tls)
        if target.mode == "sentinel":
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff

            # A dead primary is refused at once and the Sentinels name it until the failover is done, so
            # redis-py's default ten retries would only stall the write for seconds: fail fast (the store then
            # serves from memory) and let the watch loop and the subscription find the promoted replica.
            # A hung primary (timeouts, not refusals) is not retried: each retry would wait socket_timeout on it
            # again, where the next command asks the Sentinels afresh.
            common["retry"] = Retry(ExponentialBackoff(cap=0.2, base=0.05), 2, supported_errors=(ConnectionError,))
            # the pool asks the Sentinels for the primary on every new connection, so after a failover the
            # next connection goes to the promoted replica by itself
            sentinel_class: Any = Sentinel  # untyped in redis-py
            self._sentinel = sentinel_class(
                list(target.hosts),
                sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout, **tls},
            )
            self.client = self._sentinel.master_for(
                target.service, db=target.db, health_check_interval=15, **common, **auth, **tls
            )
            self._node_kwargs["db"] = target.db
        else:
            nodes = [ClusterNode(host, port) for host, port in target.hosts]
            self.client = RedisCluster(startup_nodes=nodes, **common, **auth, **tls)

    async def locate(self, channel: str) -> str:
        """Where to subscribe to ``channel`` now, as ``host:port`` ("" for one server: always the same).

        Sentinel: the primary the Sentinels name now. Cluster: the primary that owns the channel's slot, as a node
        of the cluster says now (classic PUBLISH reaches every node over the cluster bus, so any node would hear
        it; the slot owner is the one the cluster is sure to keep). Raises one of REDIS_ERRORS when no one answers.
        """
        if self.target.mode == "single":
            return ""
        if self.target.mode == "sentinel":
            # through the command client's pool: when the primary changed, its idle connections to the old one
            # are dropped too (a hung primary would otherwise hold every command for socket_timeout)
            host, port = await self.client.connection_pool.get_master_address()
        else:
            host, port = await self._slot_owner(channel)
        return f"{host}:{port}"

    async def subscriber(self, channel: str) -> tuple[Any, str]:
        """A fresh client on the server to subscribe to ``channel`` on (``locate``), and where that is."""
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # no retries: redis-py's PubSub would otherwise reconnect by itself, to the same address and after seconds
        # of backoff, and resubscribe without a word (what was announced in between, missed); the caller says
        # LOST at once, asks afresh where to subscribe, and RESYNCs
        once: dict[str, Any] = {"retry": Retry(NoBackoff(), 0)}
        where = await self.locate(channel)
        if not where:
            return aioredis.from_url(self.target.url, **self._common(), **once), where
        host, _, port = where.rpartition(":")
        return aioredis.Redis(host=host, port=int(port), **self._node_kwargs, **once), where

    def _common(self) -> dict[str, Any]:
        return {key: self._node_kwargs[key] for key in ("socket_timeout", "socket_connect_timeout", "decode_responses")}

    async def _slot_owner(self, channel: str) -> tuple[str, int]:
        """Ask the seeds, then every node last known, for CLUSTER SLOTS; the first answer names the owner."""
        import redis.asyncio as aioredis
        from redis.crc import key_slot

        slot = key_slot(channel.encode())
        known = [(node.host, node.port) for node in self.client.get_nodes()]
        failure: BaseException = RedisClusterException("no cluster node answered")
        for host, port in dict.fromkeys([*self.target.hosts, *known]):
            node = aioredis.Redis(host=host, port=port, **self._node_kwargs)
            try:
                ranges = await cast(Any, node).execute_command("CLUSTER SLOTS")
            except REDIS_ERRORS as exc:
                failure = exc
                continue
            finally:
                await node.aclose()
            owner = _owner(ranges, slot, host)
            if owner is not None:
                return owner
            failure = RedisClusterException(f"slot {slot} is not covered (asked {host}:{port})")
        raise failure

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.target.mode == "sentinel":
            for sentinel in self._sentinel.sentinels:
                await sentinel.aclose()


def _owner(ranges: Any, slot: int, asked: str) -> tuple[str, int] | None:
    """The primary serving ``slot`` in a CLUSTER SLOTS reply, raw (a list) or as redis-py parses it (a dict)."""
    rows = ranges.items() if isinstance(ranges, dict) else (((r[0], r[1]), {"primary": r[2]}) for r in ranges)
    for (start, end), nodes in rows:
        if int(start) <= slot <= int(end):
            host, port = nodes["primary"][0], nodes["primary"][1]
            return (str(host) or asked), int(port)  # an empty host means "the address you asked"
    return None


def connect(url: str, *, timeout: float = 2.0) -> Connected:
    return Connected(parse_redis_url(url), timeout)
