"""What NBK's answers mean at their edges: the trend of a change smaller than one tenge, a document of neither
kind NBK publishes, and a get_rates.cfm that hangs (rates_all.xml must still be asked within the run's timeout).

README: `trend` is `up`, `down` or `flat` (from NBK's index, else the sign of `change`, per ONE unit); a body
that is not NBK's document is a format error naming what came instead; get_rates.cfm, else rates_all.xml.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from providers.errors import FormatError
from providers.nbk import Config, Nbk, parse
from tests.conftest import Upstreams, by_code
from tests.test_nbk import ALL, DAY, GET, LEGACY, MORNING, answer, item, paths, rates_doc


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


async def test_a_hanging_get_rates_leaves_time_for_rates_all(upstream: Upstreams) -> None:
    timeout = 2.0  # one attempt's whole budget (fetch_with_retries: asyncio.timeout(timeout) per attempt)
    answer(upstream, GET, "hang")  # accepts and never answers (until the fake's release)
    answer(upstream, ALL, LEGACY)
    provider = Nbk(Config(base_url=upstream.url, timeout=timeout), [], lambda: MORNING)
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(timeout):
            rates = by_code(list(await provider.fetch(session, DAY)))
    finally:
        upstream.fake.release.set()
    assert paths(upstream) == [GET, ALL]
    assert rates["USD"].rate == 334.41
