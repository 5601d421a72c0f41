"""Open-Meteo: the pure parser (list vs object, position matching, local time, -0.0, null, errors in 200s)
and the one-request fetch over loopback HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from providers.base import Location, Temperature
from providers.errors import FormatError, UpstreamStatusError
from providers.open_meteo import COMMERCIAL_BASE_URL, DEFAULT_BASE_URL, Config, OpenMeteo, parse
from tests.conftest import Upstreams

# crafted in Open-Meteo's format as providers/open_meteo.py describes it (grid-cell coordinates, not the requested ones)
SAMPLES = Path(__file__).parent / "samples" / "open_meteo"
ONE = (SAMPLES / "crafted_current_one_city.json").read_bytes()  # Almaty, 19.6, 14:15 local, +5
TWO = (SAMPLES / "crafted_current_two_cities.json").read_bytes()  # astana -0.0, almaty 19.6 (location_id 1)
LEGACY = (SAMPLES / "crafted_current_weather_legacy.json").read_bytes()  # current_weather=true
ERROR_400 = (SAMPLES / "crafted_error_400.json").read_bytes()
ERROR_429 = (SAMPLES / "crafted_error_429.json").read_bytes()
MIDSTREAM = (SAMPLES / "crafted_midstream_error.txt").read_bytes()  # cut short, error text appended

ASTANA = Location(id="astana", latitude=51.1801, longitude=71.446)
ALMATY = Location(id="almaty", latitude=43.2565, longitude=76.9285)
SYDNEY = Location(id="sydney", latitude=-33.868819, longitude=151.209296)
SLOT = datetime(2026, 7, 15, 9, 15, tzinfo=UTC)  # "2026-07-15T14:15" at UTC+5


def variant(body: bytes, edit: Callable[[Any], object]) -> bytes:
    document = json.loads(body)
    edit(document)
    return json.dumps(document).encode()


def set_current(**fields: object) -> Callable[[Any], object]:
    def edit(document: Any) -> None:
        element = document[0] if isinstance(document, list) else document
        element["current"].update(fields)

    return edit


# --- the pure parser ------------------------------------------------------------------------------


def test_one_city_is_a_bare_object() -> None:
    assert parse(ONE, ["almaty"]) == [Temperature(city="almaty", temperature=19.6, observed_at=SLOT, cadence=900)]


def test_several_cities_are_matched_by_position_not_coordinates() -> None:
    records = parse(TWO, ["astana", "almaty"])
    assert [(r.city, r.temperature) for r in records] == [("astana", 0.0), ("almaty", 19.6)]
    # the order we asked in wins, even though the grid coordinates say otherwise
    swapped = parse(TWO, ["almaty", "astana"])
    assert [(r.city, r.temperature) for r in swapped] == [("almaty", 0.0), ("astana", 19.6)]


def test_negative_zero_becomes_zero() -> None:
    value = parse(TWO, ["astana", "almaty"])[0].temperature
    assert value == 0.0
    assert value is not None
    assert math.copysign(1, value) == 1


def test_null_temperature_is_none() -> None:
    (record,) = parse(variant(ONE, set_current(temperature_2m=None)), ["almaty"])
    assert record.temperature is None
    assert record.observed_at == SLOT


def test_integer_temperature_is_accepted() -> None:
    (record,) = parse(variant(ONE, set_current(temperature_2m=-12)), ["almaty"])
    assert record.temperature == -12.0


def test_local_time_is_turned_into_utc() -> None:
    (record,) = parse(ONE, ["almaty"])
    assert record.observed_at == datetime(2026, 7, 15, 9, 15, tzinfo=UTC)
    assert record.observed_at.utcoffset() == timedelta(0)
    assert record.observed_at.isoformat().replace("+00:00", "Z") == "2026-07-15T09:15:00Z"


def test_without_utc_offset_the_time_is_gmt() -> None:
    (record,) = parse(variant(ONE, lambda d: d.pop("utc_offset_seconds")), ["almaty"])
    assert record.observed_at == datetime(2026, 7, 15, 14, 15, tzinfo=UTC)


def test_unixtime_is_epoch_seconds_utc() -> None:
    epoch = int(SLOT.timestamp())
    (record,) = parse(variant(ONE, set_current(time=epoch)), ["almaty"])
    assert record.observed_at == SLOT  # utc_offset_seconds does not apply to epoch seconds


def test_legacy_current_weather_shape() -> None:
    (record,) = parse(LEGACY, ["astana"])
    assert record == Temperature(
        city="astana",
        temperature=11.0,
        observed_at=datetime(2025, 10, 4, 3, 30, tzinfo=UTC),
        condition="overcast",
        cadence=900,
    )  # "weathercode": 3, the legacy spelling; its "interval": 900 is the cadence too


@pytest.mark.parametrize(
    ("body", "cities"),
    [
        (TWO, ["astana"]),
        (TWO, ["astana", "almaty", "sydney"]),
        (ONE, ["astana", "almaty"]),
        (b"[]", ["astana"]),
        (ERROR_400, ["astana"]),
        (ERROR_429, ["astana"]),
        (ERROR_400, ["astana", "almaty"]),
        (MIDSTREAM, ["astana", "almaty"]),
        (ONE + b"Unexpected error while streaming data: timeout", ["almaty"]),
        (variant(ONE, set_current(temperature_2m="19.6")), ["almaty"]),
        (variant(ONE, set_current(temperature_2m=True)), ["almaty"]),
        (variant(ONE, set_current(temperature_2m=[19.6])), ["almaty"]),
        (variant(TWO, lambda d: d[1]["current"].update(temperature_2m="warm")), ["astana", "almaty"]),
        (variant(ONE, lambda d: d["current"].pop("temperature_2m")), ["almaty"]),
        (variant(ONE, lambda d: d.pop("current")), ["almaty"]),
        (variant(ONE, set_current(time="15.07.2026 14:15")), ["almaty"]),
        (variant(ONE, lambda d: d["current"].pop("time")), ["almaty"]),
        (b'{"current":{"time":"2026-07-15T14:15","temperature_2m":1e400}}', ["almaty"]),
        (b'{"current":{"time":"2026-07-15T14:15","temperature_2m":NaN}}', ["almaty"]),
        (b"[1, 2]", ["astana", "almaty"]),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", ["almaty"]),
        (b"", ["almaty"]),
        (b"\xff\xfe\x00garbage", ["almaty"]),
    ],
    ids=[
        "fewer-than-asked",
        "more-asked",
        "object-for-two",
        "empty-list",
        "error-400",
        "error-429",
        "error-object-for-two",
        "midstream-cut",
        "midstream-appended",
        "string-temperature",
        "bool-temperature",
        "list-temperature",
        "second-not-number",
        "no-temperature",
        "no-current",
        "bad-time",
        "no-time",
        "infinite",
        "nan",
        "not-objects",
        "html",
        "empty",
        "not-utf",
    ],
)
def test_not_a_usable_answer_is_a_format_error(body: bytes, cities: list[str]) -> None:
    with pytest.raises(FormatError):
        parse(body, cities)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000,
        b"[" * 100_000 + b"]" * 100_000,  # well-formed, and deeper than the recursion limit
        b'{"current":{"time":"2026-07-15T14:15","temperature_2m":' + b"1" * 400 + b"}}",  # OverflowError once
        b'{"current":{"time":"2026-07-15T14:15","temperature_2m":-' + b"9" * 400 + b"}}",
        b'{"current":{"time":"2026-07-15T14:15","temperature_2m":' + b"1" * 5000 + b"}}",  # past int's digit limit
        b'{"current":{"time":' + b"9" * 30 + b',"temperature_2m":1.0}}',
        b'{"utc_offset_seconds":' + b"9" * 400 + b',"current":{"time":"2026-07-15T14:15","temperature_2m":1.0}}',
        b'{"current":{"time":"9999-12-31T23:59","temperature_2m":1.0},"utc_offset_seconds":-3600}',
        b'{"current":{"time":"2026-07-15T14:15","temperature_2m":{"value":1}}}',
        '{"current":{"time":"2026-07-15T14:15","temperature_2m":1.0}}'.encode("utf-16-le")[:-1],
        rb'{"current":{"time":"2026-07-15T14:15","temperature_2m":1.0,"x":"\ud800"}}' + b"\xff",
    ],
    ids=[
        "unclosed-nesting",
        "deep-nesting",
        "400-digit-temperature",
        "400-digit-negative",
        "5000-digit-temperature",
        "30-digit-unixtime",
        "400-digit-offset",
        "past-year-9999",
        "object-temperature",
        "cut-utf16",
        "bad-bytes",
    ],
)
def test_crafted_bodies_that_once_escaped_as_other_errors_are_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body, ["almaty"])


@pytest.mark.parametrize(
    "body",
    [
        b'{"current":{"time":1e20,"temperature_2m":1.0}}',
        b'{"current":{"time":NaN,"temperature_2m":1.0}}',
        b'{"utc_offset_seconds":1e12,"current":{"time":"2026-07-15T14:15","temperature_2m":1.0}}',
    ],
    ids=["huge-unixtime", "nan-unixtime", "huge-offset"],
)
def test_absurd_time_fields_are_a_format_error(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body, ["almaty"])


# --- config ---------------------------------------------------------------------------------------


def test_endpoint_switches_to_the_customer_host_only_with_a_key_on_the_default_base() -> None:
    assert Config().endpoint == "https://api.open-meteo.com/v1/forecast"
    assert Config(api_key="k3y").endpoint == "https://customer-api.open-meteo.com/v1/forecast"
    assert Config(api_key="k3y", base_url=DEFAULT_BASE_URL + "/").endpoint == f"{COMMERCIAL_BASE_URL}/v1/forecast"
    assert Config(api_key="k3y", base_url="http://127.0.0.1:9").endpoint == "http://127.0.0.1:9/v1/forecast"
    assert Config(api_key="").endpoint == "https://api.open-meteo.com/v1/forecast"
    config = Config()
    assert (config.interval, config.stale_seconds, config.api_key) == (900, 1800, None)


# --- the fetch over loopback HTTP, from the one fake upstream (tests/fakes.py) -------------------

FORECAST = "/v1/forecast"


def provider(upstream: Upstreams, locations: list[Location], api_key: str | None = None) -> OpenMeteo:
    config = Config(base_url=upstream.url, timeout=5, api_key=api_key)
    return OpenMeteo(config, locations, lambda: SLOT)


async def test_fetch_sends_one_request_for_all_cities(upstream: Upstreams) -> None:
    upstream.fake.body["open_meteo"] = variant(TWO, lambda d: d.append({**d[1], "location_id": 2}))
    async with aiohttp.ClientSession() as session:
        records = await provider(upstream, [ASTANA, ALMATY, SYDNEY]).fetch(session, SLOT.date())

    assert [r.city for r in records] == ["astana", "almaty", "sydney"]
    (query,) = upstream.fake.asked(FORECAST)
    assert query["latitude"] == "51.1801,43.2565,-33.8688"
    assert query["longitude"] == "71.446,76.9285,151.2093"
    for value in (*query["latitude"].split(","), *query["longitude"].split(",")):
        assert len(value.partition(".")[2]) <= 4
    assert query["current"] == "temperature_2m,weather_code"
    assert query["timezone"] == "auto"
    assert "apikey" not in query
    assert (OpenMeteo.name, OpenMeteo.kind) == ("open_meteo", "weather")


async def test_fetch_one_city_reads_the_bare_object(upstream: Upstreams) -> None:
    upstream.fake.body["open_meteo"] = ONE
    async with aiohttp.ClientSession() as session:
        records = await provider(upstream, [ALMATY]).fetch(session, SLOT.date())
    assert records == [Temperature(city="almaty", temperature=19.6, observed_at=SLOT, cadence=900)]
    assert upstream.fake.asked(FORECAST)[0]["latitude"] == "43.2565"


async def test_fetch_sends_the_api_key_when_configured(upstream: Upstreams) -> None:
    upstream.fake.body["open_meteo"] = TWO
    async with aiohttp.ClientSession() as session:
        await provider(upstream, [ASTANA, ALMATY], api_key="s3cret").fetch(session, SLOT.date())
    assert upstream.fake.asked(FORECAST)[0]["apikey"] == "s3cret"


async def test_fetch_400_is_a_permanent_status_error(upstream: Upstreams) -> None:
    upstream.fake.fault["open_meteo"] = "400"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await provider(upstream, [ASTANA, ALMATY]).fetch(session, SLOT.date())
    assert caught.value.status == 400
    assert not caught.value.transient
    assert caught.value.retry_after is None


async def test_fetch_429_is_transient_with_retry_after(upstream: Upstreams) -> None:
    upstream.fake.fault["open_meteo"] = "429"
    upstream.fake.retry_after = "60"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await provider(upstream, [ASTANA, ALMATY]).fetch(session, SLOT.date())
    assert caught.value.status == 429
    assert caught.value.transient
    assert caught.value.retry_after == 60.0


async def test_fetch_midstream_error_in_a_200_is_a_format_error(upstream: Upstreams) -> None:
    upstream.fake.body["open_meteo"] = MIDSTREAM
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await provider(upstream, [ASTANA, ALMATY]).fetch(session, SLOT.date())


async def test_fetch_a_400_digit_temperature_is_a_format_error(upstream: Upstreams) -> None:
    upstream.fake.body["open_meteo"] = variant(ONE, set_current(temperature_2m=10**400))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await provider(upstream, [ALMATY]).fetch(session, SLOT.date())


@pytest.mark.parametrize(
    ("interval", "cadence"),
    [(900, 900.0), (3600, 3600.0), (0, None), (-900, None), ("900", None), (True, None), (None, None), (86401, None)],
)
def test_the_cadence_is_the_answers_own_slot_length_and_a_bad_one_costs_nothing_else(
    interval: object, cadence: float | None
) -> None:
    """current.interval says how long a reading stands (README, "Time: what current means"); one that is not a sane
    number of seconds leaves the provider's declared cadence to apply, and the temperature is kept."""
    (record,) = parse(variant(ONE, set_current(interval=interval)), ["almaty"])
    assert (record.cadence, record.temperature) == (cadence, 19.6)
