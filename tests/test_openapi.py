"""/openapi.json is generated from the models, documents every route, and fuzzing from it finds no 5xx."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import string
import sys
import threading
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from tests.fakes import Upstream
from tests.redis_proc import free_port
from ticker.models import Rates, Readiness, Ticker, Weather
from ticker.render.query import QueryError, default_query, parse_query
from ticker.run.app import create_app
from ticker.settings import Settings
from ticker.web.appkeys import REFRESHER
from ticker.web.openapi import spec
from ticker.web.openapi_parameters import ALTERNATES

MODELS: dict[str, Any] = {"/v1/ticker": Ticker, "/v1/rates": Rates, "/v1/weather": Weather, "/readyz": Readiness}


def test_spec_is_openapi_3_1_built_from_the_models() -> None:
    document = spec()
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    generated = Ticker.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    assert schemas["Ticker"]["properties"] == generated["properties"]
    assert set(schemas["RateItem"]["properties"]) == {
        "currency", "rate", "change", "trend", "date", "source", "stale", "stale_at", "next",
    }  # fmt: skip
    assert set(schemas["NextRate"]["properties"]) == {"rate", "change", "trend", "date"}
    assert "stale_at" in schemas["WeatherItem"]["properties"]
    readiness = schemas["Readiness"]["properties"]
    assert {"tasks_down", "warnings"} <= set(readiness) and "reason" in schemas["SourceReport"]["properties"]
    refs = json.dumps(document)
    for name in ("Ticker", "Rates", "Weather", "Error", "Readiness"):
        assert f"#/components/schemas/{name}" in refs


class ServerThread:
    """The app and a fake upstream on their own loop in a thread, so hypothesis can drive it synchronously."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = asyncio.Event()
        self.outcomes: list[str] = []
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        upstream = Upstream()  # the app runs on the real clock, and so does its upstream
        upstream.nbk_date = None  # NBK's rates on every date: today's and, after 16:00 Astana, tomorrow's
        fake = web.AppRunner(upstream.app())
        await fake.setup()
        upstream_port = free_port()
        await web.TCPSite(fake, "127.0.0.1", upstream_port).start()
        url = f"http://127.0.0.1:{upstream_port}"
        sections: dict[str, Any] = {name: {"base_url": url} for name in ("nbk", "cbr", "open_meteo", "met_no")}
        settings_ = Settings(**sections)
        app = create_app(settings_, schedule=False)
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.outcomes = [await app[REFRESHER].run("nbk"), await app[REFRESHER].run("open_meteo")]
        self.ready.set()
        await self.stop.wait()
        await runner.cleanup()
        await fake.cleanup()

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert self.ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread() as running:
        assert running.outcomes == ["ok", "ok"]  # fuzz a strip that has data in it
        yield running


PATHS = sorted(spec()["paths"])
PARAMS = sorted({p["name"] for item in spec()["paths"].values() for p in item["get"].get("parameters", [])})
HEADERS = ("If-None-Match", "If-Modified-Since", "Accept-Encoding", "Origin", "Last-Event-ID")
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
texts = st.text(st.characters(codec="utf-8", exclude_categories=SURROGATES), max_size=30)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(PATHS),
    params=st.dictionaries(st.sampled_from(PARAMS) | texts, texts, max_size=4),
    headers=st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=3),
    method=st.sampled_from(["GET", "GET", "GET", "HEAD", "OPTIONS", "POST"]),
)
def test_fuzzing_every_documented_endpoint_finds_no_server_error(
    server: ServerThread, path: str, params: dict[str, str], headers: dict[str, str], method: str
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        target = path + ("?" + urlencode(params) if params else "")
        conn.request(method, target, headers=headers)
        resp = conn.getresponse()
        assert resp.status < 500, (method, target, headers, resp.status)
        if resp.status >= 400:
            assert resp.getheader("Content-Type", "").startswith("application/json")
            assert resp.getheader("Cache-Control") == "no-store"
            if method != "HEAD":
                assert "error" in json.loads(resp.read())
        elif path == "/v1/stream" and method == "GET":
            assert resp.read(6) == b"retry:"
        elif method == "GET" and resp.status == 200 and path in MODELS and not resp.getheader("Content-Encoding"):
            MODELS[path].model_validate_json(resp.read())
    finally:
        conn.close()


def test_the_case_alternates_are_every_character_that_folds_onto_an_ascii_letter() -> None:
    folding = {
        chr(cp)
        for cp in range(128, sys.maxunicode + 1)
        if any(len(f) == 1 and f in string.ascii_letters for f in (chr(cp).upper(), chr(cp).lower()))
    }
    assert folding == set(ALTERNATES)


def _pattern(document: dict[str, Any], name: str) -> str:
    params = document["paths"]["/v1/ticker"]["get"]["parameters"]
    pattern: str = next(p["schema"]["pattern"] for p in params if p["name"] == name)
    return pattern


LIST_ALPHABET = "USDEURBCNYusdeurbcnyASTNLMYastnlmy, \t\u017f\u0131\u212ax"


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(["currencies", "cities"]), value=st.text(st.sampled_from(LIST_ALPHABET), max_size=16))
def test_a_list_parameter_matches_its_pattern_exactly_when_the_service_accepts_it(name: str, value: str) -> None:
    """schemathesis holds the service to its spec both ways: a value the pattern allows must be answered 2xx, a
    value it forbids 4xx. Lists made of the configured values, commas, blanks and the odd case alternate."""
    defaults = Settings()
    query = default_query(defaults)
    try:
        parse_query(MultiDict({name: value}), query)
        accepted = True
    except QueryError:
        accepted = False
    assert bool(re.fullmatch(_pattern(spec(defaults), name), value)) == accepted, value
    for sample in ("USD,eur", " usd , CNY ", "astana", "Almaty,ASTANA,astana"):
        param = "cities" if sample.lower().strip().startswith(("astana", "almaty")) else "currencies"
        assert re.fullmatch(_pattern(spec(), param), sample)
    for sample in ("", ",", "USD,", "usd,,eur", "GBP", "astana almaty"):
        assert not re.fullmatch(_pattern(spec(), "currencies"), sample)
        assert not re.fullmatch(_pattern(spec(), "cities"), sample)


def test_the_spec_lists_the_configured_values() -> None:
    custom = Settings(currencies=["USD", "GBP"])
    pattern = _pattern(spec(custom), "currencies")
    assert re.fullmatch(pattern, "gbp,usd") and not re.fullmatch(pattern, "EUR")


def test_the_stream_events_are_described_with_their_json_data() -> None:
    media = spec()["paths"]["/v1/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    events = {e["properties"]["event"]["const"]: e for e in media["schema"]["oneOf"]}
    assert set(events) == {"ticker", "close"}
    data = events["ticker"]["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert data["contentSchema"] == {"$ref": "#/components/schemas/Ticker"}
