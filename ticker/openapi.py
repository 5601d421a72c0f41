"""GET /openapi.json: OpenAPI 3.1 whose schemas are generated from the response models."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from providers import REGISTRY, names_of
from providers.base import Kind
from ticker import __version__
from ticker.models import Error, Health, Rates, Readiness, Ticker, Weather
from ticker.query import KNOWN
from ticker.settings import LANGS

_REF = "#/components/schemas/{model}"


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _parameters() -> list[dict[str, Any]]:
    described = {
        "currencies": (
            "Comma-separated ISO codes, a subset of the configured ones, in the order wanted",
            "USD,EUR",
        ),
        "cities": (
            "Comma-separated city ids, a subset of the configured ones, in the order wanted",
            "astana",
        ),
        "lang": (f"Language of city names: {', '.join(LANGS)}", "ru"),
    }
    out = []
    for name in KNOWN:
        text, example = described[name]
        schema: dict[str, Any] = {"type": "string"}
        if name == "lang":
            schema["enum"] = list(LANGS)
        out.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": schema,
                "example": example,
            }
        )
    return out


def _title(name: str) -> str:
    """The first line of the provider class's docstring, up to its colon: "National Bank of Kazakhstan"."""
    doc = (REGISTRY[name].__doc__ or name).strip().splitlines()[0]
    return doc.partition(":")[0].strip()


def _sources(kind: Kind) -> str:
    return ", ".join(f"`{name}` ({_title(name)})" for name in names_of(kind))


def _describe_sources(schemas: dict[str, Any]) -> None:
    """Name the registered sources where the JSON carries a source name."""
    models: tuple[tuple[str, Kind], ...] = (("RateItem", "rates"), ("WeatherItem", "weather"))
    for model, kind in models:
        field = schemas.get(model, {}).get("properties", {}).get("source")
        if field is not None:
            field["description"] = f"the source that supplied this value, one of {_sources(kind)}; null before data"
    report = schemas.get("SourceReport", {}).get("properties", {}).get("source")
    if report is not None:
        report["description"] = f"a configured source: {', '.join(REGISTRY)}"


def _strip_path(model: type, summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": _parameters(),
            "responses": {
                "200": _json(model, "The strip; ETag/Last-Modified for conditional requests"),
                "304": {"description": "Not modified since the validator the client sent"},
                "400": _json(Error, "Unknown or malformed query parameter; `allowed` names the valid values"),
            },
        }
    }


@cache
def spec() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "serialization") for m in (Ticker, Rates, Weather, Error, Readiness, Health)], ref_template=_REF
    )
    _describe_sources(defs["$defs"])
    stream_ok = {
        "description": "text/event-stream of `ticker` events whose data is a Ticker",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ticker",
            "version": __version__,
            "description": "KZT exchange rates and city temperatures, as a header strip for web pages. "
            f"Rate sources: {_sources('rates')}. Weather sources: {_sources('weather')}. "
            "`TICKER_RATE_SOURCES` and `TICKER_WEATHER_SOURCES` choose and order them.\n\n"
            "Time (Astana is UTC+5): a rate is current on the Astana date it is in force on (NBK dates every "
            "calendar day; CBR's Saturday document is in force through Monday); a rate dated tomorrow is never "
            "current, it is `next` until Astana midnight, when it becomes `rate` without a fetch. A temperature "
            "is current while its own `observed_at` is within its source's STALE_AFTER. Every item carries "
            "`stale_at`, the instant it turns stale if nothing newer arrives; `max-age` never outlives the "
            "earliest one. `updated_at` and Last-Modified come from data times: never in the future, never "
            "backwards. /readyz lists each source's reason and the cross-check `warnings`.",
        },
        "paths": {
            "/v1/ticker": _strip_path(Ticker, "Rates and weather, in configured order"),
            "/v1/rates": _strip_path(Rates, "Rates only"),
            "/v1/weather": _strip_path(Weather, "Weather only"),
            "/v1/stream": {
                "get": {
                    "summary": "Server-Sent Events: the strip now and on every change",
                    "parameters": _parameters(),
                    "responses": {"200": stream_ok, "400": _json(Error, "Bad query")},
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(Health, "Alive")}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness: every data kind has data",
                    "responses": {
                        "200": _json(Readiness, "Ready"),
                        "503": _json(Readiness, "Not ready; `reason` says why"),
                    },
                }
            },
        },
        "components": {"schemas": defs["$defs"]},
    }


async def handler(request: web.Request) -> web.Response:
    return web.Response(
        body=json.dumps(spec()).encode(),
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )
