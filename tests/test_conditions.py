"""The sky from both weather sources, through their real formats: every WMO code Open-Meteo documents, every MET
Norway symbol in its legend, both sources agreeing on the same sky, and a bad sky never costing the temperature.

The tables below are written from the upstream vocabularies (Open-Meteo's WMO table, MET's weathericon legend),
one row per upstream value with the condition a reader should see, not copied from providers/conditions.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from providers.base import Condition, Temperature
from providers.met_no_forecast import parse as parse_met
from providers.open_meteo import parse as parse_open_meteo
from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from ticker.state import Entry
from ticker.web.appkeys import REFRESHER
from ticker.web.openapi import spec

SAMPLES = Path(__file__).parent / "samples"
OPEN_METEO = (SAMPLES / "open_meteo" / "crafted_current_one_city.json").read_bytes()  # Almaty, 19.6
LEGACY = (SAMPLES / "open_meteo" / "crafted_current_weather_legacy.json").read_bytes()  # current_weather=true
MET = (SAMPLES / "met_no" / "astana_compact.json").read_bytes()  # real compact document, 2026-07-15
MET_NOW = datetime(2026, 7, 15, 10, 30, tzinfo=UTC)  # picks the 10:00Z step: 28.2 °C, fair_day everywhere

# Open-Meteo's WMO table (docs "WMO Weather interpretation codes"), one row per documented code
WMO_TABLE: list[tuple[int, str, str]] = [
    (0, "Clear sky", "clear"),
    (1, "Mainly clear", "clear"),
    (2, "Partly cloudy", "partly_cloudy"),
    (3, "Overcast", "overcast"),
    (45, "Fog", "fog"),
    (48, "Depositing rime fog", "fog"),
    (51, "Drizzle: light", "drizzle"),
    (53, "Drizzle: moderate", "drizzle"),
    (55, "Drizzle: dense", "drizzle"),
    (56, "Freezing drizzle: light", "drizzle"),
    (57, "Freezing drizzle: dense", "drizzle"),
    (61, "Rain: slight", "rain"),
    (63, "Rain: moderate", "rain"),
    (65, "Rain: heavy", "rain"),
    (66, "Freezing rain: light", "rain"),
    (67, "Freezing rain: heavy", "rain"),
    (71, "Snow fall: slight", "snow"),
    (73, "Snow fall: moderate", "snow"),
    (75, "Snow fall: heavy", "snow"),
    (77, "Snow grains", "snow"),
    (80, "Rain showers: slight", "showers"),
    (81, "Rain showers: moderate", "showers"),
    (82, "Rain showers: violent", "showers"),
    (85, "Snow showers: slight", "snow"),
    (86, "Snow showers: heavy", "snow"),
    (95, "Thunderstorm: slight or moderate", "thunderstorm"),
    (96, "Thunderstorm with slight hail", "thunderstorm"),
    (99, "Thunderstorm with heavy hail", "thunderstorm"),
]

# MET Norway's weathericon 2.0 legend: every symbol base, whether it has _day/_night/_polartwilight variants,
# and the condition. Two bases keep MET's own double-s spelling, as the API sends them.
MET_LEGEND: list[tuple[str, bool, str]] = [
    ("clearsky", True, "clear"),
    ("fair", True, "clear"),
    ("partlycloudy", True, "partly_cloudy"),
    ("cloudy", False, "overcast"),
    ("fog", False, "fog"),
    ("lightrain", False, "rain"),
    ("rain", False, "rain"),
    ("heavyrain", False, "rain"),
    ("lightrainshowers", True, "showers"),
    ("rainshowers", True, "showers"),
    ("heavyrainshowers", True, "showers"),
    ("lightrainandthunder", False, "thunderstorm"),
    ("rainandthunder", False, "thunderstorm"),
    ("heavyrainandthunder", False, "thunderstorm"),
    ("lightrainshowersandthunder", True, "thunderstorm"),
    ("rainshowersandthunder", True, "thunderstorm"),
    ("heavyrainshowersandthunder", True, "thunderstorm"),
    ("lightsleet", False, "rain"),
    ("sleet", False, "rain"),
    ("heavysleet", False, "rain"),
    ("lightsleetshowers", True, "showers"),
    ("sleetshowers", True, "showers"),
    ("heavysleetshowers", True, "showers"),
    ("lightsleetandthunder", False, "thunderstorm"),
    ("sleetandthunder", False, "thunderstorm"),
    ("heavysleetandthunder", False, "thunderstorm"),
    ("lightssleetshowersandthunder", True, "thunderstorm"),
    ("sleetshowersandthunder", True, "thunderstorm"),
    ("heavysleetshowersandthunder", True, "thunderstorm"),
    ("lightsnow", False, "snow"),
    ("snow", False, "snow"),
    ("heavysnow", False, "snow"),
    ("lightsnowshowers", True, "snow"),
    ("snowshowers", True, "snow"),
    ("heavysnowshowers", True, "snow"),
    ("lightsnowandthunder", False, "thunderstorm"),
    ("snowandthunder", False, "thunderstorm"),
    ("heavysnowandthunder", False, "thunderstorm"),
    ("lightssnowshowersandthunder", True, "thunderstorm"),
    ("snowshowersandthunder", True, "thunderstorm"),
    ("heavysnowshowersandthunder", True, "thunderstorm"),
]
MET_SYMBOLS = [
    (f"{base}{suffix}", condition)
    for base, variants, condition in MET_LEGEND
    for suffix in (("_day", "_night", "_polartwilight") if variants else ("",))
]


def open_meteo_with(**current: object) -> bytes:
    document = json.loads(OPEN_METEO)
    document["current"].update(current)
    return json.dumps(document).encode()


def met_with(edit: Any) -> bytes:
    document = json.loads(MET)
    step = next(s for s in document["properties"]["timeseries"] if s["time"] == "2026-07-15T10:00:00Z")
    edit(step["data"])
    return json.dumps(document).encode()


def met_symbol(symbol: object) -> bytes:
    def edit(data: dict[str, Any]) -> None:
        data["next_1_hours"]["summary"]["symbol_code"] = symbol

    return met_with(edit)


def test_the_legend_is_complete() -> None:
    assert len(MET_LEGEND) == 41  # MET's legend: 5 skies and 36 kinds of precipitation
    assert len(MET_SYMBOLS) == 83
    assert {row[2] for row in WMO_TABLE} == set(get_args(Condition))  # every condition is reachable from WMO
    assert {row[2] for row in MET_LEGEND} == set(get_args(Condition)) - {"drizzle"}  # MET has no drizzle symbol


@pytest.mark.parametrize(("code", "meaning", "condition"), WMO_TABLE, ids=[f"{c}" for c, _, _ in WMO_TABLE])
def test_every_documented_wmo_code(code: int, meaning: str, condition: str) -> None:
    (record,) = parse_open_meteo(open_meteo_with(weather_code=code), ["almaty"])
    assert (record.condition, record.temperature) == (condition, 19.6), meaning


@pytest.mark.parametrize(("code", "meaning", "condition"), WMO_TABLE[::5], ids=[f"{c}" for c, _, _ in WMO_TABLE[::5]])
def test_the_legacy_weathercode_is_read_the_same(code: int, meaning: str, condition: str) -> None:
    document = json.loads(LEGACY)
    document["current_weather"]["weathercode"] = code
    (record,) = parse_open_meteo(json.dumps(document).encode(), ["astana"])
    assert (record.condition, record.temperature) == (condition, 11.0), meaning


@pytest.mark.parametrize(("symbol", "condition"), MET_SYMBOLS)
def test_every_met_symbol(symbol: str, condition: str) -> None:
    reading = parse_met(met_symbol(symbol), MET_NOW)
    assert (reading.condition, reading.temperature) == (condition, 28.2)


@pytest.mark.parametrize(
    ("code", "symbol"),
    [
        (0, "clearsky_day"), (1, "fair_night"), (2, "partlycloudy_day"), (3, "cloudy"), (45, "fog"),
        (61, "lightrain"), (63, "rain"), (65, "heavyrain"),
        (80, "lightrainshowers_day"), (81, "rainshowers_night"), (82, "heavyrainshowers_polartwilight"),
        (71, "lightsnow"), (73, "snow"), (75, "heavysnow"), (85, "lightsnowshowers_day"), (86, "heavysnowshowers_day"),
        (95, "rainandthunder"), (95, "heavysnowshowersandthunder_night"),
    ],
)  # fmt: skip
def test_both_sources_agree_on_the_same_sky(code: int, symbol: str) -> None:
    (from_wmo,) = parse_open_meteo(open_meteo_with(weather_code=code), ["almaty"])
    from_met = parse_met(met_symbol(symbol), MET_NOW)
    assert from_wmo.condition is not None
    assert from_wmo.condition == from_met.condition


@pytest.mark.parametrize(
    "code",
    [None, -1, 4, 52, 100, 1000, 10**30, 3.0, 3.5, "3", "", True, [3], {"code": 3}],
    ids=lambda code: repr(code)[:20],
)
def test_an_unknown_or_malformed_code_is_null_and_the_temperature_is_kept(code: object) -> None:
    (record,) = parse_open_meteo(open_meteo_with(weather_code=code), ["almaty"])
    assert (record.condition, record.temperature) == (None, 19.6)


def test_a_missing_code_is_null() -> None:
    document = json.loads(OPEN_METEO)
    document["current"].pop("weather_code", None)
    (record,) = parse_open_meteo(json.dumps(document).encode(), ["almaty"])
    assert (record.condition, record.temperature) == (None, 19.6)


@pytest.mark.parametrize(
    "symbol", [42, "", "sunny", "cloudy_day_night", "_day", "partly_cloudy", ["cloudy"], "Cloudy "]
)
def test_an_unknown_or_malformed_symbol_is_null_and_the_temperature_is_kept(symbol: object) -> None:
    reading = parse_met(met_symbol(symbol), MET_NOW)
    expected = "overcast" if symbol == "Cloudy " else None  # case and blanks are not a different sky
    assert (reading.condition, reading.temperature) == (expected, 28.2)


def test_met_takes_the_shortest_period_that_has_a_symbol() -> None:
    def periods(one: object, six: object, twelve: object) -> Any:
        def edit(data: dict[str, Any]) -> None:
            for key, symbol in (("next_1_hours", one), ("next_6_hours", six), ("next_12_hours", twelve)):
                data.pop(key)
                if symbol is not None:
                    data[key] = {"summary": {"symbol_code": symbol}, "details": {}}

        return met_with(edit)

    assert parse_met(periods("rain", "snow", "fog"), MET_NOW).condition == "rain"
    assert parse_met(periods(None, "snow", "fog"), MET_NOW).condition == "snow"
    assert parse_met(periods(None, None, "fog"), MET_NOW).condition == "fog"
    assert parse_met(periods(None, None, None), MET_NOW) == (datetime(2026, 7, 15, 10, tzinfo=UTC), 28.2, None)


@pytest.mark.parametrize(
    "period",
    ["garbage", [], {"summary": "cloudy"}, {"summary": None}, {"details": {}}, {"summary": {"symbol_code": None}}],
    ids=["text", "list", "summary-text", "summary-null", "no-summary", "symbol-null"],
)
def test_a_malformed_period_falls_through_to_the_next(period: object) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["next_1_hours"] = period
        data["next_6_hours"]["summary"]["symbol_code"] = "lightsnowshowers_night"

    reading = parse_met(met_with(edit), MET_NOW)
    assert (reading.condition, reading.temperature) == ("snow", 28.2)


def test_a_record_stored_before_conditions_still_loads() -> None:
    stored = (
        '{"source":"open_meteo","record":{"city":"astana","temperature":-3.4,"observed_at":"2026-04-01T10:15:00Z"},'
        '"fetched_at":"2026-04-01T10:15:00Z","changed_at":"2026-04-01T10:15:00Z"}'
    )
    entry = Entry.model_validate_json(stored)
    assert isinstance(entry.record, Temperature)
    assert (entry.record.temperature, entry.record.condition) == (-3.4, None)


def test_openapi_describes_the_condition() -> None:
    field = spec()["components"]["schemas"]["WeatherItem"]["properties"]["condition"]
    kinds = {json.dumps(option, sort_keys=True) for option in field["anyOf"]}
    assert json.dumps({"enum": list(get_args(Condition)), "type": "string"}, sort_keys=True) in kinds
    assert json.dumps({"type": "null"}) in kinds
    assert "null when unknown" in field["description"]


# --- through the service ----------------------------------------------------------------------------


async def test_the_strip_shows_each_sources_sky_and_both_agree(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.weather_codes = [3, 95]
    upstream.fake.met_no_symbol = "cloudy"
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    body = await (await client.get("/v1/weather")).json()
    assert [(w["city"], w["source"], w["condition"]) for w in body["weather"]] == [
        ("astana", "open_meteo", "overcast"),
        ("almaty", "open_meteo", "thunderstorm"),
    ]
    fallback = await start_app(make_settings(weather_sources=["met_no"]))
    assert await fallback.app[REFRESHER].run("met_no") == "ok"
    body = await (await fallback.get("/v1/weather")).json()
    assert [(w["source"], w["condition"]) for w in body["weather"]] == [("met_no", "overcast")] * 2


async def test_a_bad_sky_from_the_upstream_keeps_the_temperature(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    upstream.fake.weather_codes = ["cloudy", 12345]
    upstream.fake.met_no_symbol = 7
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    body = await (await client.get("/v1/weather")).json()
    assert [(w["temperature"], w["condition"], w["stale"]) for w in body["weather"]] == [
        (-3.4, None, False),
        (12.0, None, False),
    ]
    fallback = await start_app(make_settings(weather_sources=["met_no"]))
    assert await fallback.app[REFRESHER].run("met_no") == "ok"
    body = await (await fallback.get("/v1/weather")).json()
    assert all(w["temperature"] is not None and w["condition"] is None for w in body["weather"])


async def test_a_new_sky_with_the_same_temperature_is_a_change(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.local_time = "2026-04-01T15:15"  # the same observation time and temperature both times
    client = await start_app(make_settings())
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    first = await client.get("/v1/weather?cities=astana")
    upstream.fake.weather_codes = [0]
    clock.advance(900)  # the next slot
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    second = await client.get("/v1/weather?cities=astana", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status == 200  # the sky cleared: clients that revalidate get the new body
    assert (await second.json())["weather"][0]["condition"] == "clear"
