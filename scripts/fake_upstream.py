#!/usr/bin/env python3
"""A fake of every upstream ticker reads, for container and smoke tests without the internet.

    python scripts/fake_upstream.py --port 0 --port-file /tmp/fake.port

Point the service at it with TICKER_NBK__BASE_URL, TICKER_CBR__BASE_URL, TICKER_OPEN_METEO__BASE_URL,
TICKER_MET_NO__BASE_URL and TICKER_OPEN_METEO_AIR__BASE_URL = http://127.0.0.1:PORT. It is tests/fakes.py's
Upstream (the fake the test suite uses), dated by its clock (the wall clock, or --now) with real publication
timing, so nothing looks stale:

    GET /rss/get_rates.cfm?fdate=DD.MM.YYYY   NBK  <rates><date>..<item>..   (utf-8), the same rates every date;
                                                   tomorrow's from 16:00 Astana
    GET /rss/rates_all.xml                    NBK  RSS <rss><channel><item><pubDate>..
    GET /scripts/XML_daily.asp[?date_req=DD/MM/YYYY]
                                              CBR  the real sample (windows-1251), re-dated to the document in force;
                                                   tomorrow's from 15:30 Moscow on business days
    GET /v1/forecast?latitude=a,b&longitude=c,d&current=temperature_2m
                                              Open-Meteo: a JSON list for several points, a bare object for one
    GET /weatherapi/locationforecast/2.0/compact?lat=..&lon=..
                                              MET Norway compact GeoJSON, with Expires and Last-Modified
    GET /v1/air-quality?latitude=a,b&longitude=c,d&current=us_aqi,european_aqi,pm2_5,pm10&timezone=GMT
                                              Open-Meteo Air Quality: the hour's reading per point, like the forecast
    GET /_stats                               {"/path": hits, ...} (for tests)

``--missing cbr,met_no`` answers 404 for those sources; ``--fault nbk=503`` any fault of tests/fakes.py's FAULTS.
Only the standard library and aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.fakes
from tests.fakes import FAULTS, NBK_ALL, SOURCES, Upstream, nbk_rates_of


def running_from(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and runs on at the wall clock's pace."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def instant(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return when.astimezone(UTC)


def names(text: str) -> set[str]:
    found = {name.strip() for name in text.split(",") if name.strip()}
    if found - set(SOURCES):
        raise argparse.ArgumentTypeError(f"unknown sources {sorted(found - set(SOURCES))}; known: {SOURCES}")
    return found


def fault(text: str) -> tuple[str, str]:
    source, _, mode = text.partition("=")
    if source not in SOURCES or mode not in FAULTS:
        raise argparse.ArgumentTypeError(f"{text!r}: want SOURCE=FAULT, SOURCE in {SOURCES}, FAULT in {FAULTS}")
    return source, mode


def build(args: argparse.Namespace) -> Upstream:
    fake = Upstream(clock=running_from(args.now)) if args.now else Upstream()
    fake.nbk_date = None  # the same rates on every date NBK has published
    fake.met_no_expires = timedelta(minutes=30)
    if args.all_currencies:
        fake.rates = nbk_rates_of(NBK_ALL.read_bytes())
    fake.fault.update(dict(args.fault))
    fake.fault.update({source: "404" for source in args.missing})
    return fake


async def serve(fake: Upstream, host: str, port: int, port_file: Path | None) -> None:
    runner = web.AppRunner(fake.app(), access_log=None)
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
    fake.release.set()  # let any hanging handler finish
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see --port-file)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--missing", type=names, default=set(), help="comma-separated sources to answer 404: nbk,cbr")
    parser.add_argument("--fault", type=fault, action="append", default=[], help="SOURCE=FAULT, repeatable")
    parser.add_argument("--all-currencies", action="store_true", help="NBK lists all 39 (its real document's)")
    parser.add_argument("--now", type=instant, help="the fake's clock starts here (ISO 8601 with offset) and runs on")
    args = parser.parse_args()
    asyncio.run(serve(build(args), args.host, args.port, args.port_file))


if __name__ == "__main__":
    main()
