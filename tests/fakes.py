"""One fake of the upstreams over real HTTP: NBK, CBR, Open-Meteo (forecast and air quality) and MET Norway in their
real wire formats,
with real publication timing read from an injected clock, and every fault a real server shows (status codes, hangs,
truncation, HTML with 200, bombs, giants, a dropped connection).

The tests serve ``Upstream().app()`` with aiohttp's test server; ``scripts/fake_upstream.py`` is a command line
around the same class. Only the standard library and aiohttp: the container test runs it outside the image.

Time: every date the fake answers comes from ``clock`` (an aware UTC datetime; the wall clock by default).

* NBK dates every calendar date. The fake holds documents per date (``nbk_days``; by default the one document of
  ``nbk_date`` with ``rates``, or, with ``nbk_date = None``, ``rates`` on every date) and publishes them through
  ``nbk_published_through`` (by default: today in Astana, and tomorrow from 16:00 Astana).
  ``get_rates.cfm?fdate=D`` answers the newest held document dated D or before, never a date after the publication
  frontier: for a date not published yet it answers the latest published document, with its own ``<date>``. What the
  real NBK answers for a future date has never been observed; this is the fake's choice.
  ``rates_all.xml`` answers the newest published document as RSS with a ``<pubDate>`` per item.
* CBR sets rates on business days (Monday to Friday, less ``cbr_closed``) for the next calendar date, which is the
  document's ``Date``: documents are dated Tuesday to Saturday, and Saturday's is in force through Monday. The one
  dated D is published at 15:30 Moscow on the day before D (or set ``cbr_published_through``).
  ``XML_daily.asp?date_req=A`` answers the newest document dated A or before (the one in force on A) among the
  published; without ``date_req``, the newest published (tomorrow's, in the evening).
* Open-Meteo's ``current.time`` is the clock's now in UTC+5 floored to 15 minutes, unless ``local_time`` is set.
* MET Norway's steps are hourly around the clock's now less ``met_no_age``.
* Open-Meteo Air Quality's ``current.time`` is the clock's now in GMT floored to the hour (``air_time`` overrides it),
  ``interval`` 3600; ``us_aqi``, ``european_aqi``, ``pm2_5`` and ``pm10`` cycle through ``air`` like temperatures.
* The sky: Open-Meteo's ``weather_code`` cycles through ``weather_codes`` like ``temperatures``; MET's
  ``symbol_code`` is ``met_no_symbol`` on every step. Either may be set to anything, malformed included.

Faults and crafted bodies apply to every route of a source, or to one path (``fault["/rss/rates_all.xml"]``).
"slow", "parked" and "overlong" send their headers and a first piece, then hold the rest until ``release``:
"parked" 4 KiB chunked, "overlong" a Content-Length of 10 MB (a cap refuses both without waiting for the rest).

Fault "down" closes the connection without an answer (one server cannot refuse connections). aiohttp's
ClientSession retries an idempotent request once on ServerDisconnectedError, so each attempt reaches the fake
twice (aiohttp's TestClient does not retry). For a truly refused connection, point a base URL at a closed port.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

SAMPLES = Path(__file__).parent / "samples"
ASTANA = timezone(timedelta(hours=5))
MOSCOW = timezone(timedelta(hours=3))
NBK_PUBLISHES = time(16, 0)  # Astana: tomorrow's rates are out by then (15:30 USD fixing, 16:00 crosses)
CBR_PUBLISHES = time(15, 30)  # Moscow

Clock = Callable[[], datetime]
NbkRates = dict[str, tuple[str, int, str, str]]  # code -> (description: KZT per quant, quant, index, change)
CbrRates = dict[str, tuple[int, str]]  # code -> (nominal, RUB per nominal with a decimal comma)

# source -> fault; "ok" serves data. A fault applies to every route of that source.
FAULTS = (
    "ok", "400", "403", "404", "429", "500", "503", "hang", "slow", "parked", "overlong", "truncated", "html", "empty",
    "bomb", "huge", "absurd", "wrongroot", "streamerror", "down",
)  # fmt: skip

ROUTES = {
    "/rss/get_rates.cfm": "nbk",
    "/rss/rates_all.xml": "nbk",
    "/scripts/XML_daily.asp": "cbr",
    "/v1/forecast": "open_meteo",
    "/weatherapi/locationforecast/2.0/compact": "met_no",
    "/v1/air-quality": "open_meteo_air",
}
SOURCES = ("nbk", "cbr", "open_meteo", "met_no", "open_meteo_air")
CONTENT_TYPES = {
    "nbk": "text/xml; charset=UTF-8",
    "cbr": "text/xml; charset=windows-1251",
    "open_meteo": "application/json; charset=utf-8",
    "met_no": "application/json",
    "open_meteo_air": "application/json; charset=utf-8",
}

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rates><date>01.04.2026</date><item><title>USD</title><description>&lol9;</description></item></rates>"""

HTML = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"

CBR_SAMPLE = (SAMPLES / "cbr" / "cbr_xml_daily.xml").read_bytes()  # real, 25.04.2026, windows-1251
CBR_IDS = {"USD": "R01235", "EUR": "R01239", "CNY": "R01375", "KZT": "R01335", "GBP": "R01035", "JPY": "R01820"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def nbk_xml(rates: NbkRates, day: str) -> bytes:
    """get_rates.cfm's document: code -> (description, quant, index, change)."""
    items = "".join(
        f"""
            <item>
            <fullname>ВАЛЮТА</fullname>
            <title>{code}</title>
            <description>{value}</description>
            <quant>{quant}</quant>
            <index>{index}</index>
            <change>{change}</change>
            </item>"""
        for code, (value, quant, index, change) in rates.items()
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rates>
    <generator>Alternate RSS Builder</generator>
    <title>Official exchange rates of National Bank of Republic Kazakhstan</title>
    <link>www.nationalbank.kz</link>
    <description>Official exchange rates of National Bank of Republic Kazakhstan</description>
    <copyright>www.nationalbank.kz</copyright>
    <date>{day}</date>
{items}
            </rates>""".encode()


def nbk_rss(rates: NbkRates, day: str) -> bytes:
    """rates_all.xml's document: every item carries its own pubDate (DD.MM.YYYY, as since 2024)."""
    items = "".join(
        f"<item><title>{code}</title><pubDate>{day}</pubDate><description>{value}</description>"
        f"<quant>{quant}</quant><index>{index}</index><change>{change}</change><link /></item>\n"
        for code, (value, quant, index, change) in rates.items()
    )
    title = "Official exchange rates of National Bank of Republic Kazakhstan"
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<generator>Alternate RSS Builder</generator><title>{title}</title><link>www.nationalbank.kz</link>
<description>{title}</description><language>ru</language><copyright>www.nationalbank.kz</copyright>
{items}</channel></rss>""".encode()


def nbk_rates_of(document: bytes) -> NbkRates:
    """The rates of an NBK get_rates.cfm document (a trusted sample: tests/samples/nbk), in its order."""
    root = ElementTree.fromstring(document)
    return {
        item.findtext("title", ""): (
            item.findtext("description", ""), int(item.findtext("quant", "1")), item.findtext("index", ""),
            item.findtext("change", ""),
        )
        for item in root.iter("item")
    }  # fmt: skip


NBK_ALL = SAMPLES / "nbk" / "nbk_get_rates_2026-04-01.xml"  # real: every currency NBK publishes


def cbr_xml(day: date, rates: CbrRates | None = None) -> bytes:
    """XML_daily.asp's document dated ``day``: the real sample re-dated, or one generated from ``rates``."""
    if rates is None:
        return re.sub(rb'Date="[^"]*"', f'Date="{day:%d.%m.%Y}"'.encode(), CBR_SAMPLE, count=1)
    valutes = "".join(
        f'<Valute ID="{CBR_IDS.get(code, "R01000")}"><NumCode>000</NumCode><CharCode>{code}</CharCode>'
        f"<Nominal>{nominal}</Nominal><Name>Валюта {code}</Name><Value>{value}</Value>"
        f"<VunitRate>{_comma(Decimal(value.replace(',', '.')) / nominal)}</VunitRate></Valute>"
        for code, (nominal, value) in rates.items()
    )
    text = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        f'<ValCurs Date="{day:%d.%m.%Y}" name="Foreign Currency Market">{valutes}</ValCurs>'
    )
    return text.encode("windows-1251")


def _comma(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return text.replace(".", ",")


def open_meteo_point(
    index: int, temperature: float | None, local_time: str, weather_code: object = 3
) -> dict[str, Any]:
    """One location's ``current=temperature_2m,weather_code`` object (``weather_code`` as given, even malformed)."""
    point: dict[str, Any] = {
        "latitude": 51.125 + index,
        "longitude": 71.375 + index,
        "generationtime_ms": 0.021,
        "utc_offset_seconds": 18000,
        "timezone": "Asia/Almaty",
        "timezone_abbreviation": "GMT+5",
        "elevation": 350.0,
    }
    if index:
        point["location_id"] = index
    point["current_units"] = {
        "time": "iso8601", "interval": "seconds", "temperature_2m": "°C", "weather_code": "wmo code",
    }  # fmt: skip
    point["current"] = {
        "time": local_time, "interval": 900, "temperature_2m": temperature, "weather_code": weather_code,
    }  # fmt: skip
    return point


AirValues = tuple[float | None, float | None, float | None, float | None]  # us_aqi, european_aqi, pm2_5, pm10


def open_meteo_air_point(index: int, values: AirValues, gmt_time: str) -> dict[str, Any]:
    """One location's ``current=us_aqi,european_aqi,pm2_5,pm10&timezone=GMT`` object."""
    point: dict[str, Any] = {
        "latitude": 51.2 + index, "longitude": 71.399994 + index, "generationtime_ms": 0.2149,
        "utc_offset_seconds": 0, "timezone": "GMT", "timezone_abbreviation": "GMT", "elevation": 350.0,
    }  # fmt: skip
    if index:
        point["location_id"] = index
    point["current_units"] = {
        "time": "iso8601", "interval": "seconds", "us_aqi": "USAQI", "european_aqi": "EAQI",
        "pm2_5": "μg/m³", "pm10": "μg/m³",
    }  # fmt: skip
    us, eu, pm2_5, pm10 = values
    point["current"] = {
        "time": gmt_time, "interval": 3600, "us_aqi": us, "european_aqi": eu, "pm2_5": pm2_5, "pm10": pm10,
    }  # fmt: skip
    return point


def met_no_doc(temperature: float, at: datetime, symbol: object = "cloudy") -> bytes:
    """Hourly steps from an hour before ``at`` to two after; the value rises a degree an hour. Every step but the
    last carries ``symbol`` as its next_1_hours and next_6_hours ``symbol_code`` (None: no next_* blocks)."""
    series: list[dict[str, Any]] = [
        {"time": (at + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "data": {"instant": {"details": {"air_temperature": temperature + h}}}}
        for h in range(-1, 3)
    ]  # fmt: skip
    if symbol is not None:
        for step in series[:-1]:  # the last step carries only instant, as MET's last entries do
            step["data"]["next_1_hours"] = {"summary": {"symbol_code": symbol}, "details": {}}
            step["data"]["next_6_hours"] = {"summary": {"symbol_code": symbol}, "details": {}}
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [71.446, 51.1801, 358]},
            "properties": {
                "meta": {"updated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "units": {}},
                "timeseries": series,
            },
        }
    ).encode()


def _day(text: str | None, fmt: str) -> date | None:
    try:
        return datetime.strptime(text or "", fmt).date()
    except ValueError:
        return None


class Upstream:
    """The four upstreams on one aiohttp app. Every attribute may be changed between requests."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock
        self.hits: Counter[str] = Counter()  # per source
        self.paths: Counter[str] = Counter()  # per path, for /_stats
        self.fault: dict[str, str] = {}  # source, or one of its paths (NBK has two), -> one of FAULTS
        self.retry_after: str | None = "120"  # the 429 fault's Retry-After; None: the 429 sends none
        self.body: dict[str, bytes] = {}  # source or path -> a crafted body served with 200 instead of the document
        self.fault_of: Callable[[web.Request], str | None] | None = None  # a fault per request (one city's), first
        self.extra_headers: dict[str, dict[str, str]] = {}  # source -> headers over its answer's (Expires, ...)
        self.status: dict[str, int] = {}  # source -> the status its answer is sent with (203: MET's deprecation)
        # NBK
        self.rates: NbkRates = {
            "USD": ("478.77", 1, "DOWN", "-2.77"),
            "EUR": ("548.62", 1, "UP", "+1.05"),
            "RUB": ("5.87", 1, "", "0.00"),
            "CNY": ("69.31", 1, "DOWN", "-0.40"),
            "KRW": ("31.29", 100, "DOWN", "-0.47"),
        }
        self.nbk_date: str | None = "01.04.2026"  # DD.MM.YYYY; None: ``rates`` on every date
        self.nbk_days: dict[date, NbkRates] = {}  # when set, the documents held, replacing rates/nbk_date
        self.nbk_published_through: date | None = None  # None: today in Astana, tomorrow from 16:00
        self.nbk_hang: set[date] = set()  # get_rates.cfm for these fdates hangs until ``release`` (the others answer)
        # CBR
        self.cbr_rates: CbrRates | None = None  # None: the real sample's values
        self.cbr_closed: set[date] = set()  # weekdays CBR sets no rate (Russian holidays)
        self.cbr_published_through: date | None = None  # None: tomorrow's document from 15:30 Moscow
        # Open-Meteo
        self.temperatures: list[float | None] = [-3.4, 12.0, 21.5]  # cycled over the points asked; None is null
        self.weather_codes: list[object] = [71, 3, 0]  # WMO codes cycled like temperatures (snow, overcast, clear)
        self.local_time: str | None = None  # "YYYY-MM-DDTHH:MM" in UTC+5; None: the clock's, floored to 15 min
        # Open-Meteo Air Quality: cycled over the points asked like temperatures
        self.air: list[AirValues] = [(74, 47, 23.4, 31.9), (152, 101, 57.8, 66.1), (38, 18, 8.2, 12.5)]
        self.air_time: str | None = None  # "YYYY-MM-DDTHH:MM" in GMT; None: the clock's, floored to the hour
        # MET Norway
        self.met_no_age = timedelta(0)  # the document is made this long before the clock's now
        self.met_no_symbol: object = "cloudy"  # every step's symbol_code; None: no next_* blocks
        self.met_no_expires: timedelta | None = None  # send Expires/Last-Modified (the document's age + this)
        self.release = asyncio.Event()  # a hanging handler waits on this
        self.requests: list[web.Request] = []
        self.queries: list[tuple[str, dict[str, str]]] = []  # (path, query) of every request, in order
        self.times: list[datetime] = []  # the clock's time at every request, in the order of ``queries``
        self.arrived = asyncio.Event()  # set by every request

    def app(self) -> web.Application:
        app = web.Application()
        for path in ROUTES:
            app.router.add_get(path, self._handle)
        app.router.add_get("/_stats", self._stats)
        return app

    def asked(self, path: str) -> list[dict[str, str]]:
        """The queries of every request to ``path``, in order."""
        return [query for where, query in self.queries if where == path]

    def asked_at(self, path: str) -> list[datetime]:
        """The clock's time at every request to ``path``, in order."""
        return [at for (where, _), at in zip(self.queries, self.times, strict=True) if where == path]

    # --- publication -------------------------------------------------------------------------------------

    def nbk_published(self) -> date:
        """The newest date whose NBK document is out."""
        if self.nbk_published_through is not None:
            return self.nbk_published_through
        now = self.clock().astimezone(ASTANA)
        return now.date() + timedelta(days=1) if now.time() >= NBK_PUBLISHES else now.date()

    def nbk_document(self, asked: date | None) -> tuple[date, NbkRates] | None:
        """The document NBK answers for ``asked`` (None: the newest published), or None before the first."""
        limit = self.nbk_published() if asked is None else min(asked, self.nbk_published())
        if not self.nbk_days and self.nbk_date is None:
            return limit, self.rates
        held = self.nbk_days or {datetime.strptime(self.nbk_date or "", "%d.%m.%Y").date(): self.rates}
        days = [day for day in held if day <= limit]
        return (max(days), held[max(days)]) if days else None

    def cbr_sets_rates_on(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.cbr_closed

    def cbr_published(self) -> date:
        """The newest date whose CBR document may be out (a document exists only for dates after a business day)."""
        if self.cbr_published_through is not None:
            return self.cbr_published_through
        now = self.clock().astimezone(MOSCOW)
        today = now.date()
        return today + timedelta(days=1) if self.cbr_sets_rates_on(today) and now.time() >= CBR_PUBLISHES else today

    def cbr_document_date(self, asked: date | None) -> date:
        """The Date of the document CBR answers for ``asked`` (None: the newest published)."""
        day = self.cbr_published() if asked is None else min(asked, self.cbr_published())
        for _ in range(366):
            if self.cbr_sets_rates_on(day - timedelta(days=1)):
                return day
            day -= timedelta(days=1)
        raise ValueError("CBR closed for a year")

    def open_meteo_time(self) -> str:
        if self.local_time is not None:
            return self.local_time
        local = self.clock().astimezone(ASTANA)
        slot = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
        return slot.strftime("%Y-%m-%dT%H:%M")

    def air_quality_time(self) -> str:
        if self.air_time is not None:
            return self.air_time
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:00")

    # --- HTTP --------------------------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.paths))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        source = ROUTES[request.path]
        self.hits[source] += 1
        self.paths[request.path] += 1
        self.requests.append(request)
        self.queries.append((request.path, dict(request.query)))
        self.times.append(self.clock())
        self.arrived.set()
        fault = (
            (self.fault_of and self.fault_of(request)) or self.fault.get(request.path) or self.fault.get(source, "ok")
        )
        if fault in ("400", "403", "404", "500", "503"):
            return web.json_response({"error": True, "reason": "The service is overloaded"}, status=int(fault))
        if fault == "429":
            return web.json_response(
                {"error": True, "reason": "Minutely API request limit exceeded."},
                status=429,
                headers={"Retry-After": self.retry_after} if self.retry_after is not None else None,
            )
        if fault == "down":
            assert request.transport is not None
            request.transport.close()  # no answer at all: as near to a refused connection as one server gets
            return web.Response()
        if fault == "hang" or (source == "nbk" and _day(request.query.get("fdate"), "%d.%m.%Y") in self.nbk_hang):
            await self.release.wait()
        if fault == "html":
            return web.Response(body=HTML, content_type="text/html")
        if fault == "empty":
            return web.Response(body=b"", content_type="text/xml")
        if fault == "bomb":
            return web.Response(body=BOMB, content_type="text/xml")
        if fault == "wrongroot":
            return web.Response(body=b"<?xml version='1.0'?><error>maintenance</error>", content_type="text/xml")
        if fault in ("huge", "slow", "parked", "overlong"):
            return await self._stream_fault(fault, request)
        try:
            body, headers = self._document(source, request, fault)
        except ValueError as exc:  # a request the real server refuses
            return web.json_response({"error": True, "reason": f"Parameter error: {exc}"}, status=400)
        body = self.body.get(request.path, self.body.get(source, body))
        headers.update(self.extra_headers.get(source, {}))
        since = request.headers.get("If-Modified-Since")
        if since is not None and since == headers.get("Last-Modified"):  # MET's revalidation: the exact string
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = CONTENT_TYPES[source]
        if fault == "streamerror":
            body = body[: len(body) // 2] + b"Unexpected error while streaming data: timeout"
        if fault == "truncated":
            response = web.StreamResponse(headers={**headers, "Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()  # the connection dies mid-body
            return response
        return web.Response(status=self.status.get(source, 200), body=body, headers=headers)

    async def _stream_fault(self, fault: str, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        if fault == "overlong":
            response.content_length = 10_000_000  # declared: only the header can tell it is too long
        await response.prepare(request)
        if fault in ("slow", "parked", "overlong"):
            first = b"<rates>" + b" " * 4089 if fault == "parked" else b"<?xml version='1.0'?><rates>"
            await response.write(first)  # "parked": 4 KiB, chunked, past a small cap before the hold
            await self.release.wait()  # trickles nothing more until released
            return response
        chunk = b"<!-- " + b"x" * (1 << 20) + b" -->"
        for _ in range(64):  # 64 MB, chunked, no Content-Length
            await response.write(chunk)
        return response

    def _document(self, source: str, request: web.Request, fault: str) -> tuple[bytes, dict[str, str]]:
        if source == "nbk":
            return self._nbk(request, fault), {}
        if source == "cbr":
            asked = _day(request.query.get("date_req"), "%d/%m/%Y")
            return cbr_xml(self.cbr_document_date(asked), self.cbr_rates), {}
        if source == "open_meteo":
            return self._open_meteo(request, fault), {}
        if source == "open_meteo_air":
            return self._open_meteo_air(request, fault), {}
        return self._met_no(request)

    def _nbk(self, request: web.Request, fault: str) -> bytes:
        if request.path == "/rss/rates_all.xml":
            asked = None
        else:  # without a readable fdate: today in Astana
            asked = _day(request.query.get("fdate"), "%d.%m.%Y") or self.clock().astimezone(ASTANA).date()
        document = self.nbk_document(asked)
        rates: NbkRates = {}
        if document is None:  # nothing held that early: the document without items
            day = asked or self.nbk_published()
        else:
            day, rates = document
        if fault == "absurd":
            rates = {**rates, "USD": ("47877000", 1, "UP", "+47876521.23"), "EUR": ("-5", 1, "", "0.00")}
        render = nbk_rss if asked is None else nbk_xml
        return render(rates, f"{day:%d.%m.%Y}")

    def _open_meteo(self, request: web.Request, fault: str) -> bytes:
        lats = request.query.get("latitude", "")
        if not lats:
            raise ValueError("latitude and longitude required")
        temps = list(self.temperatures)
        if fault == "absurd":
            temps = [500.0 for _ in temps]
        local_time = self.open_meteo_time()
        codes = self.weather_codes or [None]
        points = [
            open_meteo_point(i, temps[i % len(temps)], local_time, codes[i % len(codes)])
            for i in range(len(lats.split(",")))
        ]
        return json.dumps(points if len(points) > 1 else points[0]).encode()

    def _open_meteo_air(self, request: web.Request, fault: str) -> bytes:
        lats = request.query.get("latitude", "")
        if not lats:
            raise ValueError("latitude and longitude required")
        if request.query.get("timezone", "GMT") != "GMT":
            raise ValueError("this fake answers GMT only")
        values = [(9999.0, 9999.0, 9999.0, 9999.0)] if fault == "absurd" else list(self.air)
        at = self.air_quality_time()
        points = [open_meteo_air_point(i, values[i % len(values)], at) for i in range(len(lats.split(",")))]
        return json.dumps(points if len(points) > 1 else points[0], ensure_ascii=False).encode()

    def _met_no(self, request: web.Request) -> tuple[bytes, dict[str, str]]:
        try:
            lat = float(request.query["lat"])
        except (KeyError, ValueError) as exc:
            raise ValueError("lat and lon required") from exc
        made = self.clock() - self.met_no_age
        headers: dict[str, str] = {}
        if self.met_no_expires is not None:
            headers = {
                "Last-Modified": format_datetime(made.replace(microsecond=0), usegmt=True),
                "Expires": format_datetime(made.replace(microsecond=0) + self.met_no_expires, usegmt=True),
            }
        return met_no_doc(lat / 10, made.replace(minute=0, second=0, microsecond=0), self.met_no_symbol), headers
