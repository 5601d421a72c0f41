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
from ticker.models import Air, Error, Health, History, Rates, Readiness, Ticker, Weather
from ticker.settings import DEFAULT_CITIES, Settings
from ticker.web.appkeys import SETTINGS
from ticker.web.history_view import CSV_HEADER, DEFAULT_DAYS, FORMATS, IMMUTABLE, MAX_DAYS
from ticker.web.openapi_parameters import char_class, spelled, strip_parameters

_REF = "#/components/schemas/{model}"


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


# the defaults, for spec() without a running app (tests, docs)
DEFAULT_CURRENCIES: tuple[str, ...] = tuple(Settings.model_fields["currencies"].get_default(call_default_factory=True))
DEFAULT_CITY_IDS: tuple[str, ...] = tuple(city.id for city in DEFAULT_CITIES)


def _history_path(currencies: tuple[str, ...]) -> dict[str, Any]:
    one = "|".join("".join(char_class(spelled(str.upper, c)) for c in code) for code in currencies)
    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

    def param(name: str, text: str, schema: dict[str, Any], example: str, required: bool = False) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": required, "description": text, "schema": schema,
                "example": example}  # fmt: skip

    csv = {
        "schema": {"type": "string"},
        "example": f"{CSV_HEADER}\r\n2026-03-31,{currencies[0]},478.77,-2.77\r\n",
    }
    return {
        "get": {
            "summary": "NBK's official rates for one currency, one value per date, as JSON or CSV",
            "description": "Ascending by date; a date not backfilled yet is missing, never filled in. At most "
            f"{MAX_DAYS} days per request (both ends included); `from` after `to` or a longer range is a 400. "
            f"A range that ends before today (Astana) and holds every date answers `Cache-Control: {IMMUTABLE}`; "
            "any other follows the strip's rates max-age. `format=csv`, or an `Accept` preferring `text/csv` to "
            "`application/json` (at equal q, JSON), answers CSV with "
            f"the header line `{CSV_HEADER}`. 404 while history is off (TICKER_HISTORY__DAYS=0).",
            "parameters": [
                param(
                    "currency",
                    "A configured ISO code (case-insensitive)",
                    {"type": "string", "pattern": f"^(?:{one})$"},
                    currencies[0],
                    required=True,
                ),
                param("from", f"First date, YYYY-MM-DD; default {DEFAULT_DAYS} days before `to`", day, "2026-03-01"),
                param("to", "Last date, YYYY-MM-DD; default today in Astana (UTC+5)", day, "2026-03-31"),
                param(
                    "format",
                    "json (default) or csv; overrides Accept",
                    {"type": "string", "enum": list(FORMATS)},
                    "csv",
                ),
            ],
            "responses": {
                "200": {
                    "description": "The rates held for the range; ETag for conditional requests",
                    "content": {"application/json": {"schema": _ref(History)}, "text/csv": csv},
                },
                "304": {"description": "Not modified since the validator the client sent"},
                "400": _json(
                    Error,
                    "Unknown, repeated or malformed parameter, or a reversed or too long range; "
                    "`parameter` names it and `allowed` what it takes",
                ),
                "404": _json(Error, "History is off"),
            },
        }
    }


def _title(name: str) -> str:
    """The first line of the provider class's docstring, up to its colon: "National Bank of Kazakhstan"."""
    doc = (REGISTRY[name].__doc__ or name).strip().splitlines()[0]
    return doc.partition(":")[0].strip()


def _sources(kind: Kind) -> str:
    return ", ".join(f"`{name}` ({_title(name)})" for name in names_of(kind))


def _describe_sources(schemas: dict[str, Any]) -> None:
    """Name the registered sources where the JSON carries a source name."""
    models: tuple[tuple[str, Kind], ...] = (("RateItem", "rates"), ("WeatherItem", "weather"), ("AirItem", "air"))
    for model, kind in models:
        field = schemas.get(model, {}).get("properties", {}).get("source")
        if field is not None:
            field["description"] = f"the source that supplied this value, one of {_sources(kind)}; null before data"
    report = schemas.get("SourceReport", {}).get("properties", {}).get("source")
    if report is not None:
        report["description"] = f"a configured source: {', '.join(REGISTRY)}"


def _strip_path(model: type, summary: str, parameters: list[dict[str, Any]], off: bool = False) -> dict[str, Any]:
    missing = {"404": _json(Error, "Air quality is off: TICKER_AIR_SOURCES is empty")} if off else {}
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": _json(
                    model,
                    "The strip; ETag/Last-Modified for conditional requests. While a kind shown has no value at "
                    "all (every rate null, or every temperature null) the nulls answer with `Cache-Control: "
                    "no-store` and never a 304: no cache keeps, or revalidates into, a strip without data",
                ),
                "304": {"description": "Not modified since the validator the client sent"},
                "400": _json(Error, "Unknown or malformed query parameter; `allowed` names the valid values"),
                **missing,
            },
        }
    }


def _format_path(media: str, summary: str, description: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole strip in another format: the same parameters, validators, 304 and JSON errors as /v1/ticker."""
    return {
        "get": {
            "summary": summary,
            "description": description,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The strip; ETag (its own, not the JSON's) and Last-Modified for conditional "
                    "requests; gzip or br on Accept-Encoding",
                    "content": {media: {"schema": {"type": "string"}}},
                },
                "304": {"description": "Not modified since the validator the client sent"},
                "400": _json(Error, "Unknown or malformed query parameter; `allowed` names the valid values"),
                "503": {
                    **_json(
                        Error,
                        "A kind shown has no value at all (every rate null, or every temperature null): nothing to "
                        "embed. `Cache-Control: no-store`, `Retry-After`, no validators, whatever the request's "
                        "conditionals: a cache in front keeps serving its last good copy (stale-if-error, nginx's "
                        "`proxy_cache_use_stale http_503`, Varnish's grace) and an include without one shows its "
                        "fallback. A partly filled strip is a 200",
                    ),
                    "headers": {
                        "Retry-After": {"description": "seconds", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                        "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
                    },
                },
            },
        }
    }


_TEXT = (
    "One line of UTF-8 text: `Astana: 22 °C  Almaty: −4 °C  USD 478.77  EUR 548.62`. Temperatures first, then "
    "rates, each in the configured (or asked) order, joined by two spaces; temperatures rounded to a whole degree "
    "and rates to two decimals, half away from zero; negatives with U+2212 MINUS SIGN, never −0; a missing temperature "
    "is `– °C` and a missing rate `–` (U+2013 EN DASH). With air quality on, a city's index follows its temperature: "
    "`Almaty: −4 °C AQI 152` (`EAQI 47` on the European index)."
)
_HTML = (
    "An HTML fragment for server-side includes (nginx SSI, ESI, PHP, WordPress): one root "
    '`<div class="ticker-strip">`, no script, no style, no external resource, every text escaped. Classes: '
    "`ticker-item`, `ticker-stale`, `ticker-city`, `ticker-temperature`, `ticker-condition "
    "ticker-condition-<condition>`, `ticker-currency`, `ticker-rate`, `ticker-trend ticker-up|ticker-down|"
    "ticker-flat`, `ticker-air ticker-aqi-<category>` (`ticker-aqi-index`, `ticker-aqi`, `ticker-aqi-category`: "
    "the index and its category in words), `ticker-attribution` (links crediting the sources shown). Icons are "
    "characters with `role=img` and an `aria-label` in `lang`."
)


def _sse_event(name: str, data: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "id": {"type": "string", "description": "the strip's ETag (without quotes), the same on every replica"},
            "retry": {"type": "integer"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
        },
    }


def spec(settings: Settings | None = None) -> dict[str, Any]:
    """The document for these settings' currencies and cities (the defaults without settings)."""
    if settings is None:
        return _spec(DEFAULT_CURRENCIES, DEFAULT_CITY_IDS)
    return _spec(tuple(settings.currencies), tuple(city.id for city in settings.cities))


@cache
def _spec(currencies: tuple[str, ...], cities: tuple[str, ...]) -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "serialization") for m in (Ticker, Rates, Weather, Air, History, Error, Readiness, Health)],
        ref_template=_REF,
    )
    _describe_sources(defs["$defs"])
    parameters = strip_parameters(currencies, cities)
    closing = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}
    # OpenAPI 3.1 has no itemSchema: the schema of an event-stream describes one event, as its fields
    event = {
        "oneOf": [
            _sse_event("ticker", _ref(Ticker), "the strip (a Ticker, as JSON) now and on every change"),
            _sse_event("close", closing, "the server is shutting down: reconnect (elsewhere) after `retry` ms"),
        ]
    }
    stream_ok = {
        "description": "text/event-stream: `retry`, then `ticker` events whose data is a Ticker as JSON, "
        "`: keep-alive` comments, and a final `close` event on shutdown",
        "content": {"text/event-stream": {"schema": event}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ticker",
            "version": __version__,
            "description": "KZT exchange rates and city temperatures, as a header strip for web pages. "
            f"Rate sources: {_sources('rates')}. Weather sources: {_sources('weather')}. Air-quality sources "
            f"(off unless `TICKER_AIR_SOURCES` names one): {_sources('air')}. "
            "`TICKER_RATE_SOURCES`, `TICKER_WEATHER_SOURCES` and `TICKER_AIR_SOURCES` choose and order them.\n\n"
            "Time (Astana is UTC+5): a rate is current on the Astana date it is in force on (NBK dates every "
            "calendar day; CBR's Saturday document is in force through Monday); a rate dated tomorrow is never "
            "current, it is `next` until Astana midnight, when it becomes `rate` without a fetch. A temperature "
            "is current until its own `observed_at` + its source's cadence (Open-Meteo 900 s, as its answers say; "
            "MET Norway 3600 s) + STALE_AFTER (default 2 x INTERVAL); air quality likewise (Open-Meteo's hourly "
            "readings: 3600 s); per item the newest reading is shown, whichever source brought it. Every item "
            "carries `stale_at`, the instant it turns stale if nothing newer arrives; `max-age` never outlives the "
            "earliest one. `updated_at` and Last-Modified come from data times: never in the future, never "
            "backwards. /readyz lists each source's reason and the cross-check `warnings`.",
        },
        "paths": {
            "/v1/ticker": _strip_path(Ticker, "Rates and weather, in configured order", parameters),
            "/v1/rates": _strip_path(Rates, "Rates only", parameters),
            "/v1/weather": _strip_path(Weather, "Weather only", parameters),
            "/v1/air": _strip_path(Air, "Air quality per city (modelled, not measured)", parameters, off=True),
            "/v1/rates/history": _history_path(currencies),
            "/v1/ticker.txt": _format_path("text/plain", "The strip as one line of text", _TEXT, parameters),
            "/v1/ticker.html": _format_path("text/html", "The strip as an HTML fragment", _HTML, parameters),
            "/v1/stream": {
                "get": {
                    "summary": "Server-Sent Events: the strip now and on every change",
                    "parameters": parameters,
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


def _body(settings: Settings) -> bytes:
    return json.dumps(spec(settings)).encode()


async def handler(request: web.Request) -> web.Response:
    return web.Response(
        body=_body(request.app[SETTINGS]),
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )
