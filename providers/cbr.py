"""Central Bank of Russia: daily RUB rates, crossed through KZT into KZT per one unit (rates fallback).

``/scripts/XML_daily.asp?date_req=DD/MM/YYYY`` answers ``<ValCurs Date="DD.MM.YYYY">``: the document in force on
the date asked (Saturday's on Sunday and Monday, the last one before a holiday), with one ``<Valute>`` per currency:
RUB per ``Nominal`` units in ``Value`` and RUB per ONE unit in ``VunitRate`` (absent in older documents), both with
a decimal comma, ``VunitRate`` sometimes scientific (``5,39256E-05``). The bytes are windows-1251 as the prolog
declares; the XML parser decodes them. KZT is quoted too (per 100), so KZT per X = RUB per X / RUB per KZT.
The DDoS-Guard front end can answer 200 with an HTML challenge page: only a ``ValCurs`` root is trusted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar
from xml.etree.ElementTree import Element

import aiohttp

from providers.base import Clock, Kind, Location, Rate
from providers.errors import FormatError
from providers.http import read_bounded
from providers.parsing import collect, currency_code, decimal, finite, guarded, parse_xml
from providers.source_config import SourceConfig, narrow

KZT_ID = "R01335"  # CBR's own id for the tenge; the Name changed over the years, the id and CharCode did not
IN_FORCE_FOR = timedelta(days=10)  # the longest Russian holiday run (1-8 January) and its weekends


class Config(SourceConfig):
    base_url: str = "https://www.cbr.ru"
    interval: float = 14400


def _per_unit(valute: Element, code: str) -> Decimal:
    """RUB for ONE unit: ``VunitRate`` when present, else ``Value / Nominal``."""
    unit_rate = valute.findtext("VunitRate")
    if unit_rate is not None and unit_rate.strip():
        return decimal(unit_rate, f"{code} VunitRate", comma=True, positive=True)
    value = decimal(valute.findtext("Value"), f"{code} Value", comma=True, positive=True)
    return value / decimal(valute.findtext("Nominal") or "1", f"{code} Nominal", positive=True)


def _is_kzt(valute: Element) -> bool:
    return valute.get("ID") == KZT_ID or (valute.findtext("CharCode") or "").strip().upper() == "KZT"


def _rate(code: str, rub: Decimal, kzt: Decimal, day: dt.date, in_force: dt.date | None) -> Rate:
    # a cross rate: keep 6 significant digits, as many as the inputs carry, not float noise
    kzt_per_unit = finite(float(f"{rub / kzt:.6g}"), code)
    if kzt_per_unit <= 0:
        raise FormatError(f"{code}: rate {rub} / {kzt} rounds to zero")
    return Rate(currency=code, rate=kzt_per_unit, date=day, in_force=in_force)


def in_force_on(day: dt.date, asked: dt.date | None) -> dt.date | None:
    """``asked`` when the document dated ``day`` is the one CBR keeps in force on it (a weekend, a holiday)."""
    if asked is None or not (day <= asked <= day + IN_FORCE_FOR):
        return None  # older is simply old, newer is tomorrow's
    return asked


@guarded
def parse(body: bytes, asked: dt.date | None = None) -> list[Rate]:
    """KZT per ONE unit of RUB and of every other listed currency; raises FormatError on anything else.

    With ``asked`` (the date requested), the records say whether they are in force on it (``in_force``).
    """
    root = parse_xml(body, "CBR")
    if root.tag != "ValCurs":
        raise FormatError(f"unexpected root <{root.tag}>, want <ValCurs>")
    try:
        day = datetime.strptime((root.get("Date") or "").strip(), "%d.%m.%Y").date()
    except ValueError as exc:
        raise FormatError(f"unreadable ValCurs Date {root.get('Date')!r}") from exc
    in_force = in_force_on(day, asked)
    valutes = root.findall("Valute")
    kzt_valute = next((valute for valute in valutes if _is_kzt(valute)), None)
    if kzt_valute is None:
        raise FormatError("CBR document has no KZT quote (CharCode KZT, ID R01335)")
    kzt = _per_unit(kzt_valute, "KZT")

    def build(valute: Element) -> Rate:
        code = currency_code(valute.findtext("CharCode"), f"Valute {valute.get('ID')!r}: CharCode")
        return _rate(code, _per_unit(valute, code), kzt, day, in_force)

    others = collect((valute for valute in valutes if valute is not kzt_valute), build, "CBR document")
    return [_rate("RUB", Decimal(1), kzt, day, in_force), *others]


class Cbr:
    """Central Bank of Russia: the document in force on a given date, crossed into KZT through the rouble."""

    name: ClassVar[str] = "cbr"
    kind: ClassVar[Kind] = "rates"
    Config: ClassVar[type[SourceConfig]] = Config
    cadence: ClassVar[float | None] = None

    def __init__(self, config: SourceConfig, locations: Sequence[Location], clock: Clock) -> None:
        self.config = narrow(config, Config)
        self._clock = clock

    async def fetch(self, session: aiohttp.ClientSession, day: dt.date) -> Sequence[Rate]:
        response = await read_bounded(
            session,
            f"{self.config.base_url}/scripts/XML_daily.asp",
            params={"date_req": day.strftime("%d/%m/%Y")},
            headers={"Accept": "application/xml, text/xml, */*"},
            timeout=self.config.timeout,
            max_bytes=self.config.max_bytes,
        )
        return parse(response.body, day)
