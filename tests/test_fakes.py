"""The fake upstream's own promises, over real HTTP: which document each date gets, when tomorrow's appears, and
the command line around it. Other tests stand on these, so the expected dates are written out, not computed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from tests.conftest import FakeClock
from tests.fakes import Upstream

Client = TestClient[Any, Any]
ROOT = Path(__file__).resolve().parent.parent

# 2026-04-01 is a Wednesday; 2026-04-25 a Saturday. Astana is UTC+5, Moscow UTC+3.
WED_15_15_ASTANA = datetime(2026, 4, 1, 10, 15, tzinfo=UTC)
WED_16_00_ASTANA = datetime(2026, 4, 1, 11, 0, tzinfo=UTC)


def usd(value: str) -> dict[str, tuple[str, int, str, str]]:
    return {"USD": (value, 1, "", "0.00"), "EUR": ("548.62", 1, "", "0.00")}


async def serve(aiohttp_client: AiohttpClient, now: datetime) -> tuple[Upstream, FakeClock, Client]:
    clock = FakeClock(now)
    fake = Upstream(clock=clock)
    return fake, clock, await aiohttp_client(fake.app())


async def nbk(client: Client, fdate: str) -> tuple[str, str]:
    """(the document's <date>, USD's description) of get_rates.cfm?fdate=..."""
    resp = await client.get("/rss/get_rates.cfm", params={"fdate": fdate})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/xml; charset=UTF-8"
    root = ElementTree.fromstring(await resp.read())
    usd_item = next(item for item in root.iter("item") if item.findtext("title") == "USD")
    return root.findtext("date") or "", usd_item.findtext("description") or ""


async def rates_all(client: Client) -> dict[str, tuple[str, str]]:
    """code -> (pubDate, description) of rates_all.xml."""
    resp = await client.get("/rss/rates_all.xml")
    root = ElementTree.fromstring(await resp.read())
    assert root.tag == "rss"
    return {
        item.findtext("title") or "": (item.findtext("pubDate") or "", item.findtext("description") or "")
        for item in root.iter("item")
    }


async def cbr_date(client: Client, date_req: str | None = None) -> str:
    resp = await client.get("/scripts/XML_daily.asp", params={"date_req": date_req} if date_req else {})
    assert resp.headers["Content-Type"] == "text/xml; charset=windows-1251"
    body = await resp.read()
    assert "Доллар США".encode("windows-1251") in body  # the real sample's bytes, not re-encoded
    return ElementTree.fromstring(body).get("Date") or ""


async def test_nbk_answers_each_fdate_its_own_document_and_never_an_unpublished_one(
    aiohttp_client: AiohttpClient,
) -> None:
    fake, clock, client = await serve(aiohttp_client, WED_15_15_ASTANA)
    fake.nbk_days = {date(2026, 3, 31): usd("481.54"), date(2026, 4, 1): usd("478.77"), date(2026, 4, 2): usd("479.10")}

    assert await nbk(client, "31.03.2026") == ("31.03.2026", "481.54")
    assert await nbk(client, "01.04.2026") == ("01.04.2026", "478.77")
    assert await nbk(client, "02.04.2026") == ("01.04.2026", "478.77")  # 15:15 Astana: tomorrow is not out yet

    clock.now = WED_16_00_ASTANA
    assert await nbk(client, "02.04.2026") == ("02.04.2026", "479.10")
    assert await nbk(client, "03.04.2026") == ("02.04.2026", "479.10")  # held only through the 2nd
    assert [query["fdate"] for query in fake.asked("/rss/get_rates.cfm")] == [
        "31.03.2026", "01.04.2026", "02.04.2026", "02.04.2026", "03.04.2026",
    ]  # fmt: skip


async def test_nbk_publication_can_be_held_back_by_hand(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, WED_16_00_ASTANA)
    fake.nbk_days = {date(2026, 4, 1): usd("478.77"), date(2026, 4, 2): usd("479.10")}
    fake.nbk_published_through = date(2026, 4, 1)  # NBK late today
    assert await nbk(client, "02.04.2026") == ("01.04.2026", "478.77")
    fake.nbk_published_through = date(2026, 4, 2)
    assert await nbk(client, "02.04.2026") == ("02.04.2026", "479.10")


async def test_rates_all_carries_tomorrows_pubdate_once_tomorrow_is_published(aiohttp_client: AiohttpClient) -> None:
    fake, clock, client = await serve(aiohttp_client, WED_15_15_ASTANA)
    fake.nbk_days = {date(2026, 4, 1): usd("478.77"), date(2026, 4, 2): usd("479.10")}
    assert await rates_all(client) == {"USD": ("01.04.2026", "478.77"), "EUR": ("01.04.2026", "548.62")}
    clock.now = WED_16_00_ASTANA
    assert await rates_all(client) == {"USD": ("02.04.2026", "479.10"), "EUR": ("02.04.2026", "548.62")}


async def test_nbk_default_is_one_document_of_nbk_date_whatever_the_clock(aiohttp_client: AiohttpClient) -> None:
    """What the older tests rely on: ``rates`` dated ``nbk_date``, edited in place between fetches."""
    fake, _, client = await serve(aiohttp_client, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert await nbk(client, "30.11.2026") == ("01.04.2026", "478.77")
    fake.rates["USD"] = ("480.10", 1, "UP", "+1.33")
    assert await nbk(client, "30.11.2026") == ("01.04.2026", "480.10")
    fake.nbk_date = None  # the command line's mode: ``rates`` on every published date
    assert await nbk(client, "30.11.2026") == ("30.11.2026", "480.10")
    assert await nbk(client, "01.12.2026") == ("01.12.2026", "480.10")  # 17:00 Astana: tomorrow is out...
    fake.nbk_published_through = date(2026, 11, 30)
    assert await nbk(client, "01.12.2026") == ("30.11.2026", "480.10")  # ...unless held back


@pytest.mark.parametrize(
    ("now", "date_req", "expected"),
    [
        (datetime(2026, 4, 26, 9, 0, tzinfo=UTC), "26/04/2026", "25.04.2026"),  # Sunday: Saturday's document
        (datetime(2026, 4, 27, 9, 0, tzinfo=UTC), "27/04/2026", "25.04.2026"),  # Monday: still Saturday's
        (datetime(2026, 4, 27, 9, 0, tzinfo=UTC), "28/04/2026", "25.04.2026"),  # Tuesday's is not out on Monday 12:00
        (datetime(2026, 4, 27, 9, 0, tzinfo=UTC), None, "25.04.2026"),
        (datetime(2026, 4, 27, 12, 30, tzinfo=UTC), None, "28.04.2026"),  # Monday 15:30 Moscow: Tuesday's is out
        (datetime(2026, 4, 27, 12, 30, tzinfo=UTC), "27/04/2026", "25.04.2026"),  # ...yet Monday is Saturday's
        (datetime(2026, 4, 24, 13, 0, tzinfo=UTC), None, "25.04.2026"),  # Friday 16:00 Moscow: Saturday's is out
        (datetime(2026, 4, 24, 12, 0, tzinfo=UTC), None, "24.04.2026"),  # Friday 15:00 Moscow: Friday's
        (datetime(2026, 4, 25, 20, 0, tzinfo=UTC), None, "25.04.2026"),  # Saturday evening: nothing new
        (datetime(2026, 4, 29, 9, 0, tzinfo=UTC), "21/04/2026", "21.04.2026"),  # an old Tuesday: its own
    ],
)
async def test_cbr_answers_the_document_in_force_on_the_date_asked(
    aiohttp_client: AiohttpClient, now: datetime, date_req: str | None, expected: str
) -> None:
    fake, _, client = await serve(aiohttp_client, now)
    assert await cbr_date(client, date_req) == expected
    assert fake.asked("/scripts/XML_daily.asp") == [{"date_req": date_req} if date_req else {}]


async def test_cbr_holidays_and_a_held_back_publication(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, datetime(2026, 4, 29, 14, 0, tzinfo=UTC))  # Wed 17:00 Moscow
    assert await cbr_date(client) == "30.04.2026"
    fake.cbr_published_through = date(2026, 4, 29)
    assert await cbr_date(client) == "29.04.2026"
    fake.cbr_closed = {date(2026, 4, 28)}  # no rate set on Tuesday: Wednesday is still Tuesday's
    assert await cbr_date(client, "29/04/2026") == "28.04.2026"


async def test_cbr_generated_document_carries_the_given_values(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, datetime(2026, 4, 29, 9, 0, tzinfo=UTC))
    fake.cbr_rates = {"USD": (1, "75,5273"), "KZT": (100, "16,3172")}
    resp = await client.get("/scripts/XML_daily.asp", params={"date_req": "29/04/2026"})
    root = ElementTree.fromstring(await resp.read())
    assert root.get("Date") == "29.04.2026"
    assert {v.findtext("CharCode"): (v.findtext("Value"), v.findtext("VunitRate")) for v in root} == {
        "USD": ("75,5273", "75,5273"),
        "KZT": ("16,3172", "0,163172"),
    }
    assert root[1].get("ID") == "R01335"


async def test_open_meteo_time_follows_the_clock_and_null_is_served(aiohttp_client: AiohttpClient) -> None:
    fake, clock, client = await serve(aiohttp_client, datetime(2026, 4, 1, 18, 59, 59, tzinfo=UTC))
    fake.temperatures = [None, 12.0]
    params = {"latitude": "51.1801,43.2565", "longitude": "71.446,76.9285", "current": "temperature_2m"}
    points = await (await client.get("/v1/forecast", params=params)).json()
    assert [(p["current"]["time"], p["current"]["temperature_2m"]) for p in points] == [
        ("2026-04-01T23:45", None),
        ("2026-04-01T23:45", 12.0),
    ]
    clock.now = datetime(2026, 4, 1, 19, 0, tzinfo=UTC)
    point = await (await client.get("/v1/forecast", params={"latitude": "51.1801", "longitude": "71.446"})).json()
    assert point["current"]["time"] == "2026-04-02T00:00"  # one bare object for one point
    fake.local_time = "2023-11-30T09:00"
    point = await (await client.get("/v1/forecast", params={"latitude": "51.1801", "longitude": "71.446"})).json()
    assert point["current"]["time"] == "2023-11-30T09:00"


async def test_a_crafted_body_replaces_the_document(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, WED_15_15_ASTANA)
    fake.body["open_meteo"] = b'{"current": {"time": "2026-04-01T15:15", "temperature_2m": ' + b"9" * 400 + b"}}"
    resp = await client.get("/v1/forecast", params={"latitude": "51.1801", "longitude": "71.446"})
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (await resp.read()).endswith(b"9" * 400 + b"}}")
    assert fake.hits == {"open_meteo": 1}


async def test_met_no_steps_surround_the_clock_or_lie_in_the_past(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, datetime(2026, 4, 1, 10, 15, tzinfo=UTC))
    path = "/weatherapi/locationforecast/2.0/compact"
    doc = await (await client.get(path, params={"lat": "51.1801", "lon": "71.446"})).json()
    times = [step["time"] for step in doc["properties"]["timeseries"]]
    assert times == ["2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z", "2026-04-01T12:00:00Z"]
    fake.met_no_age = timedelta(days=3)
    doc = await (await client.get(path, params={"lat": "51.1801", "lon": "71.446"})).json()
    assert doc["properties"]["timeseries"][-1]["time"] == "2026-03-29T12:00:00Z"


async def test_down_drops_the_connection_without_an_answer(aiohttp_client: AiohttpClient) -> None:
    fake, _, client = await serve(aiohttp_client, WED_15_15_ASTANA)
    fake.fault["nbk"] = "down"
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.get("/rss/get_rates.cfm", params={"fdate": "01.04.2026"})
    assert fake.hits["nbk"] == 1
    async with aiohttp.ClientSession() as session:  # as the service asks: it retries a dropped GET once
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(client.make_url("/rss/rates_all.xml"))
    assert fake.hits["nbk"] == 3
    assert (await client.get("/scripts/XML_daily.asp")).status == 200  # the server itself lives on


async def test_the_command_line_serves_404_for_missing_sources_and_counts_paths() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts" / "fake_upstream.py"), "--port", "0", "--missing", "cbr",
        "--now", "2026-04-01T11:00:00Z",  # 16:00 in Astana: tomorrow's rates are out
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = line.split(" on ", 1)[1].strip()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/rss/get_rates.cfm", params={"fdate": "02.04.2026"}) as resp:
                assert resp.status == 200
                assert "<date>02.04.2026</date>" in await resp.text()  # the same rates on every date
            async with session.get(f"{url}/scripts/XML_daily.asp") as resp:
                assert resp.status == 404
            async with session.get(f"{url}/_stats") as resp:
                assert json.loads(await resp.text()) == {"/rss/get_rates.cfm": 1, "/scripts/XML_daily.asp": 1}
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
