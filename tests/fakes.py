"""Fake upstreams over real HTTP: NBK, Open-Meteo, CBR and MET Norway in their real wire formats,
with every fault a real server shows (status codes, hangs, truncation, HTML with 200, bombs, giants).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

SAMPLES = Path(__file__).parent / "samples"

# source -> fault; "ok" serves data. A fault applies to every route of that source.
FAULTS = (
    "ok", "500", "503", "429", "404", "hang", "slow", "truncated", "html", "empty", "bomb", "huge",
    "absurd", "wrongroot", "streamerror",
)  # fmt: skip

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rates><date>01.04.2026</date><item><title>USD</title><description>&lol9;</description></item></rates>"""

HTML = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"


def nbk_xml(rates: dict[str, tuple[str, int, str, str]], day: str) -> bytes:
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


def open_meteo_point(index: int, temperature: float | None, local_time: str) -> dict[str, Any]:
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
    point["current_units"] = {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C"}
    point["current"] = {"time": local_time, "interval": 900, "temperature_2m": temperature}
    return point


def met_no_doc(temperature: float, at: datetime) -> bytes:
    series = [
        {"time": (at + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "data": {"instant": {"details": {"air_temperature": temperature + h}}}}
        for h in range(-1, 3)
    ]  # fmt: skip
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


class Upstream:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock  # MET Norway's steps are laid around this clock's hour: give it the service's clock
        self.hits: Counter[str] = Counter()
        self.fault: dict[str, str] = {}
        self.retry_after = "120"
        self.rates: dict[str, tuple[str, int, str, str]] = {
            "USD": ("478.77", 1, "DOWN", "-2.77"),
            "EUR": ("548.62", 1, "UP", "+1.05"),
            "RUB": ("5.87", 1, "", "0.00"),
            "CNY": ("69.31", 1, "DOWN", "-0.40"),
            "KRW": ("31.29", 100, "DOWN", "-0.47"),
        }
        self.nbk_date = "01.04.2026"
        self.temperatures: list[float | None] = [-3.4, 12.0, 21.5]
        self.local_time = "2026-04-01T15:15"  # Asia/Almaty, UTC+5
        self.release = asyncio.Event()  # a hanging handler waits on this
        self.requests: list[web.Request] = []
        self.arrived = asyncio.Event()  # set by every request

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rss/get_rates.cfm", self._route("nbk", self._nbk))
        app.router.add_get("/rss/rates_all.xml", self._route("nbk", self._nbk))
        app.router.add_get("/v1/forecast", self._route("open_meteo", self._open_meteo))
        app.router.add_get("/scripts/XML_daily.asp", self._route("cbr", self._cbr))
        app.router.add_get("/weatherapi/locationforecast/2.0/compact", self._route("met_no", self._met_no))
        return app

    def _route(self, source: str, ok: Any) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            self.hits[source] += 1
            self.requests.append(request)
            self.arrived.set()
            return await self._serve(source, request, ok)

        return handler

    async def _serve(self, source: str, request: web.Request, ok: Any) -> web.StreamResponse:
        fault = self.fault.get(source, "ok")
        if fault in ("500", "503", "404"):
            return web.json_response({"error": True, "reason": "The service is overloaded"}, status=int(fault))
        if fault == "429":
            return web.json_response(
                {"error": True, "reason": "Minutely API request limit exceeded."},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if fault == "hang":
            await self.release.wait()
        if fault == "html":
            return web.Response(body=HTML, content_type="text/html")
        if fault == "empty":
            return web.Response(body=b"", content_type="text/xml")
        if fault == "bomb":
            return web.Response(body=BOMB, content_type="text/xml")
        if fault in ("huge", "slow", "truncated"):
            return await self._stream_fault(fault, request)
        if fault == "wrongroot":
            return web.Response(body=b"<?xml version='1.0'?><error>maintenance</error>", content_type="text/xml")
        response: web.StreamResponse = await ok(request, fault)
        return response

    async def _stream_fault(self, fault: str, request: web.Request) -> web.StreamResponse:
        if fault == "truncated":
            body = nbk_xml(self.rates, self.nbk_date)
            response = web.StreamResponse(headers={"Content-Type": "text/xml", "Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()  # the connection dies mid-body
            return response
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        if fault == "slow":
            await response.write(b"<?xml version='1.0'?><rates>")
            await self.release.wait()  # trickles nothing more until released
            return response
        chunk = b"<!-- " + b"x" * (1 << 20) + b" -->"
        for _ in range(64):  # 64 MB, chunked, no Content-Length
            await response.write(chunk)
        return response

    async def _nbk(self, request: web.Request, fault: str) -> web.Response:
        rates = self.rates
        if fault == "absurd":
            rates = {**rates, "USD": ("47877000", 1, "UP", "+47876521.23"), "EUR": ("-5", 1, "", "0.00")}
        return web.Response(body=nbk_xml(rates, self.nbk_date), content_type="text/xml", charset="utf-8")

    async def _open_meteo(self, request: web.Request, fault: str) -> web.Response:
        lats = request.query.get("latitude", "").split(",")
        temps = list(self.temperatures)
        if fault == "absurd":
            temps = [500.0 for _ in temps]
        points = [open_meteo_point(i, temps[i % len(temps)], self.local_time) for i in range(len(lats))]
        body = json.dumps(points if len(points) > 1 else points[0]).encode()
        if fault == "streamerror":
            body = body[: len(body) // 2] + b"Unexpected error while streaming data: timeout"
        return web.Response(body=body, content_type="application/json")

    async def _cbr(self, request: web.Request, fault: str) -> web.Response:
        body = (SAMPLES / "cbr" / "cbr_xml_daily.xml").read_bytes()
        return web.Response(body=body, headers={"Content-Type": "text/xml; charset=windows-1251"})

    async def _met_no(self, request: web.Request, fault: str) -> web.Response:
        lat = float(request.query["lat"])
        return web.Response(
            body=met_no_doc(lat / 10, self.clock().astimezone(UTC).replace(minute=0, second=0, microsecond=0)),
            content_type="application/json",
        )
