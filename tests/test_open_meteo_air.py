"""Open-Meteo Air Quality: the recorded-format answers parse to one reading per city; one request for every city."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest

from providers.base import Location
from providers.errors import FormatError
from providers.open_meteo_air import Config, OpenMeteoAir, parse
from tests.conftest import FakeClock, Upstreams

SAMPLES = Path(__file__).parent / "samples" / "open_meteo_air"
PLACES = [
    Location(id="astana", latitude=51.1801, longitude=71.446),
    Location(id="almaty", latitude=43.2565, longitude=76.9285),
    Location(id="karaganda", latitude=49.8067, longitude=73.0885),
]


def test_two_cities_from_a_list_in_request_order() -> None:
    astana, almaty = parse((SAMPLES / "crafted_current_two_cities.json").read_bytes(), ["astana", "almaty"])
    assert (astana.city, astana.us_aqi, astana.european_aqi, astana.pm2_5, astana.pm10) == (
        "astana", 74, 47, 23.4, 31.9,
    )  # fmt: skip
    assert (almaty.city, almaty.us_aqi, almaty.european_aqi) == ("almaty", 152, 101)
    assert astana.observed_at == datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # GMT, as asked
    assert astana.cadence == 3600  # the answer's own current.interval


def test_one_city_is_a_bare_object_and_nulls_stay_null() -> None:
    (karaganda,) = parse((SAMPLES / "crafted_current_one_city.json").read_bytes(), ["karaganda"])
    assert (karaganda.us_aqi, karaganda.european_aqi, karaganda.pm2_5, karaganda.pm10) == (None, None, None, None)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ((SAMPLES / "crafted_error_400.json").read_bytes(), "Open-Meteo error"),
        ((SAMPLES / "crafted_current_two_cities.json").read_bytes(), "2 locations in the answer, 3 asked"),
        (b'{"current": {"time": "2026-01-15T03:00", "us_aqi": "74"}}', "us_aqi"),
        (b'{"current": {"time": "2026-01-15T03:00", "us_aqi": -5}}', "negative"),
        (b'{"current": {"time": "yesterday", "us_aqi": 5}}', "ISO 8601"),
        (b"<html>busy</html>", "open_meteo_air"),
    ],
)
def test_what_is_not_an_answer_is_a_format_error(body: bytes, said: str) -> None:
    cities = ["astana", "almaty", "karaganda"] if b"location_id" in body else ["astana"]
    with pytest.raises(FormatError, match=said):
        parse(body, cities)


async def test_every_city_in_one_request_to_the_fake(upstream: Upstreams, clock: FakeClock) -> None:
    config = Config(base_url=upstream.url, timeout=5)
    provider = OpenMeteoAir(config, PLACES, clock)
    async with aiohttp.ClientSession() as session:
        got = await provider.fetch(session, date(2026, 4, 1))
    assert [r.city for r in got] == ["astana", "almaty", "karaganda"]
    assert [r.us_aqi for r in got] == [74, 152, 38]  # the fake's values, cycled in request order
    (query,) = upstream.fake.asked("/v1/air-quality")
    assert query["latitude"] == "51.1801,43.2565,49.8067"
    assert query["longitude"] == "71.446,76.9285,73.0885"
    assert query["current"] == "us_aqi,european_aqi,pm2_5,pm10"
    assert query["timezone"] == "GMT"
    assert "apikey" not in query
    assert all(r.observed_at == clock().replace(minute=0, second=0, microsecond=0) for r in got)


def test_a_key_moves_the_default_host_to_the_customer_one() -> None:
    assert Config().endpoint == "https://air-quality-api.open-meteo.com/v1/air-quality"
    keyed = Config(api_key="k")
    assert keyed.endpoint == "https://customer-air-quality-api.open-meteo.com/v1/air-quality"
    assert Config(base_url="http://127.0.0.1:9", api_key="k").endpoint == "http://127.0.0.1:9/v1/air-quality"
