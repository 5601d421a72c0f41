#!/usr/bin/env python3
"""A fake of every upstream ticker reads, for container and smoke tests without the internet.

    python scripts/fake_upstream.py --port 0 --port-file /tmp/fake.port

Point the service at it with TICKER_NBK__BASE_URL, TICKER_CBR__BASE_URL, TICKER_OPEN_METEO__BASE_URL and
TICKER_MET_NO__BASE_URL = http://127.0.0.1:PORT. Documents are generated from code (shapes as the real
servers answer them), dated "now" so nothing looks stale:

    GET /rss/get_rates.cfm?fdate=DD.MM.YYYY   NBK  <rates><date>..<item>..   (utf-8)
    GET /rss/rates_all.xml                    NBK  RSS <rss><channel><item><pubDate>..
    GET /scripts/XML_daily.asp                CBR  <ValCurs> in windows-1251 with decimal commas
    GET /v1/forecast?latitude=a,b&longitude=c,d&current=temperature_2m
                                              Open-Meteo: a JSON list for several points,
                                              a bare object for one
    GET /weatherapi/locationforecast/2.0/compact?lat=..&lon=..
                                              MET Norway compact GeoJSON
    GET /_stats                               {"/path": hits, ...} (for tests)

``--missing cbr,met_no`` answers 404 for those sources instead. Only the standard library and aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

ASTANA = timezone(timedelta(hours=5))

# code, Russian name, KZT per quant, quant, change per quant
NBK_RATES = [
    ("USD", "ДОЛЛАР США", "478.77", 1, "-1.83"),
    ("EUR", "ЕВРО", "548.62", 1, "2.04"),
    ("RUB", "РОССИЙСКИЙ РУБЛЬ", "5.87", 1, "0.00"),
    ("CNY", "КИТАЙСКИЙ ЮАНЬ", "69.31", 1, "-0.12"),
    ("KRW", "ВОНА ЮЖНО-КОРЕЙСКАЯ", "31.29", 100, "0.05"),
    ("AMD", "АРМЯНСКИЙ ДРАМ", "12.72", 10, "-0.08"),
]
# CBR: code, numeric ID, nominal, RUB per nominal (decimal comma)
CBR_VALUTES = [
    ("USD", "R01235", 1, "81,5623"),
    ("EUR", "R01239", 1, "93,4630"),
    ("CNY", "R01375", 1, "11,8068"),
    ("KZT", "R01335", 100, "17,0349"),
]
TEMPERATURES = [-3.4, 1.2, 18.5, -0.0, 25.1, -12.7]


def _index(change: str) -> str:
    value = float(change)
    return "UP" if value > 0 else "DOWN" if value < 0 else ""


def nbk_get_rates(day: datetime) -> bytes:
    items = "".join(
        f"""
    <item>
        <fullname>{name}</fullname>
        <title>{code}</title>
        <description>{value}</description>
        <quant>{quant}</quant>
        <index>{_index(change)}</index>
        <change>{change}</change>
    </item>"""
        for code, name, value, quant, change in NBK_RATES
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rates>
    <generator>Alternate RSS Builder</generator>
    <title>Official exchange rates of National Bank of Republic Kazakhstan</title>
    <link>www.nationalbank.kz</link>
    <description>Official exchange rates of National Bank of Republic Kazakhstan</description>
    <copyright>www.nationalbank.kz</copyright>
    <date>{day:%d.%m.%Y}</date>{items}
</rates>
""".encode()


def nbk_rates_all(day: datetime) -> bytes:
    items = "".join(
        f"""
        <item>
            <title>{code}</title>
            <pubDate>{day:%d.%m.%y}</pubDate>
            <description>{value}</description>
            <quant>{quant}</quant>
            <index>{_index(change)}</index>
            <change>{change}</change>
            <link></link>
        </item>"""
        for code, _name, value, quant, change in NBK_RATES
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
    <channel>
        <generator>Alternate RSS Builder</generator>
        <title>Official exchange rates of National Bank of Republic Kazakhstan</title>
        <link>www.nationalbank.kz</link>{items}
    </channel>
</rss>
""".encode()


def cbr_daily(day: datetime) -> bytes:
    valutes = "".join(
        f'<Valute ID="{vid}"><NumCode>000</NumCode><CharCode>{code}</CharCode><Nominal>{nominal}</Nominal>'
        f"<Name>{code}</Name><Value>{value}</Value></Valute>"
        for code, vid, nominal, value in CBR_VALUTES
    )
    text = (
        f'<?xml version="1.0" encoding="windows-1251"?>'
        f'<ValCurs Date="{day:%d.%m.%Y}" name="Foreign Currency Market">{valutes}</ValCurs>'
    )
    return text.encode("windows-1251")


def open_meteo_point(index: int, latitude: float, longitude: float, now: datetime) -> dict[str, object]:
    offset = 5 * 3600
    local = (now + timedelta(seconds=offset)).replace(tzinfo=None)
    local = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    point: dict[str, object] = {
        "latitude": round(latitude * 8) / 8,  # grid-cell coordinates, not the asked ones
        "longitude": round(longitude * 8) / 8,
        "generationtime_ms": 0.02,
        "utc_offset_seconds": offset,
        "timezone": "Asia/Almaty",
        "timezone_abbreviation": "GMT+5",
        "elevation": 350.0,
    }
    if index:
        point["location_id"] = index
    point["current_units"] = {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C"}
    point["current"] = {
        "time": local.strftime("%Y-%m-%dT%H:%M"),
        "interval": 900,
        "temperature_2m": TEMPERATURES[index % len(TEMPERATURES)],
    }
    return point


def _floats(text: str | None) -> list[float]:
    if not text:
        raise ValueError("missing")
    return [float(part) for part in text.split(",")]


def met_no_compact(lat: float, lon: float, now: datetime) -> dict[str, object]:
    hour = now.replace(minute=0, second=0, microsecond=0)
    steps = [
        {
            "time": (hour + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": {"instant": {"details": {"air_temperature": round(-2.5 + h * 0.3, 1)}}},
        }
        for h in range(-1, 6)
    ]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat, 350]},
        "properties": {"meta": {"updated_at": hour.strftime("%Y-%m-%dT%H:%M:%SZ")}, "timeseries": steps},
    }


def make_app(missing: set[str]) -> web.Application:
    hits: collections.Counter[str] = collections.Counter()

    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        hits[request.path] += 1
        return await handler(request)

    def gone(source: str) -> None:
        if source in missing:
            raise web.HTTPNotFound(text=f"{source} disabled in this fake\n")

    async def get_rates(request: web.Request) -> web.Response:
        gone("nbk")
        now = datetime.now(ASTANA)
        fdate = request.query.get("fdate")
        try:
            day = datetime.strptime(fdate, "%d.%m.%Y") if fdate else now
        except ValueError:
            day = now
        return web.Response(body=nbk_get_rates(day), content_type="text/xml", charset="UTF-8")

    async def rates_all(request: web.Request) -> web.Response:
        gone("nbk")
        return web.Response(body=nbk_rates_all(datetime.now(ASTANA)), content_type="application/xml")

    async def xml_daily(request: web.Request) -> web.Response:
        gone("cbr")
        body = cbr_daily(datetime.now(timezone(timedelta(hours=3))))
        return web.Response(body=body, content_type="application/xml", charset="windows-1251")

    async def forecast(request: web.Request) -> web.Response:
        gone("open_meteo")
        try:
            lats, lons = _floats(request.query.get("latitude")), _floats(request.query.get("longitude"))
            if len(lats) != len(lons):
                raise ValueError("latitude and longitude counts differ")
        except ValueError as exc:
            return web.json_response({"error": True, "reason": f"Parameter error: {exc}"}, status=400)
        now = datetime.now(UTC)
        pairs = zip(lats, lons, strict=True)
        points = [open_meteo_point(i, lat, lon, now) for i, (lat, lon) in enumerate(pairs)]
        return web.json_response(points if len(points) > 1 else points[0])

    async def compact(request: web.Request) -> web.Response:
        gone("met_no")
        try:
            lat, lon = float(request.query["lat"]), float(request.query["lon"])
        except (KeyError, ValueError):
            return web.json_response({"error": "lat and lon required"}, status=400)
        now = datetime.now(UTC)
        headers = {
            "Last-Modified": format_datetime(now.replace(microsecond=0), usegmt=True),
            "Expires": format_datetime(now.replace(microsecond=0) + timedelta(minutes=30), usegmt=True),
        }
        return web.json_response(met_no_compact(lat, lon, now), headers=headers)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(hits))

    app = web.Application(middlewares=[count])
    app.router.add_get("/rss/get_rates.cfm", get_rates)
    app.router.add_get("/rss/rates_all.xml", rates_all)
    app.router.add_get("/scripts/XML_daily.asp", xml_daily)
    app.router.add_get("/v1/forecast", forecast)
    app.router.add_get("/weatherapi/locationforecast/2.0/compact", compact)
    app.router.add_get("/_stats", stats)
    return app


async def serve(host: str, port: int, port_file: Path | None, missing: set[str]) -> None:
    runner = web.AppRunner(make_app(missing), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"fake upstream on http://{host}:{bound}", flush=True)
    if port_file:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{bound}\n")
        tmp.replace(port_file)  # atomically: readers never see a half-written file
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see --port-file)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--missing", default="", help="comma-separated sources to answer 404: nbk,cbr,...")
    args = parser.parse_args()
    missing = {name.strip() for name in args.missing.split(",") if name.strip()}
    asyncio.run(serve(args.host, args.port, args.port_file, missing))


if __name__ == "__main__":
    main()
