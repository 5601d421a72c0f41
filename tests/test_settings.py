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
    assert settings.nbk.interval == 1800
    assert settings.open_meteo.interval == 900
    assert settings.nbk.stale_seconds == 3 * 1800
    assert settings.open_meteo.stale_seconds == 3 * 900
    assert settings.nbk.base_url == "https://nationalbank.kz"
    assert settings.open_meteo.api_key is None
    assert settings.source_names == ["nbk", "cbr", "open_meteo", "met_no"]
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
    assert settings.nbk.stale_seconds == 3
    assert settings.open_meteo.api_key == "s3cret"
    assert settings.open_meteo.endpoint == "https://customer-api.open-meteo.com/v1/forecast"
    assert settings.open_meteo.stale_seconds == 3600
    assert settings.open_meteo.interval == 900  # the section's other defaults stay


def test_stale_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_NBK__STALE_AFTER", "7200")
    settings = Settings()
    assert settings.nbk.stale_after == 7200
    assert settings.nbk.stale_seconds == 7200
    assert settings.cbr.stale_seconds == 3 * settings.cbr.interval  # other sources untouched


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://user:pw@redis.example.kz:6380/1", "rediss://user:pw@redis.example.kz:6380/1"),
        ("unix:///run/redis/redis.sock", "unix:///run/redis/redis.sock"),
    ],
)
def test_redis_url_accepted(monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None) -> None:
    monkeypatch.setenv("TICKER_REDIS_URL", value)
    assert Settings().redis_url == expected


@pytest.mark.parametrize("value", ["http://127.0.0.1:6379", "127.0.0.1:6379", "memcached://x"])
def test_redis_url_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert "TICKER_REDIS_URL" in invalid(monkeypatch, TICKER_REDIS_URL=value)


# --- errors name the variable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TICKER_NBK__INTERVAL", "0"),
        ("TICKER_NBK__INTERVAL", "-5"),
        ("TICKER_NBK__INTERVAL", "soon"),
        ("TICKER_OPEN_METEO__TIMEOUT", "0"),
        ("TICKER_OPEN_METEO__MAX_BYTES", "10"),
        ("TICKER_NBK__BASE_URL", "ftp://nationalbank.kz"),
        ("TICKER_NBK__STALE_AFTER", "0"),
        ("TICKER_PORT", "70000"),
        ("TICKER_CURRENCIES", '["US"]'),
        ("TICKER_CURRENCIES", '["USD", "KZT"]'),
        ("TICKER_CURRENCIES", '["USD", "usd"]'),
        ("TICKER_CURRENCIES", "[]"),
        ("TICKER_CITIES", json.dumps([city("aktau"), city("aktau")])),
        ("TICKER_CITIES", "[]"),
    ],
)
def test_validation_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    text = invalid(monkeypatch, **{name: value})
    assert f"{name}:" in text


def test_interval_zero_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    text = invalid(monkeypatch, TICKER_NBK__INTERVAL="0")
    assert "TICKER_NBK__INTERVAL" in text
    assert "at least 1" in text


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
    text = invalid(monkeypatch, TICKER_NBK__STALE_AFTER="60")  # interval 1800
    assert "TICKER_NBK__STALE_AFTER" in text


def test_stale_after_shorter_than_interval_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    text = invalid(monkeypatch, TICKER_NBK__STALE_AFTER="60")
    assert "stale_after" in text


@pytest.mark.parametrize(("name", "value"), [("TICKER_CITIES", "abc"), ("TICKER_CITIES", "astana")])
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
    [("TICKER_NBK__INTERVAL", "0"), ("TICKER_CURRENCIES", "US,EUR"), ("TICKER_CITIES", "abc")],
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
