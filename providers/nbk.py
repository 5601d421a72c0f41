"""National Bank of Kazakhstan: official KZT rates.

Two documents, two roots: ``get_rates.cfm?fdate=DD.MM.YYYY`` answers ``<rates>`` with one ``<date>``;
``rates_all.xml`` answers RSS ``<rss><channel><item>`` with a ``<pubDate>`` per item (two- or four-digit
years, and long-discontinued currencies still listed under old dates). Values are KZT per ``quant`` units.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from providers.base import (
    FormatError,
    Kind,
    ProviderError,
    Rate,
    SourceConfig,
    Trend,
    finite,
    read_bounded,
)

ASTANA = timezone(timedelta(hours=5))  # all of Kazakhstan is UTC+5 since 2024-03-01
_TRENDS: dict[str, Trend] = {"UP": "up", "DOWN": "down"}


class Config(SourceConfig):
    base_url: str = "https://nationalbank.kz"
    interval: float = 1800


def _date(text: str) -> date:
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise FormatError(f"unreadable date {text!r}")


def _decimal(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation as exc:
        raise FormatError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite():
        raise FormatError(f"{what} {text!r} is not finite")
    return value


def _trend(index: str, change: Decimal | None) -> Trend | None:
    if index in _TRENDS:
        return _TRENDS[index]
    if change is None:
        return None
    return "up" if change > 0 else "down" if change < 0 else "flat"


def _item(item: Element, day: date) -> Rate:
    code = (item.findtext("title") or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise FormatError(f"item title {code!r} is not a currency code")
    value = _decimal(item.findtext("description"), f"{code} description")
    quant = _decimal(item.findtext("quant") or "1", f"{code} quant")
    if quant <= 0 or value <= 0:
        raise FormatError(f"{code}: rate {value} per {quant} is not positive")
    change_text = (item.findtext("change") or "").strip()
    change = _decimal(change_text, f"{code} change") / quant if change_text else None
    index = (item.findtext("index") or "").strip().upper()
    return Rate(
        currency=code,
        rate=finite(float(value / quant), code),
        change=None if change is None else finite(float(change), code),
        trend=_trend(index, change),
        date=day,
    )


def parse(body: bytes) -> list[Rate]:
    """Rates per ONE unit from either NBK document; raises FormatError on anything else."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise FormatError(f"not well-formed NBK XML: {exc}") from exc
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
    rates, problems = [], []
    for item, day in dated:
        try:
            rates.append(_item(item, day))
        except FormatError as exc:  # one odd item must not cost the others
            problems.append(str(exc))
    if not rates:
        raise FormatError("NBK document lists no usable rates" + (f": {problems[0]}" if problems else ""))
    return rates


class Nbk:
    """Today's official rates (Astana date) from get_rates.cfm, falling back to rates_all.xml."""

    name = "nbk"
    kind: Kind = "rates"

    def __init__(self, config: Config, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))

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

    async def fetch(self, session: aiohttp.ClientSession) -> Sequence[Rate]:
        today = self._clock().astimezone(ASTANA).strftime("%d.%m.%Y")
        half = self.config.timeout / 2  # a hanging first document must leave time for the second
        try:
            return await self._get(session, "/rss/get_rates.cfm", {"fdate": today}, half)
        except ProviderError as first:
            if first.transient and first.retry_after is not None:
                raise  # the server asked us to come back later; don't hit it again now
            try:
                return await self._get(session, "/rss/rates_all.xml", {}, half)
            except ProviderError:
                raise first from None
