"""Open-Meteo air-quality answers at their edges: the instant of a reading however the answer writes it, clean air
(an index or a concentration of 0) is a reading and not an error, and an insane `interval` costs only the cadence.

Open-Meteo's Air Quality API documentation: `current.time` is GMT as asked (`timezone=GMT`); its envelope is the
forecast API's, which also says `utc_offset_seconds` and can answer epoch seconds (`timeformat=unixtime`).
README: `observed_at` is the true UTC instant; the indices run from 0 (good).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.open_meteo_air import OpenMeteoAir, parse

AT = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def answer(**current: Any) -> bytes:
    point: dict[str, Any] = {"current": {"time": "2026-01-15T03:00", "interval": 3600, "us_aqi": 74, **current}}
    offset = point["current"].pop("utc_offset_seconds", None)
    if offset is not None:
        point["utc_offset_seconds"] = offset
    return json.dumps(point).encode()


@pytest.mark.parametrize(
    "current",
    [
        {"time": "2026-01-15T03:00"},  # GMT, no offset said
        {"time": "2026-01-15T03:00", "utc_offset_seconds": 0},
        {"time": "2026-01-15T08:00", "utc_offset_seconds": 18000},  # Astana's wall clock, the offset said
        {"time": "2026-01-15T08:00+05:00"},  # an offset in the time itself
        {"time": "2026-01-15T08:00+05:00", "utc_offset_seconds": 18000},  # both: counted once
        {"time": AT.timestamp()},  # timeformat=unixtime
        {"time": int(AT.timestamp())},
    ],
    ids=["gmt", "offset-0", "offset-5h", "iso-offset", "iso-offset-and-field", "unixtime-float", "unixtime-int"],
)
def test_the_instant_of_a_reading_is_the_same_however_it_is_written(current: dict[str, Any]) -> None:
    (reading,) = parse(answer(**current), ["astana"])
    assert reading.observed_at == AT


def test_clean_air_is_a_reading() -> None:
    (reading,) = parse(answer(us_aqi=0, european_aqi=0, pm2_5=0.4, pm10=0), ["astana"])
    assert (reading.us_aqi, reading.european_aqi, reading.pm2_5, reading.pm10) == (0, 0, 0.4, 0)


@pytest.mark.parametrize(("interval", "cadence"), [(3600, 3600), (1, 1), (86400, 86400), (900.0, 900)])
def test_the_answers_interval_is_the_cadence(interval: float, cadence: float) -> None:
    (reading,) = parse(answer(interval=interval), ["astana"])
    assert reading.cadence == cadence


@pytest.mark.parametrize("interval", [0, -3600, 0.5, 86401, 10**9, True, "3600", None])
def test_an_insane_interval_costs_the_cadence_not_the_reading(interval: object) -> None:
    (reading,) = parse(answer(interval=interval), ["astana"])
    assert reading.cadence is None  # the provider's own hourly cadence applies instead
    assert reading.us_aqi == 74 and reading.observed_at == AT
    assert OpenMeteoAir.cadence == 3600
