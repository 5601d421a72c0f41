"""The sky, normalised: Open-Meteo's WMO ``weather_code`` and MET Norway's ``symbol_code`` onto one vocabulary.

``Condition`` (providers/base.py) is WMO-shaped: clear, partly_cloudy, overcast, fog, drizzle, rain, snow, showers
(rain showers), thunderstorm. Anything not listed here is None ("unknown"), never an error: a temperature is
kept whatever the sky field holds.

Choices, so both sources agree on the same sky:

* WMO 1 "mainly clear" is ``clear``, like MET's ``fair`` (a few clouds, the step below partly cloudy): both
  are mostly sun, and an icon of a cloud would overstate them. 2 and ``partlycloudy`` are ``partly_cloudy``;
  3 "overcast" and MET ``cloudy`` are ``overcast``.
* Precipitation type before its form: WMO 85/86 "snow showers" are ``snow`` (what falls matters more to a
  reader than how it falls; ``showers`` means rain showers, WMO 80-82), and so are MET's ``*snowshowers``.
* Freezing drizzle (56/57) stays ``drizzle`` and freezing rain (66/67) ``rain``, as WMO groups them.
* MET's sleet (rain and snow mixed) is ``rain`` and sleet showers are ``showers``: WMO 4677 puts "rain and
  snow mixed" (ww 68/69) in the rain group and its showers (ww 83/84) in the showers group.
* Every MET ``*andthunder`` symbol, and WMO 95/96/99, is ``thunderstorm``.
* Only the codes Open-Meteo documents are mapped (0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67,
  71, 73, 75, 77, 80, 81, 82, 85, 86, 95, 96, 99); any other number is None.
"""

from __future__ import annotations

from typing import Final

from providers.base import Condition

WMO: Final[dict[int, Condition]] = {
    0: "clear",
    1: "clear",
    2: "partly_cloudy",
    3: "overcast",
    45: "fog",
    48: "fog",
    **dict.fromkeys((51, 53, 55, 56, 57), "drizzle"),
    **dict.fromkeys((61, 63, 65, 66, 67), "rain"),
    **dict.fromkeys((71, 73, 75, 77), "snow"),
    **dict.fromkeys((80, 81, 82), "showers"),
    **dict.fromkeys((85, 86), "snow"),
    **dict.fromkeys((95, 96, 99), "thunderstorm"),
}

_SKY: Final[dict[str, Condition]] = {
    "clearsky": "clear",
    "fair": "clear",
    "partlycloudy": "partly_cloudy",
    "cloudy": "overcast",
    "fog": "fog",
}
_FALLS: Final[dict[str, tuple[Condition, Condition]]] = {  # kind -> (steady, showers)
    "rain": ("rain", "showers"),
    "sleet": ("rain", "showers"),
    "snow": ("snow", "snow"),
}


def _met_bases() -> dict[str, Condition]:
    """MET's 41 symbol bases (weathericon 2.0 legend), including its own spellings ``lightssleetshowersandthunder``
    and ``lightssnowshowersandthunder``; the single-s forms are accepted too, in case MET corrects them."""
    bases = dict(_SKY)
    for kind, (steady, showers) in _FALLS.items():
        for strength in ("light", "", "heavy"):
            bases[f"{strength}{kind}"] = steady
            bases[f"{strength}{kind}showers"] = showers
            bases[f"{strength}{kind}andthunder"] = "thunderstorm"
            bases[f"{strength}{kind}showersandthunder"] = "thunderstorm"
    bases["lightssleetshowersandthunder"] = bases["lightssnowshowersandthunder"] = "thunderstorm"
    return bases


MET: Final[dict[str, Condition]] = _met_bases()
_SUFFIXES: Final = ("_day", "_night", "_polartwilight")


def from_wmo(code: object) -> Condition | None:
    """A WMO weather code as Open-Meteo writes it (an integer); anything else is None."""
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    return WMO.get(code)


def from_met(symbol: object) -> Condition | None:
    """A MET Norway ``symbol_code`` such as ``lightrainshowers_day``; anything unknown is None."""
    if not isinstance(symbol, str):
        return None
    base = symbol.strip().lower()
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            base = base.removesuffix(suffix)
            break
    return MET.get(base)
