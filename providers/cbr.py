"""Central Bank of Russia: daily RUB rates, crossed through KZT into KZT per one unit (rates fallback).

``/scripts/XML_daily.asp`` answers ``<ValCurs Date="DD.MM.YYYY">`` with one ``<Valute>`` per currency: RUB per
``Nominal`` units in ``Value`` and RUB per ONE unit in ``VunitRate`` (absent in older documents), both with a
decimal comma, ``VunitRate`` sometimes scientific (``5,39256E-05``). The bytes are windows-1251 as the prolog
declares; the XML parser decodes them. KZT is quoted too (per 100), so KZT per X = RUB per X / RUB per KZT.
The DDoS-Guard front end can answer 200 with an HTML challenge page: only a ``ValCurs`` root is trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from providers.base import FormatError, Kind, Rate, SourceConfig, finite, read_bounded

KZT_ID = "R01335"  # CBR's own id for the tenge; the Name changed over the years, the id and CharCode did not


class Config(SourceConfig):
    base_url: str = "https://www.cbr.ru"
    interval: float = 3600


def _decimal(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation as exc:
        raise FormatError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite() or value <= 0:
        raise FormatError(f"{what} {text!r} is not a positive number")
    return value


def _per_unit(valute: Element, code: str) -> Decimal:
    """RUB for ONE unit: ``VunitRate`` when present, else ``Value / Nominal``."""
    unit_rate = valute.findtext("VunitRate")
    if unit_rate is not None and unit_rate.strip():
        return _decimal(unit_rate, f"{code} VunitRate")
    value = _decimal(valute.findtext("Value"), f"{code} Value")
    return value / _decimal(valute.findtext("Nominal") or "1", f"{code} Nominal")


def _is_kzt(valute: Element) -> bool:
    return valute.get("ID") == KZT_ID or (valute.findtext("CharCode") or "").strip().upper() == "KZT"


def _rate(code: str, rub: Decimal, kzt: Decimal, day: date) -> Rate:
    try:
        # a cross rate: keep 6 significant digits, as many as the inputs carry, not float noise
        kzt_per_unit = finite(float(f"{rub / kzt:.6g}"), code)
    except ArithmeticError as exc:  # decimal Overflow/Underflow on absurd exponents
        raise FormatError(f"{code}: {rub} / {kzt} is out of range") from exc
    if kzt_per_unit <= 0:
        raise FormatError(f"{code}: rate {rub} / {kzt} rounds to zero")
    return Rate(currency=code, rate=kzt_per_unit, change=None, trend=None, date=day)


def _valute_rate(valute: Element, kzt: Decimal, day: date) -> Rate:
    code = (valute.findtext("CharCode") or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise FormatError(f"Valute {valute.get('ID')!r}: CharCode {code!r} is not a currency code")
    return _rate(code, _per_unit(valute, code), kzt, day)


def parse(body: bytes) -> list[Rate]:
    """KZT per ONE unit of RUB and of every other listed currency; raises FormatError on anything else."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise FormatError(f"not well-formed CBR XML: {exc}") from exc
    if root.tag != "ValCurs":
        raise FormatError(f"unexpected root <{root.tag}>, want <ValCurs>")
    try:
        day = datetime.strptime((root.get("Date") or "").strip(), "%d.%m.%Y").date()
    except ValueError as exc:
        raise FormatError(f"unreadable ValCurs Date {root.get('Date')!r}") from exc
    valutes = root.findall("Valute")
    kzt_valute = next((valute for valute in valutes if _is_kzt(valute)), None)
    if kzt_valute is None:
        raise FormatError("CBR document has no KZT quote (CharCode KZT, ID R01335)")
    kzt = _per_unit(kzt_valute, "KZT")

    rates = [_rate("RUB", Decimal(1), kzt, day)]
    problems: list[str] = []
    for valute in valutes:
        if valute is kzt_valute:
            continue
        try:
            rates.append(_valute_rate(valute, kzt, day))
        except FormatError as exc:  # one odd Valute must not cost the others
            problems.append(str(exc))
    if len(rates) == 1:
        raise FormatError("CBR document lists no usable rates" + (f": {problems[0]}" if problems else ""))
    return rates


class Cbr:
    """Today's CBR document (already tomorrow's after the afternoon publication), crossed into KZT."""

    name = "cbr"
    kind: Kind = "rates"

    def __init__(self, config: Config) -> None:
        self.config = config

    async def fetch(self, session: aiohttp.ClientSession) -> Sequence[Rate]:
        response = await read_bounded(
            session,
            f"{self.config.base_url}/scripts/XML_daily.asp",
            headers={"Accept": "application/xml, text/xml, */*"},
            timeout=self.config.timeout,
            max_bytes=self.config.max_bytes,
        )
        return parse(response.body)
