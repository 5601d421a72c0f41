"""Air-quality categories at every published boundary, for both indices.

The expected values are written from the published breakpoints (US EPA: 0-50 good, 51-100 moderate, 101-150
unhealthy for sensitive groups, 151-200 unhealthy, 201-300 very unhealthy, 301+ hazardous; European AQI as Open-Meteo
documents european_aqi: 0-20 good, 20-40 fair, 40-60 moderate, 60-80 poor, 80-100 very poor, >100 extremely poor,
a shared bound belonging to the better category, as the README says), not from ticker/render/aqi.py.
"""

from __future__ import annotations

import pytest

from ticker.render.aqi import WORDS, category, words

US = [
    (0, "good"), (50, "good"), (51, "moderate"), (100, "moderate"), (101, "unhealthy_for_sensitive"),
    (150, "unhealthy_for_sensitive"), (151, "unhealthy"), (200, "unhealthy"), (201, "very_unhealthy"),
    (300, "very_unhealthy"), (301, "hazardous"), (500, "hazardous"), (812, "hazardous"),
    (50.4, "good"), (50.5, "moderate"), (100.49, "moderate"), (100.5, "unhealthy_for_sensitive"),
]  # fmt: skip
EUROPEAN = [
    (0, "good"), (20, "good"), (21, "fair"), (40, "fair"), (41, "moderate"), (60, "moderate"), (61, "poor"),
    (80, "poor"), (81, "very_poor"), (100, "very_poor"), (101, "extremely_poor"), (340, "extremely_poor"),
    (20.4, "good"), (20.5, "fair"), (100.5, "extremely_poor"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), US)
def test_us_epa_breakpoints(value: float, expected: str) -> None:
    assert category(value, "us") == expected


@pytest.mark.parametrize(("value", "expected"), EUROPEAN)
def test_european_breakpoints(value: float, expected: str) -> None:
    assert category(value, "european") == expected


def test_no_value_has_no_category() -> None:
    assert category(None, "us") is None
    assert category(None, "european") is None


def test_every_category_has_words_in_every_language() -> None:
    names = {name for _, name in US} | {name for _, name in EUROPEAN}
    assert len(names) == 10
    for lang in ("en", "ru", "kk"):
        assert set(WORDS[lang]) == names
        assert len(set(WORDS[lang].values())) == 10  # no two categories read the same
    assert words("unhealthy", "en") == "Unhealthy"
    assert words("unhealthy", "ru") == "Вредно"
    assert words("unhealthy", "kk") == "Зиянды"
