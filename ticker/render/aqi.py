"""Air-quality categories, pure: an index value to its category on the published breakpoints, and the words for it.

US EPA AQI: good 0-50, moderate 51-100, unhealthy for sensitive groups 101-150, unhealthy 151-200, very unhealthy
201-300, hazardous 301 and above. European AQI (as Open-Meteo documents its ``european_aqi``): good 0-20, fair 20-40,
moderate 40-60, poor 60-80, very poor 80-100, extremely poor above 100; a value on a shared bound (20, 40, ...) is the
better category, as 50 is on the US scale. The category is that of the whole number shown (half away from zero), so
``AQI 51`` never reads "good".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ticker.models import AirCategory as Category
from ticker.models import AirIndex as Index

# (highest whole value of the category, category), ascending; above the last bound the last category
BANDS: dict[Index, tuple[tuple[int, Category], ...]] = {
    "us": (
        (50, "good"), (100, "moderate"), (150, "unhealthy_for_sensitive"), (200, "unhealthy"),
        (300, "very_unhealthy"),
    ),
    "european": ((20, "good"), (40, "fair"), (60, "moderate"), (80, "poor"), (100, "very_poor")),
}  # fmt: skip
ABOVE: dict[Index, Category] = {"us": "hazardous", "european": "extremely_poor"}

WORDS: dict[str, dict[Category, str]] = {
    "en": {
        "good": "Good", "moderate": "Moderate", "unhealthy_for_sensitive": "Unhealthy for sensitive groups",
        "unhealthy": "Unhealthy", "very_unhealthy": "Very unhealthy", "hazardous": "Hazardous",
        "fair": "Fair", "poor": "Poor", "very_poor": "Very poor", "extremely_poor": "Extremely poor",
    },
    "ru": {
        "good": "Хорошо", "moderate": "Умеренно", "unhealthy_for_sensitive": "Вредно для чувствительных групп",
        "unhealthy": "Вредно", "very_unhealthy": "Очень вредно", "hazardous": "Опасно",
        "fair": "Удовлетворительно", "poor": "Плохо", "very_poor": "Очень плохо", "extremely_poor": "Крайне плохо",
    },
    "kk": {
        "good": "Жақсы", "moderate": "Орташа", "unhealthy_for_sensitive": "Сезімтал топтарға зиянды",
        "unhealthy": "Зиянды", "very_unhealthy": "Өте зиянды", "hazardous": "Қауіпті",
        "fair": "Қанағаттанарлық", "poor": "Нашар", "very_poor": "Өте нашар", "extremely_poor": "Аса нашар",
    },
}  # fmt: skip


def category(value: float | None, index: Index) -> Category | None:
    """The category of ``value`` on ``index``'s breakpoints; None for no value."""
    if value is None:
        return None
    whole = Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)  # as shown: half away from zero
    for highest, name in BANDS[index]:
        if whole <= highest:
            return name
    return ABOVE[index]


def words(name: Category, lang: str) -> str:
    return WORDS.get(lang, WORDS["en"])[name]
