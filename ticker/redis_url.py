"""TICKER_REDIS_URL, parsed: one server, Sentinel, or Cluster. Pure (no Redis), so settings validation runs it.

``redis://`` / ``rediss://`` / ``unix://``                          one server (redis-py's own URL parser)
``redis+sentinel://[[user]:password@]h:p[,h:p...]/service[/db]``   Sentinels, asked for the primary
``redis+cluster://[[user]:password@]h:p[,h:p...]``                 a Redis Cluster, from seed nodes
(``rediss+sentinel://`` and ``rediss+cluster://``: TLS). The password is the data nodes'.

Every ``rediss`` form takes the same TLS query parameters (TLS_PARAMS: a CA file, a client certificate and key,
``ssl_cert_reqs``); ``redis://``, ``rediss://`` and ``unix://`` also take redis-py's ``db``, ``username`` and
``password``. Any other query parameter is an error, never part of a host or a service name.
``ticker.store.connect`` builds the client from a parsed ``Target``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote

SINGLE = ("redis://", "rediss://", "unix://")
SENTINEL = ("redis+sentinel://", "rediss+sentinel://")
CLUSTER = ("redis+cluster://", "rediss+cluster://")
MASK = "***"
TLS_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
SINGLE_PARAMS = ("db", "username", "password")  # redis-py's own, for one server
CERT_REQS = ("none", "optional", "required")
# scheme://user:PASSWORD@host: the password runs to the LAST "@" before the path, as redis-py and parse_redis_url read
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
    tls_options: tuple[tuple[str, str], ...] = ()  # (TLS_PARAMS name, value) as given in the query


def mask_url_passwords(text: str) -> str:
    """Every password in ``text`` as ``***``: ``redis://user:***@host:6379/0``, ``unix:///r.sock?password=***``."""
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text))


def parse_redis_url(url: str) -> Target:
    """Raise ValueError with a message fit for the operator on anything malformed."""
    if not url.startswith(SINGLE + SENTINEL + CLUSTER):
        raise ValueError(
            "must start with redis://, rediss://, unix://, redis+sentinel://, rediss+sentinel://, "
            "redis+cluster:// or rediss+cluster://"
        )
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    tls = scheme.startswith("rediss")
    options = _query(scheme, query, tls)
    if url.startswith(SINGLE):
        return Target("single", url, tls=tls, tls_options=options)
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
    return Target(mode, url, hosts, service, db, username, password, tls, options)


def _query(scheme: str, query: str, tls: bool) -> tuple[tuple[str, str], ...]:
    """The TLS options in ``query``; ValueError on a parameter that is not understood here."""
    allowed = [*(TLS_PARAMS if tls else ()), *(SINGLE_PARAMS if scheme + "://" in SINGLE else ())]
    options = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in TLS_PARAMS and not tls:
            raise ValueError(f"{name} is a TLS parameter: it needs {scheme.replace('redis', 'rediss', 1)}://")
        if name not in allowed:
            listed = ", ".join(allowed) or "none"
            raise ValueError(f"unknown query parameter {name!r} for {scheme}:// (allowed: {listed})")
        if not value:
            raise ValueError(f"{name} is empty")
        if name == "ssl_cert_reqs" and value not in CERT_REQS:
            raise ValueError(f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}, got {value!r}")
        if name in TLS_PARAMS:
            options.append((name, value))
    return tuple(options)


def _host_port(part: str) -> tuple[str, int]:
    host, colon, port = part.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:26379
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {part!r}")
    return host, int(port)
