"""The first five minutes (#14): a start that says where the data comes from and what to check when nothing answers,
MET Norway's User-Agent terms, and a proxy from the environment."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.fakes import SOURCES
from tests.redis_proc import free_port
from tests.serving import serve_env, serving
from ticker.fetch.attempts import RetryPolicy
from ticker.run.startup import listening_line, met_no_placeholder_warning
from ticker.settings import Settings
from ticker.web.appkeys import REFRESHER, STORE

CHECK = (
    "check this machine's network and DNS, the proxy (HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured) and the "
    "base URLs ({vars}); the sources are asked again on their own"
)


def fetch_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.startswith("ticker.fetch") and r.levelno >= logging.WARNING
    ]


def reason(client: TestClient[Any, Any], source: str) -> str:
    """The reason the store recorded for the source's last failure, without the error's class name."""
    last_error = client.app[STORE].status_of(source).last_error
    assert last_error is not None
    return str(last_error).split(": ", 1)[1]


async def test_nothing_reachable_at_start_says_no_data_yet_per_source_and_once_per_kind_what_to_check(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    for source in SOURCES:
        upstream.fake.fault[source] = "down"  # the connection closes unanswered
    # a retry inside each run too, with no pause between the tries
    settings = make_settings(air_sources=["open_meteo_air"])  # every kind, air quality too
    client = await start_app(settings, retry=RetryPolicy(attempts=2, base_delay=0, max_delay=0))
    refresher = client.app[REFRESHER]

    for _ in range(3):  # the first round, then each source asked again when its breaker opens (cooldown 0)
        assert set(await refresher.run_due()) == {"failed"}
        clock.advance(60)
    assert all(upstream.fake.hits[source] >= 6 for source in SOURCES)  # 3 rounds x 2 tries each

    messages = fetch_messages(caplog)
    no_data = [m for m in messages if m.startswith("no data yet from ")]
    assert sorted(no_data) == sorted(f"no data yet from {s}: {reason(client, s)}" for s in SOURCES)
    assert all("ServerDisconnected" in m for m in no_data), no_data
    assert [m for m in messages if m.startswith("no rates at all")] == [
        "no rates at all: every rates source failed (nbk, cbr: each one's reason is above and in /readyz); "
        + CHECK.format(vars="TICKER_NBK__BASE_URL, TICKER_CBR__BASE_URL")
    ]
    assert [m for m in messages if m.startswith("no weather at all")] == [
        "no weather at all: every weather source failed (open_meteo, met_no: each one's reason is above and in "
        "/readyz); " + CHECK.format(vars="TICKER_OPEN_METEO__BASE_URL, TICKER_MET_NO__BASE_URL")
    ]
    assert [m for m in messages if m.startswith("no air quality at all")] == [
        "no air quality at all: every air quality source failed (open_meteo_air: each one's reason is above and in "
        "/readyz); " + CHECK.format(vars="TICKER_OPEN_METEO_AIR__BASE_URL")
    ]
    assert not [m for m in messages if "keeping the last good data" in m]
    assert len(messages) == len(SOURCES) + 3  # nothing more per retry or per round

    strip = await (await client.get("/v1/ticker")).json()
    assert {item["rate"] for item in strip["rates"]} == {None}
    assert {item["temperature"] for item in strip["weather"]} == {None}
    assert {item["aqi"] for item in strip["air"]} == {None}


async def test_one_source_of_a_kind_failing_is_not_every_source_failing(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    upstream.fake.fault["nbk"] = "down"
    upstream.fake.fault["open_meteo"] = "500"
    client = await start_app(make_settings())
    await client.app[REFRESHER].run_due()
    messages = fetch_messages(caplog)
    assert f"no data yet from nbk: {reason(client, 'nbk')}" in messages
    assert f"no data yet from open_meteo: {reason(client, 'open_meteo')}" in messages
    assert not [m for m in messages if " at all" in m], messages  # cbr and met_no answered
    assert not [m for m in messages if "keeping the last good data" in m]


async def test_a_source_with_data_keeps_it_and_says_so(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await start_app(make_settings(rate_sources=["nbk"]))
    refresher = client.app[REFRESHER]
    assert "ok" in await refresher.run_due()
    caplog.set_level(logging.INFO, logger="ticker.fetch")
    caplog.clear()
    upstream.fake.fault["nbk"] = "down"
    clock.advance(14400)
    assert "failed" in await refresher.run("nbk")
    messages = fetch_messages(caplog)
    assert messages == [f"nbk: fetch failed, keeping the last good data: {reason(client, 'nbk')}"]


def test_the_listening_line_names_the_chains_and_where_to_look() -> None:
    settings = Settings(rate_sources=["cbr", "nbk"], weather_sources=["met_no"], port=9090)
    assert listening_line(settings) == (
        "ticker 0.1.0 listening on 0.0.0.0:9090 (store: in-process, role: all); rates from cbr→nbk, weather from "
        "met_no; see /readyz for each source's state and /v1/ticker for the strip"
    )


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        ({}, True),
        ({"met_no": {"user_agent": "news-example-kz-ticker/1.0 ops@news.example.kz"}}, False),
        ({"weather_sources": ["open_meteo"]}, False),
        ({"role": "api"}, False),  # an api replica never asks MET Norway
        ({"role": "fetcher", "weather_sources": ["met_no"]}, True),
    ],
    ids=["placeholder", "own-agent", "met-no-unused", "api-role", "met-no-only"],
)
def test_met_norway_placeholder_user_agent_warning(overrides: dict[str, object], warned: bool) -> None:
    warning = met_no_placeholder_warning(Settings(**overrides))  # type: ignore[arg-type]
    if not warned:
        assert warning is None
        return
    assert warning is not None
    assert warning.startswith("TICKER_MET_NO__USER_AGENT is the shared placeholder 'ticker/0.1 github.com/ticker-kz")
    assert "application's name and a contact" in warning and "ops@news.example.kz" in warning


async def test_a_real_start_logs_the_line_and_the_met_warning_once(live_upstream: Upstreams) -> None:
    port = free_port()
    async with serving(serve_env(live_upstream.url, port)) as served:
        assert await served.stop() == 0
    log = await served.log()
    listening = [line for line in log.splitlines() if " listening on " in line]
    assert len(listening) == 1 and listening[0].endswith(
        f"INFO ticker.run.cli: ticker 0.1.0 listening on 127.0.0.1:{port} (store: in-process, role: all); rates from "
        "nbk→cbr, weather from open_meteo→met_no; see /readyz for each source's state and /v1/ticker for the strip"
    )
    met = [line for line in log.splitlines() if "TICKER_MET_NO__USER_AGENT is the shared placeholder" in line]
    assert len(met) == 1 and " WARNING ticker.run.startup: " in met[0]


async def test_the_client_session_takes_its_proxy_from_the_environment(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY names the fake upstream, which answers absolute-form requests as a forward proxy would; the base
    URL names a host that does not resolve (.invalid), so only a request through the proxy gets an answer."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", upstream.url)
    client = await start_app(make_settings(rate_sources=["nbk"], nbk={"base_url": "http://nbk.invalid"}))
    assert await client.app[REFRESHER].run("nbk") == "ok"
    (asked,) = [r for r in upstream.fake.requests if r.path == "/rss/get_rates.cfm"]
    assert asked.host == "nbk.invalid"  # the request named the real host: it went through the proxy
    rates = (await (await client.get("/v1/rates")).json())["rates"]
    assert rates[0]["source"] == "nbk" and rates[0]["rate"] is not None
