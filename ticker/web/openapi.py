"""GET /openapi.json: OpenAPI 3.1 whose schemas are generated from the response models."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from providers import REGISTRY, names_of
from providers.base import Kind
from ticker import __version__
from ticker.models import Error, Health, History, Rates, Readiness, Ticker, Weather
from ticker.render.query import KNOWN
from ticker.settings import DEFAULT_CITIES, LANGS, Settings
from ticker.web.appkeys import SETTINGS
from ticker.web.history_view import CSV_HEADER, DEFAULT_DAYS, FORMATS, IMMUTABLE, MAX_DAYS

_REF = "#/components/schemas/{model}"


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


# the defaults, for spec() without a running app (tests, docs)
DEFAULT_CURRENCIES: tuple[str, ...] = tuple(Settings.model_fields["currencies"].get_default(call_default_factory=True))
DEFAULT_CITY_IDS: tuple[str, ...] = tuple(city.id for city in DEFAULT_CITIES)


@cache
def _spelled(normalise: Callable[[str], str], char: str) -> frozenset[str]:
    """Every character that ``normalise`` (str.upper / str.lower, as render/query.py applies) turns into ``char``:
    "s" and "ſ" both upper to "S", so a pattern honest about what the service accepts lists both."""
    return frozenset({char} | {c for c in _ALTERNATES if normalise(c) == char} | {char.lower(), char.upper()})


# the non-ASCII characters whose upper or lower case is one ASCII letter: dotless ı -> I, long ſ -> S, Kelvin K -> k
# (tests/test_openapi.py checks this list against the whole of Unicode)
_ALTERNATES: tuple[str, ...] = ("\u0131", "\u017f", "\u212a")


def _char_class(chars: Iterable[str]) -> str:
    """An ECMA-262 character class (as JSON Schema's ``pattern`` reads it) of exactly these characters."""
    body = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(chars))
    return f"[{body}]"


def _list_pattern(allowed: Iterable[str], normalise: Callable[[str], str]) -> str:
    """The comma-separated lists of allowed values ticker/render/query.py accepts: items trimmed of white space and
    compared after ``normalise``; no empty item, no empty list."""
    words = [
        "".join(_char_class(_spelled(normalise, c)) if c.isalpha() else _char_class(c) for c in value)
        for value in allowed
    ]
    item = rf"\s*(?:{'|'.join(words)})\s*"
    return f"^{item}(?:,{item})*$"


def _parameters(currencies: tuple[str, ...], cities: tuple[str, ...]) -> list[dict[str, Any]]:
    described: dict[str, tuple[str, str, dict[str, Any]]] = {
        "currencies": (
            "Comma-separated ISO codes, a subset of the configured ones, in the order wanted (case-insensitive)",
            ",".join(currencies[:2]),
            {"type": "string", "pattern": _list_pattern(currencies, str.upper)},
        ),
        "cities": (
            "Comma-separated city ids, a subset of the configured ones, in the order wanted (case-insensitive)",
            cities[0],
            {"type": "string", "pattern": _list_pattern(cities, str.lower)},
        ),
        "lang": (f"Language of city names: {', '.join(LANGS)}", "ru", {"type": "string", "enum": list(LANGS)}),
    }
    out = []
    for name in KNOWN:
        text, example, schema = described[name]
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


def _history_path(currencies: tuple[str, ...]) -> dict[str, Any]:
    one = "|".join("".join(_char_class(_spelled(str.upper, c)) for c in code) for code in currencies)
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
            "any other follows the strip's rates max-age. `format=csv` or `Accept: text/csv` answers CSV with "
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
    models: tuple[tuple[str, Kind], ...] = (("RateItem", "rates"), ("WeatherItem", "weather"))
    for model, kind in models:
        field = schemas.get(model, {}).get("properties", {}).get("source")
        if field is not None:
            field["description"] = f"the source that supplied this value, one of {_sources(kind)}; null before data"
    report = schemas.get("SourceReport", {}).get("properties", {}).get("source")
    if report is not None:
        report["description"] = f"a configured source: {', '.join(REGISTRY)}"


def _strip_path(model: type, summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": _json(model, "The strip; ETag/Last-Modified for conditional requests"),
                "304": {"description": "Not modified since the validator the client sent"},
                "400": _json(Error, "Unknown or malformed query parameter; `allowed` names the valid values"),
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
            },
        }
    }


_TEXT = (
    "One line of UTF-8 text: `Astana: 22 °C  Almaty: −4 °C  USD 478.77  EUR 548.62`. Temperatures first, then "
    "rates, each in the configured (or asked) order, joined by two spaces; temperatures rounded to a whole degree "
    "and rates to two decimals, half away from zero; negatives with U+2212 MINUS SIGN, never −0; a missing value "
    "is U+2013 EN DASH."
)
_HTML = (
    "An HTML fragment for server-side includes (nginx SSI, ESI, PHP, WordPress): one root "
    '`<div class="ticker-strip">`, no script, no style, no external resource, every text escaped. Classes: '
    "`ticker-item`, `ticker-stale`, `ticker-city`, `ticker-temperature`, `ticker-condition "
    "ticker-condition-<condition>`, `ticker-currency`, `ticker-rate`, `ticker-trend ticker-up|ticker-down|"
    "ticker-flat`, `ticker-attribution` (links crediting the sources shown). Icons are characters with "
    "`role=img` and an `aria-label` in `lang`."
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
        [(m, "serialization") for m in (Ticker, Rates, Weather, History, Error, Readiness, Health)], ref_template=_REF
    )
    _describe_sources(defs["$defs"])
    parameters = _parameters(currencies, cities)
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
            f"Rate sources: {_sources('rates')}. Weather sources: {_sources('weather')}. "
            "`TICKER_RATE_SOURCES` and `TICKER_WEATHER_SOURCES` choose and order them.\n\n"
            "Time (Astana is UTC+5): a rate is current on the Astana date it is in force on (NBK dates every "
            "calendar day; CBR's Saturday document is in force through Monday); a rate dated tomorrow is never "
            "current, it is `next` until Astana midnight, when it becomes `rate` without a fetch. A temperature "
            "is current until its own `observed_at` + its source's cadence (Open-Meteo 900 s, as its answers say; "
            "MET Norway 3600 s) + STALE_AFTER (default 2 x INTERVAL); per item the newest reading is shown, "
            "whichever source brought it. Every item carries "
            "`stale_at`, the instant it turns stale if nothing newer arrives; `max-age` never outlives the "
            "earliest one. `updated_at` and Last-Modified come from data times: never in the future, never "
            "backwards. /readyz lists each source's reason and the cross-check `warnings`.",
        },
        "paths": {
            "/v1/ticker": _strip_path(Ticker, "Rates and weather, in configured order", parameters),
            "/v1/rates": _strip_path(Rates, "Rates only", parameters),
            "/v1/weather": _strip_path(Weather, "Weather only", parameters),
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
