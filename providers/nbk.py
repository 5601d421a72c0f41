"""National Bank of Kazakhstan: official KZT rates.

Two documents, two roots: ``get_rates.cfm?fdate=DD.MM.YYYY`` answers ``<rates>`` with one ``<date>``;
``rates_all.xml`` answers RSS ``<rss><channel><item>`` with a ``<pubDate>`` per item (two- or four-digit
years, and long-discontinued currencies still listed under old dates). Values are KZT per ``quant`` units.
NBK dates every calendar day, so a record's ``date`` is the day it is in force (``in_force`` stays None).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar
from xml.etree.ElementTree import Element

import aiohttp

from providers.base import Clock, Kind, Location, Rate, Trend
from providers.errors import FormatError, ProviderError
from providers.http import read_bounded
from providers.parsing import collect, currency_code, decimal, finite, guarded, parse_xml
from providers.source_config import SourceConfig, narrow

_TRENDS: dict[str, Trend] = {"UP": "up", "DOWN": "down"}
# every currency NBK publishes, in its order (get_rates.cfm, 2026-04-01): what TICKER_CURRENCIES=all means
PUBLISHED = (
    "AUD", "AZN", "AMD", "BYN", "BRL", "HUF", "HKD", "GEL", "DKK", "AED", "USD", "EUR", "INR", "IRR", "CAD", "CNY",
    "KWD", "KGS", "MYR", "MXN", "MDL", "NOK", "PLN", "SAR", "RUB", "XDR", "SGD", "TJS", "THB", "TRY", "UZS", "UAH",
    "GBP", "CZK", "SEK", "CHF", "ZAR", "KRW", "JPY",
)  # fmt: skip


class Config(SourceConfig):
    base_url: str = "https://nationalbank.kz"
    interval: float = 14400  # the longest gap between two fetches; the service's schedule knows publication


def _date(text: str) -> dt.date:
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise FormatError(f"unreadable date {text!r}")


def _trend(index: str, change: Decimal | None) -> Trend | None:
    if index in _TRENDS:
        return _TRENDS[index]
    if change is None:
        return None
    return "up" if change > 0 else "down" if change < 0 else "flat"


def _item(item: Element, day: dt.date) -> Rate:
    code = currency_code(item.findtext("title"), "item title")
    value = decimal(item.findtext("description"), f"{code} description", positive=True)
    quant = decimal(item.findtext("quant") or "1", f"{code} quant", positive=True)
    change_text = (item.findtext("change") or "").strip()
    change = decimal(change_text, f"{code} change") / quant if change_text else None
    return Rate(
        currency=code,
        rate=finite(float(value / quant), code),
        change=None if change is None else finite(float(change), code),
        trend=_trend((item.findtext("index") or "").strip().upper(), change),
        date=day,
    )


@guarded
def parse(body: bytes) -> list[Rate]:
    """Rates per ONE unit from either NBK document, dated as the document dates them; FormatError otherwise."""
    root = parse_xml(body, "NBK")
    if root.tag == "rates":
        doc_date = root.findtext("date")
        if not doc_date:
            raise FormatError("<rates> document has no <date>")
        day = _date(doc_date)
        dated = [(item, day) for item in root.findall("item")]
    elif root.tag == "rss":
        dated = []
        for item in root.findall("channel/item"):
            with contextlib.suppress(FormatError):  # an item without a readable date is skipped
                dated.append((item, _date(item.findtext("pubDate") or "")))
        newest = max((day for _, day in dated), default=None)
        dated = [(item, day) for item, day in dated if day == newest]  # drop discontinued currencies
    else:
        raise FormatError(f"unexpected root <{root.tag}>, want <rates> or <rss>")
    return collect(dated, lambda pair: _item(*pair), "NBK document")


class Nbk:
    """National Bank of Kazakhstan: the official rates for a given Astana date (get_rates.cfm, else rates_all.xml)."""

    name: ClassVar[str] = "nbk"
    kind: ClassVar[Kind] = "rates"
    Config: ClassVar[type[SourceConfig]] = Config
    cadence: ClassVar[float | None] = None

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None:
        self.config = narrow(config, Config)
        self._clock = clock

    async def _get(
        self, session: aiohttp.ClientSession, path: str, params: dict[str, str], timeout: float
    ) -> list[Rate]:
        response = await read_bounded(
            session,
            f"{self.config.base_url}{path}",
            params=params,
            headers={"Accept": "application/xml, text/xml, */*"},
            timeout=timeout,
            max_bytes=self.config.max_bytes,
        )
        return parse(response.body)

    async def fetch_dated(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[Rate]:
        """get_rates.cfm for ``day`` alone, no fallback (the history backfill): the records keep the date the
        document names, which is not ``day`` when NBK answers another date's document."""
        return await self._get(session, "/rss/get_rates.cfm", {"fdate": day.strftime("%d.%m.%Y")}, self.config.timeout)

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[Rate]:
        """``day``'s rates; rates_all.xml's records keep their own date (tomorrow's after publication)."""
        half = self.config.timeout / 2  # a hanging first document must leave time for the second
        try:
            return await self._get(session, "/rss/get_rates.cfm", {"fdate": day.strftime("%d.%m.%Y")}, half)
        except ProviderError as first:
            if first.transient and first.retry_after is not None:
                raise  # the server asked us to come back later; don't hit it again now
            try:
                return await self._get(session, "/rss/rates_all.xml", {}, half)
            except ProviderError:
                raise first from None
