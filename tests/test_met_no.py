"""MET Norway: the step choice of the pure parser; the polite client (UA, 4 decimals, Expires, 304)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from providers.base import Location, Temperature
from providers.errors import FormatError, UpstreamStatusError
from providers.met_no import Config, MetNo
from providers.met_no_forecast import parse
from tests.conftest import Upstreams

SAMPLE = (Path(__file__).parent / "samples" / "met_no" / "astana_compact.json").read_bytes()
# updated_at 08:51:17Z; timeseries[0] 09:00Z; hourly to 2026-07-17T08:00Z, 6-hourly to 2026-07-24T00:00Z
T0 = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)  # one hour before timeseries[0]
NOW = datetime(2026, 7, 15, 10, 30, tzinfo=UTC)
LAST_MODIFIED = "Wed, 15 Jul 2026 08:51:17 GMT"
ASTANA = Location(id="astana", latitude=51.1801, longitude=71.44598)
ALMATY = Location(id="almaty", latitude=43.25654, longitude=76.92848)
UA = "ticker-test/1.0 ops@example.kz"


def variant(edit: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(SAMPLE)
    edit(document)
    return json.dumps(document).encode()


def set_temperature(value: object, index: int = 0) -> Callable[[dict[str, Any]], object]:
    def edit(document: dict[str, Any]) -> None:
        document["properties"]["timeseries"][index]["data"]["instant"]["details"]["air_temperature"] = value

    return edit


# --- the pure parser ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "step", "temperature", "condition"),
    [
        (T0, "2026-07-15T09:00:00Z", 27.7, "clear"),  # everything is after now: the first step (clearsky_day)
        (NOW, "2026-07-15T10:00:00Z", 28.2, "clear"),  # fair_day
        (datetime(2026, 7, 15, 11, tzinfo=UTC), "2026-07-15T11:00:00Z", 28.3, "partly_cloudy"),  # <= is inclusive
        (datetime(2026, 7, 15, 15, 30, tzinfo=timezone(timedelta(hours=5))), "2026-07-15T10:00:00Z", 28.2, "clear"),
        (datetime(2026, 7, 17, 11, 59, tzinfo=UTC), "2026-07-17T08:00:00Z", 26.1, "partly_cloudy"),  # hourly gap
        (datetime(2026, 7, 20, 5, 59, tzinfo=UTC), "2026-07-20T00:00:00Z", 15.7, "overcast"),  # next_6_hours only
        (datetime(2026, 8, 1, tzinfo=UTC), "2026-07-24T00:00:00Z", 14.4, None),  # past the end: instant only
    ],
)
def test_parse_picks_the_last_step_at_or_before_now(
    now: datetime, step: str, temperature: float, condition: str | None
) -> None:
    observed_at, value, sky = parse(SAMPLE, now)
    assert observed_at == datetime.fromisoformat(step)
    assert observed_at.utcoffset() == timedelta(0)
    assert value == temperature
    assert sky == condition


def test_parse_keeps_null_temperature_as_none() -> None:
    assert parse(variant(set_temperature(None)), T0).temperature is None


def test_parse_treats_missing_air_temperature_as_none() -> None:
    def drop(document: dict[str, Any]) -> None:
        del document["properties"]["timeseries"][0]["data"]["instant"]["details"]["air_temperature"]

    assert parse(variant(drop), T0).temperature is None


def test_parse_turns_negative_zero_into_zero() -> None:
    value = parse(variant(set_temperature(-0.0)), T0).temperature
    assert value == 0.0
    assert value is not None
    assert math.copysign(1, value) == 1


def test_parse_does_not_need_sorted_steps() -> None:
    body = variant(lambda document: document["properties"]["timeseries"].reverse())
    assert parse(body, NOW).observed_at == datetime(2026, 7, 15, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body><h1>400 Bad Request</h1></body></html>",
        b'{"error": "Location outside coverage", "status": 422}',
        b'{"type": "Feature", "properties": {"meta": {}}}',
        b'{"type": "Feature", "properties": {"timeseries": []}}',
        SAMPLE[: len(SAMPLE) // 2],
        b"",
        b"[" * 200_000,
        b"\xff\xfe\x00garbage",
        variant(lambda document: document["properties"]["timeseries"][0].update(time="2026-07-15T09:00:00")),
        variant(set_temperature("warm")),
        variant(set_temperature(float("nan"))),
        variant(lambda document: document["properties"]["timeseries"][0]["data"].pop("instant")),
    ],
    ids=[
        "html",
        "json-error",
        "no-timeseries",
        "empty-timeseries",
        "truncated",
        "empty",
        "deep-nesting",
        "not-utf",
        "naive-time",
        "text-temperature",
        "nan",
        "no-instant",
    ],
)
def test_parse_rejects_what_is_not_a_compact_forecast(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body, T0)  # T0 picks timeseries[0], the step the edits break


def set_time(value: str, index: int = 0) -> Callable[[dict[str, Any]], object]:
    def edit(document: dict[str, Any]) -> None:
        document["properties"]["timeseries"][index]["time"] = value

    return edit


@pytest.mark.parametrize(
    "body",
    [
        variant(set_temperature(10**400)),
        variant(set_temperature(-(10**400))),
        variant(set_time("9999-12-31T23:00:00-12:00")),  # past year 9999 in UTC: OverflowError once
        b'{"properties": {"timeseries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        SAMPLE.replace(b"Z", b"\xff", 1),
        SAMPLE.decode().encode("utf-32")[:-1],
    ],
    ids=["400-digit-temperature", "400-digit-negative", "past-year-9999", "deep-nesting", "bad-byte", "cut-utf32"],
)
def test_crafted_bodies_that_once_escaped_as_other_errors_are_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body, T0)


def test_config_defaults_and_user_agent_is_required() -> None:
    config = Config()
    assert (config.base_url, config.interval) == ("https://api.met.no", 1800)
    assert "github.com" in config.user_agent
    with pytest.raises(ValidationError):
        Config(user_agent="")


# --- the client over loopback HTTP, against the one fake upstream (tests/fakes.py) -------------------


def met(upstream: Upstreams, locations: list[Location], clock: Callable[[], datetime]) -> MetNo:
    return MetNo(Config(base_url=upstream.url, timeout=5, user_agent=UA), locations, clock)


def serve_sample(upstream: Upstreams, expires: datetime | None) -> None:
    """The recorded document, with MET's cache headers (no Expires when ``expires`` is None)."""
    upstream.fake.body["met_no"] = SAMPLE
    upstream.fake.extra_headers["met_no"] = {"Last-Modified": LAST_MODIFIED} | (
        {"Expires": format_datetime(expires, usegmt=True)} if expires is not None else {}
    )


async def test_fetch_identifies_itself_and_sends_at_most_four_decimals(upstream: Upstreams) -> None:
    serve_sample(upstream, NOW + timedelta(minutes=30))
    sydney = Location(id="sydney", latitude=-33.86882, longitude=151.20929)
    async with aiohttp.ClientSession() as session:
        records = await met(upstream, [ASTANA, ALMATY, sydney], lambda: NOW).fetch(session, NOW.date())

    assert records == [
        Temperature(
            city=city, temperature=28.2, observed_at=datetime(2026, 7, 15, 10, tzinfo=UTC), condition="clear"
        )  # fair_day
        for city in ("astana", "almaty", "sydney")
    ]
    requests = upstream.fake.requests
    sent = {(r.query["lat"], r.query["lon"]) for r in requests}
    assert sent == {("51.1801", "71.446"), ("43.2565", "76.9285"), ("-33.8688", "151.2093")}
    for request in requests:
        assert request.headers["User-Agent"] == UA
        assert "If-Modified-Since" not in request.headers
        for value in (request.query["lat"], request.query["lon"]):
            assert len(value.partition(".")[2]) <= 4
    assert (MetNo.name, MetNo.kind) == ("met_no", "weather")


async def test_fetch_honours_expires_then_revalidates_with_last_modified(upstream: Upstreams) -> None:
    clock = [NOW]
    serve_sample(upstream, NOW + timedelta(minutes=45))
    provider = met(upstream, [ASTANA], lambda: clock[0])
    requests = upstream.fake.requests
    async with aiohttp.ClientSession() as session:
        first = await provider.fetch(session, NOW.date())
        clock[0] = NOW + timedelta(minutes=35)  # 11:05, before Expires: no request, re-picked from the cache
        second = await provider.fetch(session, NOW.date())
        assert len(requests) == 1

        clock[0] = NOW + timedelta(minutes=46)  # past Expires: a conditional request, answered 304 ...
        serve_sample(upstream, clock[0] + timedelta(minutes=30))  # ... with a new Expires (minute 76)
        third = await provider.fetch(session, NOW.date())
        assert len(requests) == 2
        assert requests[1].headers["If-Modified-Since"] == LAST_MODIFIED

        clock[0] = NOW + timedelta(minutes=70)  # the 304 carried a new Expires (minute 76)
        fourth = await provider.fetch(session, NOW.date())
        assert len(requests) == 2

    assert (first[0].observed_at.hour, first[0].temperature) == (10, 28.2)
    assert (second[0].observed_at.hour, second[0].temperature) == (11, 28.3)
    assert third == second
    assert fourth == second


async def test_fetch_replaces_the_cache_on_a_new_200(upstream: Upstreams) -> None:
    clock = [NOW]
    serve_sample(upstream, NOW + timedelta(minutes=30))
    provider = met(upstream, [ASTANA], lambda: clock[0])
    async with aiohttp.ClientSession() as session:
        await provider.fetch(session, NOW.date())
        upstream.fake.body["met_no"] = variant(set_temperature(-3.5, index=2))  # the 11:00 step
        upstream.fake.extra_headers["met_no"] = {"Last-Modified": "Wed, 15 Jul 2026 09:51:17 GMT"}  # no Expires
        clock[0] = NOW + timedelta(minutes=31)
        records = await provider.fetch(session, NOW.date())
        assert records[0].temperature == -3.5
        clock[0] = NOW + timedelta(minutes=32)  # no Expires on the last answer: ask again, with the new date
        await provider.fetch(session, NOW.date())
    assert [r.headers.get("If-Modified-Since") for r in upstream.fake.requests] == [
        None,
        LAST_MODIFIED,
        "Wed, 15 Jul 2026 09:51:17 GMT",
    ]


@pytest.mark.parametrize(
    ("fault", "retry_after", "transient"),
    [("403", None, False), ("429", 120.0, True)],
)
async def test_fetch_refusals_are_status_errors(
    upstream: Upstreams, fault: str, retry_after: float | None, transient: bool
) -> None:
    upstream.fake.fault["met_no"] = fault  # the 429 says Retry-After: 120
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await met(upstream, [ASTANA, ALMATY], lambda: NOW).fetch(session, NOW.date())
    assert caught.value.status == int(fault)
    assert caught.value.retry_after == retry_after
    assert caught.value.transient is transient


async def test_fetch_returns_the_cities_that_worked(upstream: Upstreams, caplog: pytest.LogCaptureFixture) -> None:
    serve_sample(upstream, NOW + timedelta(minutes=30))
    upstream.fake.fault_of = lambda request: "500" if request.query.get("lat") == "43.2565" else None  # Almaty
    with caplog.at_level(logging.WARNING, logger="providers.met_no"):
        async with aiohttp.ClientSession() as session:
            records = await met(upstream, [ASTANA, ALMATY], lambda: NOW).fetch(session, NOW.date())
    assert [record.city for record in records] == ["astana"]
    assert "almaty" in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html><body>maintenance</body></html>", b'{"properties": {}}'],
    ids=["html-200", "json-without-timeseries"],
)
async def test_fetch_bad_body_is_a_format_error(upstream: Upstreams, body: bytes) -> None:
    upstream.fake.body["met_no"] = body
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await met(upstream, [ASTANA], lambda: NOW).fetch(session, NOW.date())


async def test_fetch_accepts_203_with_a_warning(upstream: Upstreams, caplog: pytest.LogCaptureFixture) -> None:
    upstream.fake.body["met_no"] = SAMPLE
    upstream.fake.status["met_no"] = 203
    with caplog.at_level(logging.WARNING, logger="providers.met_no"):
        async with aiohttp.ClientSession() as session:
            records = await met(upstream, [ASTANA], lambda: NOW).fetch(session, NOW.date())
    assert records[0].temperature == 28.2
    assert "203" in caplog.text


async def test_fetch_turns_a_step_that_cannot_be_a_utc_instant_into_a_format_error(upstream: Upstreams) -> None:
    upstream.fake.body["met_no"] = variant(set_time("9999-12-31T23:00:00-12:00"))  # the step overflows in UTC
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await met(upstream, [ASTANA], lambda: T0).fetch(session, T0.date())
