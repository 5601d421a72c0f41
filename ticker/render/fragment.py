"""The strip as an HTML fragment for server-side includes (GET /v1/ticker.html).

One root element, no script, no style, no external resource: only text, inline characters as icons (each with
``role="img"``, an ``aria-label`` and a ``title`` in the asked language) and the attribution links the data's
terms require, for the sources actually shown. Every text is escaped here, so a site includes the bytes as they
are. Class names (all prefixed ``ticker-``) are the styling contract:

    ticker-strip                      the root
    ticker-item [ticker-stale]        one city or one currency; ticker-stale when its value is not current
    ticker-city, ticker-temperature   a city's name and its "−4 °C"
    ticker-condition ticker-condition-<value>   the sky icon (clear, partly_cloudy, ..., thunderstorm)
    ticker-currency, ticker-rate      "USD" and "478.77"
    ticker-trend ticker-up|ticker-down|ticker-flat
    ticker-air ticker-aqi-<category>  a city's air quality, after its temperature (category: good, moderate, ...)
    ticker-aqi-index, ticker-aqi, ticker-aqi-category   "AQI", "152" and the category in words ("Unhealthy")
    ticker-attribution                the data credits, with links
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple

from providers.base import Condition, Trend
from ticker.models import AirItem, RateItem, WeatherItem
from ticker.render.textline import LABEL, amount, degrees, one_line


class Credit(NamedTuple):
    url: str
    text: dict[str, str]  # lang -> the credit's words; the link is the whole credit


# the terms: Open-Meteo and MET Norway are CC BY 4.0 (Open-Meteo suggests "Weather data by Open-Meteo.com" linking
# https://open-meteo.com/; MET asks for credit to "MET Norway"); the central banks are credited as the rates' source
CREDITS: dict[str, Credit] = {
    "open_meteo": Credit(
        "https://open-meteo.com/",
        {"en": "Weather data by Open-Meteo.com", "ru": "Погода: Open-Meteo.com", "kk": "Ауа райы: Open-Meteo.com"},
    ),
    "met_no": Credit(
        "https://api.met.no/",
        {"en": "Weather data by MET Norway", "ru": "Погода: MET Norway", "kk": "Ауа райы: MET Norway"},
    ),
    "open_meteo_air": Credit(
        "https://open-meteo.com/",
        {
            "en": "Air quality: CAMS via Open-Meteo",
            "ru": "Качество воздуха: CAMS через Open-Meteo",
            "kk": "Ауа сапасы: CAMS, Open-Meteo арқылы",
        },
    ),
    "nbk": Credit(
        "https://nationalbank.kz/",
        {
            "en": "Rates: National Bank of Kazakhstan",
            "ru": "Курсы: Национальный Банк Казахстана",
            "kk": "Бағамдар: Қазақстан Ұлттық Банкі",
        },
    ),
    "cbr": Credit(
        "https://www.cbr.ru/",
        {"en": "Rates: Bank of Russia", "ru": "Курсы: Банк России", "kk": "Бағамдар: Ресей Банкі"},
    ),
}

ICONS: dict[Condition, str] = {
    "clear": "\u2600",  # ☀
    "partly_cloudy": "\u26c5",  # ⛅
    "overcast": "\u2601",  # ☁
    "fog": "\U0001f32b",  # 🌫
    "drizzle": "\U0001f326",  # 🌦
    "rain": "\U0001f327",  # 🌧
    "snow": "\u2744",  # ❄
    "showers": "\u2614",  # ☔
    "thunderstorm": "\u26c8",  # ⛈
}
CONDITION_WORDS: dict[str, dict[Condition, str]] = {
    "en": {
        "clear": "Clear", "partly_cloudy": "Partly cloudy", "overcast": "Overcast", "fog": "Fog",
        "drizzle": "Drizzle", "rain": "Rain", "snow": "Snow", "showers": "Showers", "thunderstorm": "Thunderstorm",
    },
    "ru": {
        "clear": "Ясно", "partly_cloudy": "Переменная облачность", "overcast": "Пасмурно", "fog": "Туман",
        "drizzle": "Морось", "rain": "Дождь", "snow": "Снег", "showers": "Ливень", "thunderstorm": "Гроза",
    },
    "kk": {
        "clear": "Ашық", "partly_cloudy": "Ішінара бұлтты", "overcast": "Бұлыңғыр", "fog": "Тұман",
        "drizzle": "Сіркіреме", "rain": "Жаңбыр", "snow": "Қар", "showers": "Нөсер", "thunderstorm": "Найзағай",
    },
}  # fmt: skip
TRENDS: dict[Trend, str] = {"up": "\u25b2", "down": "\u25bc", "flat": "="}  # ▲ ▼ =
TREND_WORDS: dict[str, dict[Trend, str]] = {
    "en": {"up": "up", "down": "down", "flat": "unchanged"},
    "ru": {"up": "рост", "down": "снижение", "flat": "без изменений"},
    "kk": {"up": "өсті", "down": "төмендеді", "flat": "өзгеріссіз"},
}
STALE_WORDS = {"en": "not current", "ru": "устарело", "kk": "ескірген"}
LABELS = {"en": "Exchange rates and weather", "ru": "Курсы валют и погода", "kk": "Валюта бағамы және ауа райы"}


def _icon(kind: str, value: str, symbol: str, label: str) -> str:
    label = escape(label)
    return (
        f'<span class="ticker-{kind} ticker-{kind}-{escape(value)}" role="img" aria-label="{label}" '
        f'title="{label}">{symbol}</span>'
    )


def _item(extra: str, stale: bool, lang: str, parts: list[str]) -> str:
    classes = f"ticker-item {extra}" + (" ticker-stale" if stale else "")
    hint = f' title="{escape(STALE_WORDS[lang])}"' if stale else ""
    return f'<span class="{classes}"{hint}>{" ".join(parts)}</span>'


def _weather(item: WeatherItem, lang: str) -> str:
    parts = [f'<span class="ticker-city">{escape(one_line(item.name))}</span>']
    if item.condition is not None:
        parts.append(_icon("condition", item.condition, ICONS[item.condition], CONDITION_WORDS[lang][item.condition]))
    parts.append(f'<span class="ticker-temperature">{degrees(item.temperature)}\u00a0°C</span>')
    return _item("ticker-weather", item.stale, lang, parts)


def _air(item: AirItem, lang: str) -> str:
    """The index with its category in words, never colour alone: ``AQI 152 Unhealthy``."""
    parts = [
        f'<span class="ticker-aqi-index">{LABEL[item.index]}</span>',
        f'<span class="ticker-aqi">{degrees(item.aqi)}</span>',
    ]
    if item.label is not None:
        parts.append(f'<span class="ticker-aqi-category">{escape(item.label)}</span>')
    return _item(f"ticker-air ticker-aqi-{item.category or 'none'}", item.stale, lang, parts)


def _rate(item: RateItem, lang: str) -> str:
    parts = [
        f'<span class="ticker-currency">{escape(item.currency)}</span>',
        f'<span class="ticker-rate">{amount(item.rate)}</span>',
    ]
    if item.trend is not None:
        words = TREND_WORDS[lang][item.trend]
        parts.append(
            f'<span class="ticker-trend ticker-{item.trend}" role="img" aria-label="{escape(words)}" '
            f'title="{escape(words)}">{TRENDS[item.trend]}</span>'
        )
    return _item("ticker-fx", item.stale, lang, parts)


def _air_of(item: AirItem | None, lang: str) -> tuple[str, ...]:
    return () if item is None else (_air(item, lang),)


def _credits(sources: Sequence[str | None], lang: str) -> str:
    shown = [source for source in dict.fromkeys(sources) if source is not None]
    links = []
    for source in shown:
        credit = CREDITS.get(source)
        if credit is None:  # a source without terms on file: named, not linked
            links.append(escape(source))
        else:
            text = credit.text.get(lang, credit.text["en"])
            links.append(f'<a href="{escape(credit.url)}">{escape(text)}</a>')
    if not links:
        return ""
    return f'<small class="ticker-attribution">{" · ".join(links)}</small>'


def fragment(
    weather: Sequence[WeatherItem], rates: Sequence[RateItem], lang: str, air: Sequence[AirItem] | None = None
) -> str:
    """The root ``<div>``; ``lang`` is one of settings.LANGS. A city's air quality follows its temperature."""
    by_city = {item.city: item for item in air or ()}
    items = [html for item in weather for html in (_weather(item, lang), *_air_of(by_city.get(item.city), lang))] + [
        _rate(item, lang) for item in rates
    ]
    sources = [item.source for item in weather] + [item.source for item in air or ()] + [i.source for i in rates]
    credits = _credits(sources, lang)
    body = " ".join(items + ([credits] if credits else []))
    return (
        f'<div class="ticker-strip" lang="{escape(lang)}" role="group" aria-label="{escape(LABELS[lang])}">{body}</div>'
    )
