"""The strip as an HTML fragment for server-side includes (GET /v1/ticker.html).

One root element, no script, no style, no external resource: only text, inline characters as icons (each with
``role="img"`` and an ``aria-label`` in the asked language, words from words.json as the widget's) and the
attribution links the data's terms require, for the sources actually shown. A value that is not current, or
missing, says so in a word screen readers read as well as sighted readers see (``ticker-note``). Every text is
escaped here, so a site includes the bytes as they are. Class names (all prefixed ``ticker-``) are the styling
contract:

    ticker-strip                      the root
    ticker-item [ticker-stale]        one city or one currency; ticker-stale when its value is not current
    ticker-city, ticker-temperature   a city's name and its "−4 °C"
    ticker-condition ticker-condition-<value>   the sky icon (clear, partly_cloudy, ..., thunderstorm)
    ticker-currency, ticker-rate      "USD" and "478.77"
    ticker-trend ticker-up|ticker-down|ticker-flat
    ticker-air ticker-aqi-<category>  a city's air quality, after its temperature (category: good, moderate, ...)
    ticker-aqi-index, ticker-aqi, ticker-aqi-category   "AQI", "152" and the category in words ("Unhealthy")
    ticker-note                       "not current" or "no data", in words, inside a ticker-stale item
    ticker-attribution                the data credits, with links
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from providers.base import Condition, Trend
from ticker.models import AirItem, RateItem, WeatherItem
from ticker.render.textline import LABEL, MISSING, amount, degrees, one_line
from ticker.render.words import WORDS

CREDIT_URLS = {
    "open_meteo": "https://open-meteo.com/",
    "met_no": "https://api.met.no/",
    "open_meteo_air": "https://open-meteo.com/",
    "nbk": "https://nationalbank.kz/",
    "cbr": "https://www.cbr.ru/",
}


def credit_text(source: str, lang: str) -> str:
    """The terms: Open-Meteo and MET Norway are CC BY 4.0 (Open-Meteo suggests "Weather data by Open-Meteo.com"
    linking https://open-meteo.com/; MET asks for credit to "MET Norway"); the central banks as the rates' source."""
    words = WORDS[lang]
    return f"{words['rates']} {words[source + '_name']}" if source in ("nbk", "cbr") else words[source]


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
TRENDS: dict[Trend, str] = {"up": "\u25b2", "down": "\u25bc", "flat": "="}  # ▲ ▼ =


def _icon(classes: str, symbol: str, label: str) -> str:
    """One name per icon: its aria-label (a title as well would be read a second time)."""
    return f'<span class="{classes}" role="img" aria-label="{escape(label)}">{symbol}</span>'


def _value(cls: str, text: str) -> str:
    """A missing value's dash is hidden from screen readers: the item's note says "no data" in words."""
    hidden = ' aria-hidden="true"' if text.startswith(MISSING) else ""
    return f'<span class="{cls}"{hidden}>{text}</span>'


def _item(extra: str, stale: bool, missing: bool, lang: str, parts: list[str]) -> str:
    classes = f"ticker-item {extra}" + (" ticker-stale" if stale or missing else "")
    if stale or missing:  # said in words, seen and read: not by colour or a title alone
        parts.append(f'<span class="ticker-note">{escape(WORDS[lang]["none" if missing else "stale"])}</span>')
    return f'<span class="{classes}">{" ".join(parts)}</span>'


def _weather(item: WeatherItem, lang: str) -> str:
    parts = [f'<span class="ticker-city">{escape(one_line(item.name))}</span>']
    if item.condition is not None:
        parts.append(
            _icon(
                f"ticker-condition ticker-condition-{item.condition}",
                ICONS[item.condition],
                WORDS[lang].sky[item.condition],
            )
        )
    parts.append(_value("ticker-temperature", f"{degrees(item.temperature)}\u00a0°C"))
    missing = item.temperature is None or not math.isfinite(item.temperature)
    return _item("ticker-weather", item.stale, missing, lang, parts)


def _air(item: AirItem, lang: str) -> str:
    """The index with its category in words, never colour alone: ``AQI 152 Unhealthy``."""
    parts = [
        f'<span class="ticker-aqi-index">{LABEL[item.index]}</span>',
        _value("ticker-aqi", degrees(item.aqi)),
    ]
    if item.label is not None:
        parts.append(f'<span class="ticker-aqi-category">{escape(item.label)}</span>')
    missing = item.aqi is None
    return _item(f"ticker-air ticker-aqi-{item.category or 'none'}", item.stale, missing, lang, parts)


def _rate(item: RateItem, lang: str) -> str:
    parts = [f'<span class="ticker-currency">{escape(item.currency)}</span>', _value("ticker-rate", amount(item.rate))]
    if item.trend is not None:
        parts.append(_icon(f"ticker-trend ticker-{item.trend}", TRENDS[item.trend], WORDS[lang][item.trend]))
    missing = item.rate is None or not math.isfinite(item.rate)
    return _item("ticker-fx", item.stale, missing, lang, parts)


def _air_of(item: AirItem | None, lang: str) -> tuple[str, ...]:
    return () if item is None else (_air(item, lang),)


def _credits(sources: Sequence[str | None], lang: str) -> str:
    shown = [source for source in dict.fromkeys(sources) if source is not None]
    links = []
    for source in shown:
        url = CREDIT_URLS.get(source)
        if url is None:  # a source without terms on file: named, not linked
            links.append(escape(source))
        else:
            links.append(f'<a href="{escape(url)}">{escape(credit_text(source, lang))}</a>')
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
    label = escape(WORDS[lang]["region"])
    return f'<div class="ticker-strip" lang="{escape(lang)}" role="group" aria-label="{label}">{body}</div>'
