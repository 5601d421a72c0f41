"""How numbers and missing values read in the text and HTML renderings, at their edges: a rate of exactly half a
cent (0.005) is rounded half away from zero to two decimals like any other, only a rate that two decimals would show
as 0.00 keeps two significant digits; an air-quality item with no reading yet renders as a dash, without its
category words, never an error.

README: numbers round "half away from zero ... 2 decimals for rates"; `IRR 0.0004` (a rate two decimals would show
as nothing); before its first data an item has null values; the fragment names the category in words beside the
index.
"""

from __future__ import annotations

import pytest

from ticker.models import WeatherItem
from ticker.render.air import air_item
from ticker.render.fragment import fragment
from ticker.render.textline import MISSING, amount


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (0.005, "0.01"),  # half a cent: two decimals, half away from zero
        (0.0051, "0.01"),
        (0.0049, "0.0049"),  # two decimals would say 0.00: two significant digits instead
        (0.0004, "0.0004"),
        (0.3129, "0.31"),
        (478.765, "478.77"),
        (0.0, "0.00"),
    ],
)
def test_rates_have_two_decimals_unless_that_would_show_nothing(rate: float, shown: str) -> None:
    assert amount(rate) == shown


def test_an_air_item_without_a_reading_is_a_dash_without_category_words() -> None:
    city = WeatherItem(
        city="astana", name="Astana", temperature=-3.0, observed_at=None, source=None, stale=True, stale_at=None
    )
    empty = air_item("astana", "Astana", None, True, None, "us", "en")
    html = fragment([city], [], "en", [empty])
    assert "ticker-aqi" in html and MISSING in html
    assert "ticker-aqi-category" not in html and "None" not in html
