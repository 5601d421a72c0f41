"""TICKER_REDIS_URL, parsed and turned into a client: one server, Sentinel, or Cluster.

``redis://`` / ``rediss://`` / ``unix://``                          one server (redis-py's own URL parser)
``redis+sentinel://[[user]:password@]h:p[,h:p...]/service[/db]``   Sentinels, asked for the primary
``redis+cluster://[[user]:password@]h:p[,h:p...]``                 a Redis Cluster, from seed nodes
(``rediss+sentinel://`` and ``rediss+cluster://``: TLS). The password is the data nodes'.

``parse`` knows no Redis and is what settings validation runs; ``connect`` builds the client.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

SINGLE = ("redis://", "rediss://", "unix://")
SENTINEL = ("redis+sentinel://", "rediss+sentinel://")
CLUSTER = ("redis+cluster://", "rediss+cluster://")
MASK = "***"
# scheme://user:PASSWORD@host: the password runs to the LAST "@" before the path, as redis-py and ``parse`` read
# it (a password may hold an unescaped "@"); and ?password=PASSWORD, redis-py's other way (unix:// has no other)
_URL_PASSWORD = re.compile(r"(//[^/@:\s]*:)[^/\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s\"']*", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    mode: Literal["single", "sentinel", "cluster"]
    url: str
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False


def mask_url_passwords(text: str) -> str:
    """Every password in ``text`` as ``***``: ``redis://user:***@host:6379/0``, ``unix:///r.sock?password=***``."""
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text))


def parse(url: str) -> Target:
    """Raise ValueError with a message fit for the operator on anything malformed."""
    if url.startswith(SINGLE):
        return Target("single", url)
    if not url.startswith(SENTINEL + CLUSTER):
        raise ValueError(
            "must start with redis://, rediss://, unix://, redis+sentinel://, rediss+sentinel://, "
            "redis+cluster:// or rediss+cluster://"
        )
    scheme, _, rest = url.partition("://")
    mode: Literal["sentinel", "cluster"] = "sentinel" if scheme.endswith("+sentinel") else "cluster"
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        auth, _, netloc = netloc.rpartition("@")
        user, colon, secret = auth.partition(":")
        if not colon:
            raise ValueError(f"credentials are [user]:password@, got {scheme}://{user[:1]}...@")
        username, password = unquote(user) or None, unquote(secret) or None
    hosts = tuple(_host_port(part) for part in netloc.split(","))
    parts = [p for p in path.split("/") if p]
    service, db = "", 0
    if mode == "sentinel":
        if not parts:
            raise ValueError(f"{scheme}:// needs a service name: {scheme}://host:26379/mymaster[/db]")
        service = unquote(parts[0])
        if len(parts) > 2:
            raise ValueError(f"{scheme}:// takes /service_name[/db], got /{path}")
        if len(parts) == 2:
            if not parts[1].isdigit():
                raise ValueError(f"database must be a number, got {parts[1]!r}")
            db = int(parts[1])
    elif parts:
        raise ValueError(f"{scheme}:// takes no path (a cluster has database 0 only), got /{path}")
    return Target(mode, url, hosts, service, db, username, password, scheme.startswith("rediss"))


def _host_port(part: str) -> tuple[str, int]:
    host, colon, port = part.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:26379
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {part!r}")
    return host, int(port)


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
    return Connected(parse(url), timeout)
