"""The strip as one line of text (GET /v1/ticker.txt), and the number formatting the HTML fragment shares.

``Astana: 22 °C  Almaty: −4 °C  USD 478.77  EUR 548.62``: temperatures first, then rates, each in the asked
order, joined by two spaces. With air quality on, each city's index follows its temperature: ``Almaty: −4 °C AQI
152`` (``EAQI 47`` on the European index; ``AQI –`` without a value).

Numbers are rounded half away from zero in decimal (``Decimal`` of the float's
shortest repr, so 2.5 is 3 and 2.675 is 2.68, as a person reading the JSON would round them); negatives carry
U+2212 MINUS SIGN and a rounded zero is never signed; a missing value is U+2013 EN DASH.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from ticker.models import AirItem, RateItem, WeatherItem

MINUS = "\u2212"
MISSING = "\u2013"
SEPARATOR = "  "
_WHOLE = Decimal(1)
_CENTS = Decimal("0.01")


def _rounded(value: float, step: Decimal) -> str:
    number = Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP)  # ROUND_HALF_UP: away from zero
    text = format(abs(number), "f")
    return MINUS + text if number < 0 else text  # a rounded -0 is not < 0: never "−0" or "−0.00"


def degrees(value: float | None) -> str:
    """A temperature as a whole number of degrees: ``−4``, ``0``, ``22``; ``–`` when unknown."""
    return MISSING if value is None or not math.isfinite(value) else _rounded(value, _WHOLE)


def amount(value: float | None) -> str:
    """A rate with two decimals: ``478.77``; ``–`` when unknown. A rate that two decimals would show as 0.00 (NBK's
    rial, 0.0004 KZT) keeps two significant digits instead: ``IRR 0.0004``, never a rate of nothing."""
    if value is None or not math.isfinite(value):
        return MISSING
    if value == 0 or abs(value) >= 0.005:
        return _rounded(value, _CENTS)
    exponent = Decimal(repr(abs(value))).adjusted() - 1  # two significant digits
    return _rounded(value, Decimal(1).scaleb(exponent)).rstrip("0")


def one_line(text: str) -> str:
    """Configured names stay on one line: any run of white space (newlines included) is one space."""
    return " ".join(text.split())


LABEL = {"us": "AQI", "european": "EAQI"}  # how the line and the fragment name the index


def aqi(item: AirItem) -> str:
    """``AQI 152``: the index's name and its whole number (half away from zero); ``–`` when unknown."""
    return f"{LABEL[item.index]} {degrees(item.aqi)}"


def line(weather: Sequence[WeatherItem], rates: Sequence[RateItem], air: Sequence[AirItem] | None = None) -> str:
    by_city = {item.city: item for item in air or ()}
    items = [
        f"{one_line(item.name)}: {degrees(item.temperature)} °C"
        + (f" {aqi(by_city[item.city])}" if item.city in by_city else "")
        for item in weather
    ]
    items += [f"{item.currency} {amount(item.rate)}" for item in rates]
    return SEPARATOR.join(items)
