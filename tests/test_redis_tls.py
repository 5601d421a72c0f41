"""TLS against real servers with certificates the test makes (tests/certs.py): a private CA and client certificates
(mutual TLS: the servers refuse a client without one) for ``rediss://``, ``rediss+sentinel://`` and
``rediss+cluster://``, a server whose
certificate another CA signed refused with the reason on /readyz, and the TLS query parameters of docs/deploy.md."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.certs import make_certificates, openssl
from tests.conftest import AppFactory, SettingsFactory
from tests.redis_proc import RedisProcess, redis_cli
from tests.test_redis_acl import every_path
from tests.test_redis_ha import poll
from ticker.store.redis_backend import RedisBackend
from ticker.store.store import Store


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if openssl() is None:
        pytest.skip("openssl is not installed: it makes the test certificates (Debian package openssl)")
    return make_certificates(tmp_path_factory.mktemp("certs"))


def start_tls(proc: RedisProcess) -> RedisProcess:
    try:
        proc.start()
    except RuntimeError as exc:
        if "TLS" in str(exc) or "tls" in str(exc):
            pytest.skip(f"this redis-server is built without TLS (Debian's redis-server has it): {exc}")
        raise
    return proc


@pytest.fixture
def tls_server(tmp_path: Path, certs: Path) -> Iterator[RedisProcess]:
    proc = start_tls(RedisProcess(tmp_path, tls=certs))
    yield proc
    proc.stop()


def query(certs: Path, ca: str = "ca.crt", client: bool = True) -> str:
    params = {"ssl_ca_certs": str(certs / ca)}
    if client:
        params |= {"ssl_certfile": str(certs / "client.crt"), "ssl_keyfile": str(certs / "client.key")}
    return urlencode(params)


async def test_mutual_tls_with_a_private_ca_runs_every_store_path(tls_server: RedisProcess, certs: Path) -> None:
    url = f"rediss://127.0.0.1:{tls_server.port}/0?{query(certs)}"
    assert await every_path(url) == []


async def why_not(url: str) -> str:
    store = Store(RedisBackend(url))
    try:
        await store.reload()
        assert not store.ok
        assert store.reason is not None
        return store.reason
    finally:
        await store.close()


async def test_a_server_certificate_from_another_ca_is_refused_and_readyz_says_why(
    tls_server: RedisProcess, certs: Path, start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    url = f"rediss://127.0.0.1:{tls_server.port}/0?{query(certs, ca='other-ca.crt')}"
    app = await start_app(make_settings(redis_url=url))  # its start-up reload meets the refusal
    ready = await (await app.get("/readyz")).json()
    assert ready["store_ok"] is False
    assert "redis: " in ready["reason"] and "CERTIFICATE_VERIFY_FAILED" in ready["reason"].upper().replace(" ", "_")


async def test_without_a_client_certificate_the_server_refuses(tls_server: RedisProcess, certs: Path) -> None:
    reason = await why_not(f"rediss://127.0.0.1:{tls_server.port}/0?{query(certs, client=False)}")
    assert "store unreachable" in reason and "redis: " in reason


# --- rediss+cluster:// ----------------------------------------------------------------------------------------


@pytest.fixture
def tls_cluster(tmp_path: Path, certs: Path) -> Iterator[str]:
    cli = redis_cli()
    if cli is None:
        pytest.skip("redis-cli is not installed: it creates the cluster (Debian package redis-tools)")
    nodes = [RedisProcess(tmp_path, cluster=True, tls=certs, extra=["--tls-cluster", "yes"]) for _ in range(3)]
    try:
        for node in nodes:
            start_tls(node)
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        tls_args = ["--tls", "--cacert", str(certs / "ca.crt"), "--cert", str(certs / "client.crt")]
        tls_args += ["--key", str(certs / "client.key")]
        created = subprocess.run(
            [cli, *tls_args, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        yield "rediss+cluster://" + ",".join(addresses) + "?" + query(certs)
    finally:
        for node in nodes:
            node.stop()


async def test_mutual_tls_on_a_cluster_runs_every_store_path(tls_cluster: str, certs: Path) -> None:
    async def settled() -> bool:  # every node agrees on the slots, over TLS
        store = Store(RedisBackend(tls_cluster))
        try:
            await store.reload()
            return store.ok
        finally:
            await store.close()

    await poll(settled)
    assert await every_path(tls_cluster) == []
    wrong = tls_cluster.replace(query(certs), query(certs, ca="other-ca.crt"))
    assert "redis: " in await why_not(wrong)


# --- rediss+sentinel:// ------------------------------------------------------------------------------------------


@pytest.fixture
def tls_sentinel(tmp_path: Path, certs: Path) -> Iterator[str]:
    """A TLS primary and a TLS Sentinel that monitors it over TLS (the Sentinels and the data nodes alike)."""
    primary = RedisProcess(tmp_path, tls=certs)
    sentinel = RedisProcess(tmp_path, sentinel=("mymaster", primary.port), tls=certs)
    try:
        start_tls(primary)
        start_tls(sentinel)
        yield f"rediss+sentinel://127.0.0.1:{sentinel.port}/mymaster?{query(certs)}"
    finally:
        sentinel.stop()
        primary.stop()


async def test_mutual_tls_through_a_sentinel_runs_every_store_path(tls_sentinel: str, certs: Path) -> None:
    assert await every_path(tls_sentinel) == []
    wrong = tls_sentinel.replace(query(certs), query(certs, ca="other-ca.crt"))
    reason = await why_not(wrong)
    assert "CERTIFICATE_VERIFY_FAILED" in reason
    assert "ssl_keyfile" not in reason  # the client's settings are not the reason
