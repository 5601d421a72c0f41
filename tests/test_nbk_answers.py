"""What NBK's answers mean at their edges: the trend of a change smaller than one tenge, a document of neither
kind NBK publishes, and a get_rates.cfm that hangs (rates_all.xml must still be asked within the run's timeout).

README: `trend` is `up`, `down` or `flat` (from NBK's index, else the sign of `change`, per ONE unit); a body
that is not NBK's document is a format error naming what came instead; get_rates.cfm, else rates_all.xml.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from providers.base import FormatError
from providers.nbk import Config, Nbk, parse
from tests.conftest import by_code
from tests.test_nbk import DAY, LEGACY, MORNING, Handler, Upstream, item, rates_doc, xml


@pytest.mark.parametrize(
    ("quant", "change", "trend"),
    [
        ("1", "+0.02", "up"),
        ("1", "+0.99", "up"),
        ("1", "-0.02", "down"),
        ("1", "-0.99", "down"),
        ("100", "+5.00", "up"),  # 0.05 per unit
        ("100", "-5.00", "down"),
    ],
)
def test_a_change_below_one_tenge_still_has_its_trend(quant: str, change: str, trend: str) -> None:
    (rate,) = parse(rates_doc(item("KRW", "31.29", quant=quant, change=change)))  # <index></index>: the sign decides
    assert rate.trend == trend
    assert rate.change is not None and abs(rate.change) < 1


def test_a_document_of_neither_kind_is_refused_and_named() -> None:
    # channel/item with a pubDate, as in rates_all.xml, under a root NBK never sends: not NBK's document
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed><channel>'
        + item("USD", "478.77", pub="01.04.2026")
        + "</channel></feed>"
    ).encode()
    with pytest.raises(FormatError) as caught:
        parse(body)
    assert "<feed>" in str(caught.value)


def hang(event: asyncio.Event) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        await event.wait()  # set when the test ends: a server that accepts and never answers
        return web.Response(status=500)

    return handle


async def test_a_hanging_get_rates_leaves_time_for_rates_all(aiohttp_server: AiohttpServer) -> None:
    timeout = 2.0  # one attempt's whole budget (fetch_with_retries: asyncio.timeout(timeout) per attempt)
    never = asyncio.Event()
    upstream = Upstream(hang(never), xml(LEGACY))
    provider = await upstream.provider(aiohttp_server)
    provider = Nbk(Config(base_url=provider.config.base_url, timeout=timeout), [], lambda: MORNING)
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(timeout):
            rates = by_code(list(await provider.fetch(session, DAY)))
    finally:
        never.set()
    assert upstream.paths == ["/rss/get_rates.cfm", "/rss/rates_all.xml"]
    assert rates["USD"].rate == 334.41
