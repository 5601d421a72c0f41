"""The strip's air-quality item before any data: every value null and `"stale": true`, whatever the caller says
about staleness (there is no reading to be current), in the configured index.

README ("API"): before its first data an item has null values and `"stale": true`.
"""

from __future__ import annotations

import pytest

from ticker.render.air import air_item


@pytest.mark.parametrize("index", ["us", "european"])
@pytest.mark.parametrize("stale", [False, True])
def test_an_air_item_without_a_reading_is_null_and_stale(index: str, stale: bool) -> None:
    item = air_item("astana", "Astana", None, stale, None, index, "en")  # type: ignore[arg-type]
    assert item.stale is True
    assert (item.aqi, item.category, item.label, item.pm2_5, item.pm10) == (None, None, None, None, None)
    assert (item.observed_at, item.source, item.stale_at) == (None, None, None)
    assert (item.city, item.name, item.index) == ("astana", "Astana", index)
