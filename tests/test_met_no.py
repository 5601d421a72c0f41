"""MET Norway: the step choice of the pure parser; the polite client (UA, 4 decimals, Expires, 304)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import ValidationError
from pytest_aiohttp import AiohttpServer

from providers.base import Location, Temperature
from providers.errors import FormatError, UpstreamStatusError
from providers.met_no import Config, MetNo
from providers.met_no_forecast import parse

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


# --- the client over loopback HTTP ------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.Response]]


class Upstream:
    """Counts and keeps every request; answers with ``respond`` (the sample with cache headers by default)."""

    def __init__(self, expires: datetime, respond: Handler | None = None) -> None:
        self.requests: list[web.Request] = []
        self.expires = expires
        self.respond = respond or self.sample

    async def sample(self, request: web.Request) -> web.Response:
        headers = {"Expires": format_datetime(self.expires, usegmt=True), "Last-Modified": LAST_MODIFIED}
        return web.json_response(body=SAMPLE, headers=headers)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        return await self.respond(request)

    async def provider(
        self, aiohttp_server: AiohttpServer, locations: list[Location], clock: Callable[[], datetime]
    ) -> MetNo:
        app = web.Application()
        app.router.add_get("/weatherapi/locationforecast/2.0/compact", self.handle)
        server = await aiohttp_server(app)
        config = Config(base_url=f"http://{server.host}:{server.port}", timeout=5, user_agent=UA)
        return MetNo(config, locations, clock)


async def test_fetch_identifies_itself_and_sends_at_most_four_decimals(aiohttp_server: AiohttpServer) -> None:
    upstream = Upstream(expires=NOW + timedelta(minutes=30))
    sydney = Location(id="sydney", latitude=-33.86882, longitude=151.20929)
    provider = await upstream.provider(aiohttp_server, [ASTANA, ALMATY, sydney], lambda: NOW)
    async with aiohttp.ClientSession() as session:
        records = await provider.fetch(session, NOW.date())

    assert records == [
        Temperature(
            city=city, temperature=28.2, observed_at=datetime(2026, 7, 15, 10, tzinfo=UTC), condition="clear"
        )  # fair_day
        for city in ("astana", "almaty", "sydney")
    ]
    sent = {(r.query["lat"], r.query["lon"]) for r in upstream.requests}
    assert sent == {("51.1801", "71.446"), ("43.2565", "76.9285"), ("-33.8688", "151.2093")}
    for request in upstream.requests:
        assert request.headers["User-Agent"] == UA
        assert "If-Modified-Since" not in request.headers
        for value in (request.query["lat"], request.query["lon"]):
            assert len(value.partition(".")[2]) <= 4
    assert (MetNo.name, MetNo.kind) == ("met_no", "weather")


async def test_fetch_honours_expires_then_revalidates_with_last_modified(
    aiohttp_server: AiohttpServer,
) -> None:
    clock = [NOW]
    upstream = Upstream(expires=NOW + timedelta(minutes=45))

    async def revalidate(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            upstream.expires = clock[0] + timedelta(minutes=30)
            return web.Response(status=304, headers={"Expires": format_datetime(upstream.expires, usegmt=True)})
        return await upstream.sample(request)

    upstream.respond = revalidate
    provider = await upstream.provider(aiohttp_server, [ASTANA], lambda: clock[0])
    async with aiohttp.ClientSession() as session:
        first = await provider.fetch(session, NOW.date())
        clock[0] = NOW + timedelta(minutes=35)  # 11:05, before Expires: no request, re-picked from the cache
        second = await provider.fetch(session, NOW.date())
        assert len(upstream.requests) == 1

        clock[0] = NOW + timedelta(minutes=46)  # past Expires: a conditional request, answered 304
        third = await provider.fetch(session, NOW.date())
        assert len(upstream.requests) == 2
        assert upstream.requests[1].headers["If-Modified-Since"] == LAST_MODIFIED

        clock[0] = NOW + timedelta(minutes=70)  # the 304 carried a new Expires (minute 76)
        fourth = await provider.fetch(session, NOW.date())
        assert len(upstream.requests) == 2

    assert (first[0].observed_at.hour, first[0].temperature) == (10, 28.2)
    assert (second[0].observed_at.hour, second[0].temperature) == (11, 28.3)
    assert third == second
    assert fourth == second


async def test_fetch_replaces_the_cache_on_a_new_200(aiohttp_server: AiohttpServer) -> None:
    clock = [NOW]
    upstream = Upstream(expires=NOW + timedelta(minutes=30))
    provider = await upstream.provider(aiohttp_server, [ASTANA], lambda: clock[0])
    async with aiohttp.ClientSession() as session:
        await provider.fetch(session, NOW.date())
        newer = variant(set_temperature(-3.5, index=2))  # the 11:00 step

        async def changed(request: web.Request) -> web.Response:
            return web.json_response(body=newer, headers={"Last-Modified": "Wed, 15 Jul 2026 09:51:17 GMT"})

        upstream.respond = changed
        clock[0] = NOW + timedelta(minutes=31)
        records = await provider.fetch(session, NOW.date())
        assert records[0].temperature == -3.5
        clock[0] = NOW + timedelta(minutes=32)  # no Expires on the last answer: ask again, with the new date
        await provider.fetch(session, NOW.date())
    assert [r.headers.get("If-Modified-Since") for r in upstream.requests] == [
        None,
        LAST_MODIFIED,
        "Wed, 15 Jul 2026 09:51:17 GMT",
    ]


@pytest.mark.parametrize(
    ("status", "headers", "retry_after", "transient"),
    [(403, {}, None, False), (429, {"Retry-After": "120"}, 120.0, True)],
)
async def test_fetch_refusals_are_status_errors(
    aiohttp_server: AiohttpServer,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
    transient: bool,
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=status, text="Forbidden", headers=headers)

    upstream = Upstream(expires=NOW, respond=refuse)
    provider = await upstream.provider(aiohttp_server, [ASTANA, ALMATY], lambda: NOW)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await provider.fetch(session, NOW.date())
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert caught.value.transient is transient


async def test_fetch_returns_the_cities_that_worked(
    aiohttp_server: AiohttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream(expires=NOW + timedelta(minutes=30))

    async def almaty_fails(request: web.Request) -> web.Response:
        if request.query["lat"] == "43.2565":
            return web.Response(status=500, text="oops")
        return await upstream.sample(request)

    upstream.respond = almaty_fails
    provider = await upstream.provider(aiohttp_server, [ASTANA, ALMATY], lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="providers.met_no"):
        async with aiohttp.ClientSession() as session:
            records = await provider.fetch(session, NOW.date())
    assert [record.city for record in records] == ["astana"]
    assert "almaty" in caplog.text


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b"<!DOCTYPE html><html><body>maintenance</body></html>"), (200, b'{"properties": {}}')],
    ids=["html-200", "json-without-timeseries"],
)
async def test_fetch_bad_body_is_a_format_error(aiohttp_server: AiohttpServer, status: int, body: bytes) -> None:
    async def bad(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    provider = await Upstream(expires=NOW, respond=bad).provider(aiohttp_server, [ASTANA], lambda: NOW)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await provider.fetch(session, NOW.date())


async def test_fetch_accepts_203_with_a_warning(
    aiohttp_server: AiohttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def deprecated(request: web.Request) -> web.Response:
        return web.json_response(body=SAMPLE, status=203)

    provider = await Upstream(expires=NOW, respond=deprecated).provider(aiohttp_server, [ASTANA], lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="providers.met_no"):
        async with aiohttp.ClientSession() as session:
            records = await provider.fetch(session, NOW.date())
    assert records[0].temperature == 28.2
    assert "203" in caplog.text


async def test_fetch_turns_a_step_that_cannot_be_a_utc_instant_into_a_format_error(
    aiohttp_server: AiohttpServer,
) -> None:
    body = variant(set_time("9999-12-31T23:00:00-12:00"))  # the step picked overflows datetime in UTC

    async def absurd(request: web.Request) -> web.Response:
        return web.json_response(body=body)

    provider = await Upstream(expires=NOW, respond=absurd).provider(aiohttp_server, [ASTANA], lambda: T0)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await provider.fetch(session, T0.date())
