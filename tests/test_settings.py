"""Settings from TICKER_* variables: defaults, parsing, and errors that name the variable to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from ticker.settings import Settings, describe_error, describe_settings_error

ROOT = Path(__file__).resolve().parent.parent


def invalid(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """Set the variables, expect a ValidationError, return the operator's message."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_error(caught.value)


def city(city_id: str, **extra: object) -> dict[str, object]:
    return {"id": city_id, "name": city_id.title(), "latitude": 47.0945, "longitude": 51.9238, **extra}


# --- defaults -------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.currencies == ["USD", "EUR", "RUB", "CNY"]
    assert [c.id for c in settings.cities] == ["astana", "almaty"]
    assert [(loc.latitude, loc.longitude) for loc in settings.locations] == [
        (51.1801, 71.446),
        (43.2565, 76.9285),
    ]
    assert settings.redis_url is None
    assert settings.nbk.interval == 14400  # the longest gap: the schedule knows when NBK publishes
    assert settings.cbr.interval == 14400
    assert settings.open_meteo.interval == 900
    assert settings.met_no.interval == 1800
    assert settings.nbk.stale_seconds == 28800  # STALE_AFTER: twice the interval
    assert settings.open_meteo.stale_seconds == 1800  # with its 900 s slot: current for 2,700 s
    assert settings.nbk.base_url == "https://nationalbank.kz"
    assert settings.open_meteo.api_key is None
    assert settings.source_names == ["nbk", "cbr", "open_meteo", "met_no"]
    assert settings.cross_check.tolerance == 0.05
    assert settings.cities[0].display_name("ru") == "Астана"
    assert settings.cities[0].display_name("en") == "Astana"


# --- parsing the environment ------------------------------------------------------------------------


def test_currencies_are_upper_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_CURRENCIES", '["usd", " eur "]')
    assert Settings().currencies == ["USD", "EUR"]


def test_cities_from_a_json_list_with_names(monkeypatch: pytest.MonkeyPatch) -> None:
    cities = [city("atyrau", names={"ru": "Атырау", "kk": "Атырау"}), city("aktau", latitude=43.65)]
    monkeypatch.setenv("TICKER_CITIES", json.dumps(cities, ensure_ascii=False))
    settings = Settings()
    assert [c.id for c in settings.cities] == ["atyrau", "aktau"]
    assert settings.cities[0].display_name("ru") == "Атырау"
    assert settings.cities[0].display_name("en") == "Atyrau"  # falls back to name
    assert settings.cities[1].display_name("ru") == "Aktau"
    assert [loc.id for loc in settings.locations] == ["atyrau", "aktau"]
    assert settings.locations[1].latitude == 43.65


def test_nested_source_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_NBK__BASE_URL", "http://127.0.0.1:8099/")
    monkeypatch.setenv("TICKER_NBK__INTERVAL", "1")
    monkeypatch.setenv("TICKER_OPEN_METEO__API_KEY", "s3cret")
    monkeypatch.setenv("TICKER_OPEN_METEO__STALE_AFTER", "3600")
    settings = Settings()
    assert settings.nbk.base_url == "http://127.0.0.1:8099"
    assert settings.nbk.interval == 1
    assert settings.nbk.stale_seconds == 2
    assert settings.open_meteo.api_key == "s3cret"
    assert settings.open_meteo.endpoint == "https://customer-api.open-meteo.com/v1/forecast"
    assert settings.open_meteo.stale_seconds == 3600
    assert settings.open_meteo.interval == 900  # the section's other defaults stay


def test_stale_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_NBK__STALE_AFTER", "20000")
    settings = Settings()
    assert settings.nbk.stale_after == 20000
    assert settings.nbk.stale_seconds == 20000
    assert settings.cbr.stale_seconds == 28800  # other sources untouched


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://user:pw@redis.example.kz:6380/1", "rediss://user:pw@redis.example.kz:6380/1"),
        ("unix:///run/redis/redis.sock", "unix:///run/redis/redis.sock"),
        (
            "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster",
            "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster",
        ),
        ("rediss+sentinel://:pw@[::1]:26379/mymaster/2", "rediss+sentinel://:pw@[::1]:26379/mymaster/2"),
        ("redis+cluster://user:pw@n1:7000,n2:7001", "redis+cluster://user:pw@n1:7000,n2:7001"),
        (
            "rediss+cluster://cfg.example.cache.amazonaws.com:6379",
            "rediss+cluster://cfg.example.cache.amazonaws.com:6379",
        ),
        # the TLS parameters of docs/deploy.md, in every rediss form
        ("rediss://h:6380/0?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required", None),
        ("rediss+sentinel://s1:26379/mymaster?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem", None),
        ("rediss+cluster://n1:7000,n2:7000?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem", None),
        ("rediss+cluster://n1:7000?ssl_cert_reqs=none", None),
        ("unix:///run/redis/redis.sock?db=2&password=pw", None),
    ],
)
def test_redis_url_accepted(monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None) -> None:
    monkeypatch.setenv("TICKER_REDIS_URL", value)
    assert Settings().redis_url == (expected or value or None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http://127.0.0.1:6379", "must start with"),
        ("127.0.0.1:6379", "must start with"),
        ("memcached://x", "must start with"),
        ("redis+sentinel://s1:26379,s2:26379", "needs a service name"),
        ("redis+sentinel://s1:26379/", "needs a service name"),
        ("redis+sentinel://s1/mymaster", "expected host:port"),
        ("redis+sentinel://s1:26379,,s2:26379/mymaster", "expected host:port"),
        ("redis+sentinel://s1:99999/mymaster", "expected host:port"),
        ("redis+sentinel://s1:26379/mymaster/zero", "database must be a number"),
        ("redis+sentinel://secret@s1:26379/mymaster", "[user]:password@"),
        ("redis+cluster://n1:7000/0", "takes no path"),
        ("redis+cluster://n1:port", "expected host:port"),
        ("rediss+cluster://", "expected host:port"),
        # a query string is understood or refused, never part of a service name
        ("redis+sentinel://s1:26379/mymaster?ssl_cert_reqs=none", "ssl_cert_reqs is a TLS parameter"),
        ("rediss+sentinel://s1:26379/mymaster?ssl_cert_reqz=none", "unknown query parameter 'ssl_cert_reqz'"),
        ("rediss+cluster://n1:7000?socket_timeout=5", "unknown query parameter 'socket_timeout'"),
        ("rediss+cluster://n1:7000?db=1", "unknown query parameter 'db'"),
        ("redis://h:6379/0?ssl_ca_certs=/ca.pem", "needs rediss://"),
        ("rediss://h:6380/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of none, optional, required"),
        ("rediss://h:6380/0?ssl_ca_certs=", "ssl_ca_certs is empty"),
    ],
)
def test_redis_url_rejected(monkeypatch: pytest.MonkeyPatch, value: str, reason: str) -> None:
    message = invalid(monkeypatch, TICKER_REDIS_URL=value)
    assert "TICKER_REDIS_URL" in message
    assert reason in message
    assert "secret" not in message


def test_redis_urls_parse_into_hosts_service_and_credentials() -> None:
    from ticker.redis_url import parse_redis_url

    target = parse_redis_url("rediss+sentinel://me:p%40ss@10.0.0.1:26379,[::1]:26380/mymaster/3")
    assert (target.mode, target.tls, target.service, target.db) == ("sentinel", True, "mymaster", 3)
    assert target.hosts == (("10.0.0.1", 26379), ("::1", 26380))
    assert (target.username, target.password) == ("me", "p@ss")
    target = parse_redis_url("redis+cluster://:pw@n1:7000")
    assert (target.mode, target.tls, target.hosts, target.username, target.password) == (
        "cluster", False, (("n1", 7000),), None, "pw"
    )  # fmt: skip
    assert parse_redis_url("redis://127.0.0.1:6379/0").mode == "single"
    target = parse_redis_url("rediss+sentinel://s1:26379/my%2Fmaster/1?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required")
    assert (target.service, target.db) == ("my/master", 1)
    assert target.tls_options == (("ssl_ca_certs", "/etc/ca.pem"), ("ssl_cert_reqs", "required"))


# --- errors name the variable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("TICKER_NBK__INTERVAL", "0", "at least 1 second"),
        ("TICKER_NBK__INTERVAL", "-5", "at least 1 second"),
        ("TICKER_NBK__INTERVAL", "soon", "valid number"),
        ("TICKER_CBR__INTERVAL", "0.5", "at least 1 second"),
        ("TICKER_OPEN_METEO__TIMEOUT", "0", "greater than 0"),
        ("TICKER_OPEN_METEO__TIMEOUT", "301", "less than or equal to 300"),
        ("TICKER_OPEN_METEO__MAX_BYTES", "10", "1024"),
        ("TICKER_MET_NO__USER_AGENT", "", "at least 1 character"),
        ("TICKER_NBK__BASE_URL", "ftp://nationalbank.kz", "http://"),
        ("TICKER_NBK__STALE_AFTER", "0", "greater than 0"),
        ("TICKER_CROSS_CHECK__TOLERANCE", "0", "greater than 0"),
        ("TICKER_CROSS_CHECK__TOLERANCE", "1", "less than 1"),
        ("TICKER_CROSS_CHECK__TOLERANCE", "lots", "valid number"),
        ("TICKER_PORT", "70000", "65535"),
        ("TICKER_CURRENCIES", '["US"]', "ISO 4217"),
        ("TICKER_CURRENCIES", '["USD", "KZT"]', "ISO 4217"),
        ("TICKER_CURRENCIES", '["USD", "usd"]', "without duplicates"),
        ("TICKER_CURRENCIES", "[]", "non-empty"),
        ("TICKER_CITIES", json.dumps([city("aktau"), city("aktau")]), "unique ids"),
        ("TICKER_CITIES", "[]", "non-empty"),
    ],
)
def test_validation_errors_name_the_variable_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    text = invalid(monkeypatch, **{name: value})
    assert f"{name}:" in text
    assert reason in text


@pytest.mark.parametrize(
    "cities",
    [[city("Aktau City")], [city("aktau", latitude=95)]],
    ids=["bad-id", "bad-latitude"],
)
def test_a_bad_city_names_ticker_cities(monkeypatch: pytest.MonkeyPatch, cities: list[object]) -> None:
    text = invalid(monkeypatch, TICKER_CITIES=json.dumps(cities))
    assert "TICKER_CITIES:" in text
    assert "TICKER_CITIES__" not in text


def test_stale_after_shorter_than_interval_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    text = invalid(monkeypatch, TICKER_NBK__INTERVAL="600", TICKER_NBK__STALE_AFTER="599")
    assert "TICKER_NBK__STALE_AFTER: " in text
    assert "must not be shorter than the interval (600 s)" in text
    monkeypatch.setenv("TICKER_NBK__STALE_AFTER", "600")  # equal is allowed
    assert Settings().nbk.stale_seconds == 600


def test_cross_check_tolerance_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_CROSS_CHECK__TOLERANCE", "0.02")
    assert Settings().cross_check.tolerance == 0.02
    text = invalid(monkeypatch, TICKER_CROSS_CHECK__TOLERANT="0.02")  # a misspelt key in the section
    assert "TICKER_CROSS_CHECK__TOLERANT:" in text


@pytest.mark.parametrize(
    ("name", "value", "unknown"),
    [
        ("TICKER_RATE_SOURCES", "nbk,ecb", "'ecb'"),
        ("TICKER_RATE_SOURCES", "open_meteo", "'open_meteo'"),  # a weather source is not a rate source
        ("TICKER_WEATHER_SOURCES", '["met_no", "nbk"]', "'nbk'"),
    ],
)
def test_a_source_name_must_be_a_registered_one_of_its_kind(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, unknown: str
) -> None:
    text = invalid(monkeypatch, **{name: value})
    assert f"{name}:" in text
    assert unknown in text
    allowed = "nbk, cbr" if name == "TICKER_RATE_SOURCES" else "open_meteo, met_no"
    assert f"allowed: {allowed}" in text


def test_a_source_chain_may_not_repeat_a_source(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "without duplicates" in invalid(monkeypatch, TICKER_RATE_SOURCES="nbk,nbk")


@pytest.mark.parametrize(("name", "value"), [("TICKER_NBK", "abc"), ("TICKER_HISTORY", "{days")])
def test_not_json_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    text = describe_settings_error(caught.value)
    assert text.startswith(f"{name}:")
    assert "JSON" in text


def run_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
    return subprocess.run(
        [sys.executable, "-m", "ticker", "fetch"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("TICKER_NBK__INTERVAL", "0"), ("TICKER_CURRENCIES", "US,EUR"), ("TICKER_CITIES", "abc"), ("TICKER_CITIES", "[")],
)
def test_cli_exits_2_naming_the_variable_without_a_traceback(name: str, value: str) -> None:
    result = run_cli({name: value})
    assert result.returncode == 2
    assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_name_lists_take_json_or_a_comma_separated_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_CURRENCIES", "usd, eur")
    monkeypatch.setenv("TICKER_CORS_ORIGINS", "*")
    monkeypatch.setenv("TICKER_RATE_SOURCES", '["cbr"]')
    settings = Settings()
    assert settings.currencies == ["USD", "EUR"]
    assert settings.cors_origins == ["*"]
    assert settings.rate_sources == ["cbr"]


def test_a_misspelt_variable_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from ticker.settings import unknown_variables

    monkeypatch.setenv("TICKER_NBK_INTERVAL", "5")  # one underscore: configures nothing
    monkeypatch.setenv("TICKER_NBK__INTERVAL", "5")
    monkeypatch.setenv("TICKER_PORT", "8081")
    assert unknown_variables() == ["TICKER_NBK_INTERVAL"]


def test_currencies_all_is_every_currency_nbk_publishes_in_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers import nbk

    sample = (ROOT / "tests" / "samples" / "nbk" / "nbk_get_rates_2026-04-01.xml").read_bytes()
    published = [rate.currency for rate in nbk.parse(sample)]  # NBK's own document, in its order
    monkeypatch.setenv("TICKER_CURRENCIES", "all")
    assert Settings().currencies == published
    assert len(published) == 39 and published[:3] == ["AUD", "AZN", "AMD"] and published[-1] == "JPY"
    monkeypatch.setenv("TICKER_CURRENCIES", "ALL")
    assert Settings().currencies == published
    monkeypatch.delenv("TICKER_CURRENCIES")
    assert Settings().currencies == ["USD", "EUR", "RUB", "CNY"]  # the default stays four
