"""A Redis client from a parsed TICKER_REDIS_URL (``ticker.redis_url``): one server, Sentinel, or Cluster."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ticker.redis_url import Target, parse_redis_url

# --- building the client (the only place besides redis_store that imports redis) ------------------


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
        tls: dict[str, Any] = {"ssl": True} if target.tls else {}
        self._node_kwargs.update(auth, **tls)
        if target.mode == "sentinel":
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff

            # A dead primary is refused at once and the Sentinels name it until the failover is done, so
            # redis-py's default ten retries would only stall the write for seconds: fail fast (the store then
            # serves from memory) and let the watch loop and the subscription find the promoted replica.
            common["retry"] = Retry(ExponentialBackoff(cap=0.2, base=0.05), 2)
            # the pool asks the Sentinels for the primary on every new connection, so after a failover the
            # next connection (and the next subscription) goes to the promoted replica by itself
            sentinel_class: Any = Sentinel  # untyped in redis-py
            self._sentinel = sentinel_class(
                list(target.hosts),
                sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout, **tls},
            )
            self.client = self._sentinel.master_for(
                target.service, db=target.db, health_check_interval=15, **common, **auth, **tls
            )
        else:
            nodes = [ClusterNode(host, port) for host, port in target.hosts]
            self.client = RedisCluster(startup_nodes=nodes, **common, **auth, **tls)

    @contextlib.asynccontextmanager
    async def pubsub(self, channel: str) -> AsyncIterator[Any]:
        """A PubSub with ``ignore_subscribe_messages``; closed (with its own connection) on exit."""
        if self.target.mode != "cluster":
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                yield pubsub
            finally:
                await pubsub.aclose()
            return
        # Cluster: redis-py's async RedisCluster has no pubsub before 6.x, so we subscribe through a plain
        # connection to the primary that owns the channel's slot (the channel is hash-tagged like the keys).
        # Classic PUBLISH is broadcast over the cluster bus to every node, so any node would hear it; the
        # slot owner is simply a node the cluster is sure to keep. Each resubscription asks again.
        import redis.asyncio as aioredis

        await self.client.initialize()
        node = self.client.get_node_from_key(channel) or self.client.get_default_node()
        plain = aioredis.Redis(host=node.host, port=node.port, **self._node_kwargs)
        node_pubsub: Any = plain.pubsub(ignore_subscribe_messages=True)
        try:
            yield node_pubsub
        finally:
            try:
                await node_pubsub.aclose()
            finally:
                await plain.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.target.mode == "sentinel":
            for sentinel in self._sentinel.sentinels:
                await sentinel.aclose()


def connect(url: str, *, timeout: float = 2.0) -> Connected:
    return Connected(parse_redis_url(url), timeout)
